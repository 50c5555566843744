// The pack over the real program's graph (the harness runs index.ts under mocks), for each stack file,
// and over tampered copies that each break one checklist item. A rule is asserted as soon as the
// components it judges are in the graph; until then its test skips and says which are missing.
import { strict as assert } from "assert";
import { COMPONENT, LABEL, RESOURCE } from "../../contract/resources";
import { plaintextSecrets } from "../../tools/harness/secret-inputs";
import { Judged, copyProject, judgeProgram, needComponents, tamper } from "./support/program";

const WEDNESDAY_11 = new Date("2026-11-25T11:00:00Z");

/** What each rule judges: its test needs these components in the graph. */
const RULE_COMPONENTS: [policy: string, components: string[]][] = [
  ["deployment-window", [COMPONENT.releaseRecord]],
  ["backup-before-migrate", [COMPONENT.databaseBackup, COMPONENT.migration]],
  ["health-gate-before-switch", [COMPONENT.healthGate, COMPONENT.trafficSwitch]],
  ["immutable-images", [COMPONENT.colorSlot]],
  ["backup-bucket-hardened", [COMPONENT.backupBucket]],
  ["protect-stateful", [COMPONENT.backupBucket, COMPONENT.databaseRoles]],
  ["container-limits", [COMPONENT.colorSlot]],
  ["secrets-are-secret", [COMPONENT.releaseRecord, COMPONENT.colorSlot]],
  ["no-canary-of-breaking-schema", [COMPONENT.releaseRecord, COMPONENT.trafficSwitch]],
];

const mandatory = (judged: Judged, policy: string) =>
  judged.verdicts.filter((verdict) => verdict.policy === policy && verdict.level === "mandatory");

/** Deep copy of a value with every Output detached from the resources it came from. */
const DETACH_ALL = `
  const detachAll = (value: unknown): unknown =>
    pulumi.Output.isInstance(value)
      ? helpers.detach(value)
      : Array.isArray(value)
        ? value.map(detachAll)
        : value && typeof value === "object"
          ? Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, detachAll(inner)]))
          : value;
`;

/** The step a tampering transformation marked a resource with (a plain environment entry of its command). */
function tamperedAs(resource: { inputs: Record<string, unknown> }): unknown {
  return (resource.inputs.environment as Record<string, unknown> | undefined)?.GREENLIGHT_TAMPERED;
}

/** A transformation body that cuts a step (and its component) loose from everything it waited for. */
function cutLoose(component: string, step: string): string {
  return `${DETACH_ALL}
  if (args.type === "${component}") return { props: args.props, opts: { ...args.opts, dependsOn: [] } };
  if (helpers.stepOf(args.props) === "${step}") {
    const props = detachAll(args.props) as Record<string, unknown>;
    const environment = { ...(props.environment as Record<string, unknown>), GREENLIGHT_TAMPERED: "${step}" };
    return { props: { ...props, environment }, opts: { ...args.opts, dependsOn: [] } };
  }
  return undefined;`;
}

describe("the pack on the real program's graph", function () {
  this.timeout(300_000);

  for (const stack of ["local", "staging", "production"]) {
    describe(`Pulumi.${stack}.yaml, as an update on Wednesday 11:00 UTC`, () => {
      let judged: Judged;
      before(async () => {
        judged = await judgeProgram(stack, { at: WEDNESDAY_11 });
      });

      for (const [policy, components] of RULE_COMPONENTS) {
        it(`${policy} holds`, function () {
          needComponents(this, judged.resources, components);
          assert.deepEqual(mandatory(judged, policy), []);
        });
      }
    });
  }

  describe("tampered copies of the program (production)", () => {
    let real: Judged;
    before(async () => {
      real = await judgeProgram("production", { at: WEDNESDAY_11 });
    });

    async function judgeTampered(body: string): Promise<Judged> {
      const copy = copyProject();
      try {
        tamper(copy, body);
        return await judgeProgram("production", { at: WEDNESDAY_11, projectDir: copy.dir });
      } finally {
        copy.cleanup();
      }
    }

    it("the migration's dependency on the backup removed: backup-before-migrate fails on the migration", async function () {
      needComponents(this, real.resources, [COMPONENT.databaseBackup, COMPONENT.migration]);
      const judged = await judgeTampered(cutLoose(COMPONENT.migration, "migrate"));
      const tampered = judged.resources.filter((resource) => tamperedAs(resource) === "migrate");
      assert.ok(
        tampered.length > 0,
        "the migration command was found by its GREENLIGHT_STEP (plain environment map)",
      );
      const violations = mandatory(judged, "backup-before-migrate");
      assert.deepEqual(
        violations.map((violation) => violation.urn).sort(),
        tampered.map((resource) => resource.urn).sort(),
      );
      assert.match(violations[0].message, /does not depend on a verified backup/);
    });

    it("the switch's dependency on the gate removed: health-gate-before-switch fails on the switch", async function () {
      needComponents(this, real.resources, [COMPONENT.healthGate, COMPONENT.trafficSwitch]);
      const judged = await judgeTampered(cutLoose(COMPONENT.trafficSwitch, "switch"));
      const tampered = judged.resources.filter((resource) => tamperedAs(resource) === "switch");
      assert.ok(
        tampered.length > 0,
        "the switch command was found by its GREENLIGHT_STEP (plain environment map)",
      );
      const violations = mandatory(judged, "health-gate-before-switch");
      assert.deepEqual(
        violations.map((violation) => violation.urn).sort(),
        tampered.map((resource) => resource.urn).sort(),
      );
      assert.match(violations[0].message, /does not depend on a readiness-checking health gate/);
    });

    it("a tag instead of a digest: immutable-images fails on every app container", async function () {
      needComponents(this, real.resources, [COMPONENT.colorSlot]);
      const judged = await judgeTampered(`
  if (args.type !== "${RESOURCE.container}") return undefined;
  return { props: { ...args.props, image: "registry.example.com/shop:2026.11.20-2" }, opts: args.opts };`);
      const containers = judged.resources.filter((resource) => resource.type === RESOURCE.container);
      assert.ok(containers.length > 0);
      const violations = mandatory(judged, "immutable-images");
      assert.deepEqual(
        [...new Set(violations.map((violation) => violation.urn))].sort(),
        containers.map((resource) => resource.urn).sort(),
      );
      assert.match(
        violations[0].message,
        /runs image "registry\.example\.com\/shop:2026\.11\.20-2", which is not pinned by digest/,
      );
    });

    it("the ops image's base by a tag: immutable-images fails on the ops image built for the hosts", async function () {
      needComponents(this, real.resources, [COMPONENT.dockerHost]);
      const judged = await judgeTampered(`
  if (args.type !== "${RESOURCE.image}") return undefined;
  const build = args.props.build as Record<string, unknown>;
  return { props: { ...args.props, build: { ...build, args: { BASE: "node:22-bookworm-slim" } } }, opts: args.opts };`);
      const images = judged.resources.filter((resource) => resource.type === RESOURCE.image);
      assert.equal(images.length, 1, "built once where Pulumi runs, for the three hosts' one platform");
      const violations = mandatory(judged, "immutable-images");
      assert.deepEqual(
        [...new Set(violations.map((violation) => violation.urn))].sort(),
        images.map((resource) => resource.urn).sort(),
      );
      assert.match(
        violations[0].message,
        /is built on base "node:22-bookworm-slim", which is not pinned by digest/,
      );
    });

    it("a plaintext password in a step's environment: invisible to the pack (as under the CLI), caught on the graph", async function () {
      needComponents(this, real.resources, [COMPONENT.releaseRecord]);
      const judged = await judgeTampered(`
  const step = helpers.stepOf(args.props);
  if (step === undefined) return undefined;
  const environment = args.props.environment as Record<string, unknown>;
  return { props: { ...args.props, environment: { ...environment, DB_PASSWORD: "hunter2", GREENLIGHT_TAMPERED: String(step) } }, opts: args.opts };`);
      const tampered = judged.resources.filter((resource) => tamperedAs(resource) !== undefined);
      assert.ok(
        tampered.length > 0,
        "step commands were found by their GREENLIGHT_STEP (plain environment map)",
      );
      // The engine unwraps secrets before a policy sees them: a policy cannot tell this from a secret.
      assert.deepEqual(mandatory(judged, "secrets-are-secret"), []);
      const flagged = plaintextSecrets(judged.resources).filter(
        (found) => found.where === "environment.DB_PASSWORD",
      );
      assert.deepEqual(
        flagged.map((found) => found.urn).sort(),
        tampered.map((resource) => resource.urn).sort(),
      );
    });

    it("app containers carry the label the limits rule selects them by", function () {
      needComponents(this, real.resources, [COMPONENT.colorSlot]);
      // The app's replicas (a color's containers); a host's traffic proxy is not an app container.
      const containers = real.resources.filter(
        (resource) => resource.type === RESOURCE.container && !resource.name.endsWith("-proxy"),
      );
      assert.equal(containers.length, 6, "three replicas of each color");
      for (const container of containers) {
        const labels = container.inputs.labels as { label: string }[] | undefined;
        assert.ok(
          labels?.some((entry) => entry.label === LABEL.app),
          `${container.name} has ${LABEL.app}`,
        );
      }
    });
  });
});
