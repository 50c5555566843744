import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { recordWithSchema, rehearsalSummary, rehearseFlags } from "../../../components/data/Rehearsal";
import { opsCommand } from "../../../components/step-command";
import { COMPONENT, KEEP_REPORT_COMMAND, RESOURCE, STEP, STEP_ENV } from "../../../contract/resources";
import { childrenIndex, dependencyClosure, GraphNode } from "../../../policies/lib/graph";
import { RecordedResource } from "../../../tools/harness/run";
import {
  dependencyNames,
  environmentOf,
  fixture,
  isSecretMarker,
  named,
  plainEntries,
  program,
} from "./support";

/** The recorded graph as the policy pack's graph helpers read it. */
function graphOf(resources: RecordedResource[]): Map<string, GraphNode> {
  const nodes = new Map<string, GraphNode>(
    resources.map((resource) => [
      resource.urn,
      {
        type: resource.type,
        urn: resource.urn,
        name: resource.name,
        props: resource.inputs,
        dependencies: [],
      },
    ]),
  );
  for (const resource of resources) {
    const node = nodes.get(resource.urn) as GraphNode;
    node.parent = resource.parent ? nodes.get(resource.parent) : undefined;
    node.dependencies = resource.dependencies.flatMap((urn) => nodes.get(urn) ?? []);
  }
  return nodes;
}

const REPORT = {
  release: "v7",
  classification: "breaking",
  declared: "breaking",
  verdict: "passed",
  durationMs: 1830,
  migration: { outcome: "succeeded", error: null },
  changes: [
    { object: "column", name: "public.orders.status", change: "dropped", effect: "breaking", detail: "…" },
    { object: "table", name: "public.coupons", change: "added", effect: "additive", detail: "new table" },
  ],
  locks: [{ table: "public.orders", mode: "AccessExclusiveLock", bytes: 2_400_000_000, heldMs: 3400 }],
  warnings: ["ACCESS EXCLUSIVE lock on public.orders (2.4 GB) for about 3.4 s: …"],
};

describe("Rehearsal: pure parts", () => {
  it("passes checked flags, the copy and the drill's dump key; refuses a copy or key the shell could misread", () => {
    const line = {
      ...{
        bucket: "b-1",
        prefix: "db",
        stack: "s",
        release: "v7",
        image: "shop:v7",
        command: ["node", "/app/migrate.js"],
      },
      ...{ network: "host", timeoutSeconds: 900, declared: "additive" as const, maxMigrationSeconds: 120 },
      ...{ maintenanceMode: "read-only" as const, largeTableMb: 100, minFreeDiskPercent: 15 },
    };
    assert.equal(
      opsCommand(
        "rehearse",
        rehearseFlags({
          ...line,
          copy: "shop_rehearse_20261207t101500z",
          key: "db/s/v7/20261207T101500Z.dump",
        }),
      ),
      `node bin/greenlight-ops.js rehearse --bucket b-1 --prefix db --stack s --release v7 --image shop:v7 --command-json '["node","/app/migrate.js"]' --network host --timeout-seconds 900 --copy shop_rehearse_20261207t101500z --key db/s/v7/20261207T101500Z.dump --declared additive --max-migration-seconds 120 --maintenance read-only --large-table-mb 100 --min-free-disk-percent 15`,
    );
    assert.throws(() => rehearseFlags({ ...line, copy: "x; drop database shop" }), /is not a database name/);
    assert.throws(() => rehearseFlags({ ...line, key: "$(rm -rf /)" }), /is not a dump key/);
  });

  it("reads the report into the stack output: classification, breaking changes by name, duration, lock warnings", () => {
    assert.deepEqual(rehearsalSummary(`${JSON.stringify(REPORT)}\n`), {
      release: "v7",
      classification: "breaking",
      declared: "breaking",
      verdict: "passed",
      breakingChanges: ["dropped column public.orders.status"],
      changes: 2,
      durationMs: 1830,
      migration: "succeeded",
      warnings: REPORT.warnings,
      locks: REPORT.locks,
    });
    assert.equal(rehearsalSummary(""), undefined);
  });

  it("puts the classification into the release record", async () => {
    const record = pulumi.output({ release: "v7", color: "green" } as Record<string, unknown> | undefined);
    const merged = await new Promise((resolve) =>
      recordWithSchema(record, pulumi.output(rehearsalSummary(JSON.stringify(REPORT)))).apply(resolve),
    );
    assert.deepEqual(merged, {
      release: "v7",
      color: "green",
      schemaCompatibility: { release: "v7", classification: "breaking", declared: "breaking" },
    });
  });
});

describe("Rehearsal in the real program (mocks)", function () {
  this.timeout(120_000);

  it("runs `greenlight-ops rehearse` after the backup and its drill, before the migration", async () => {
    const { resources } = await program("production");
    const component = named(resources, "rehearsal");
    assert.equal(component.type, COMPONENT.rehearsal);
    const run = named(resources, "rehearsal-run");
    assert.equal(run.parent, component.urn);
    assert.equal(run.type, RESOURCE.remoteCommand, "on the data host, where the drill ran");
    const direct = dependencyNames(resources, run);
    for (const name of ["backup-run", "backup-restore-drill"])
      assert.ok(direct.includes(name), `waits for ${name}`);
    const nodes = graphOf(resources);
    const migration = nodes.get(named(resources, "migration-run").urn) as GraphNode;
    const closure = [...dependencyClosure(migration, childrenIndex([...nodes.values()]))].map(
      (node) => node.name,
    );
    assert.ok(closure.includes("rehearsal-run"), "the migration waits for the rehearsal");
    const rehearsalClosure = [
      ...dependencyClosure(nodes.get(run.urn) as GraphNode, childrenIndex([...nodes.values()])),
    ];
    assert.ok(
      !rehearsalClosure.some((node) => node.name === "migration-run"),
      "and the rehearsal does not wait for the migration",
    );
  });

  it("rehearses the release's image and command as the migrator, marked as a rehearsal of that release; credentials are secrets", async () => {
    const { resources } = await program("local");
    const run = named(resources, "rehearsal-run");
    assert.equal(
      run.inputs.create,
      `node bin/greenlight-ops.js rehearse --bucket shop-backups-local --prefix greenlight --stack local --release v1 --image greenlight-sample:v1 --command-json '["node","/app/migrate.js"]' --network host --timeout-seconds 900 --declared additive --max-migration-seconds 120 --maintenance off --large-table-mb 100 --min-free-disk-percent 15`,
    );
    const environment = environmentOf(run);
    assert.equal(plainEntries(environment)[STEP_ENV.step], STEP.rehearse);
    assert.equal(plainEntries(environment)[STEP_ENV.release], "v1");
    assert.equal(plainEntries(environment).GREENLIGHT_IMAGE, "greenlight-sample:v1");
    assert.ok(isSecretMarker(environment.DATABASE_URL), "the migrator's connection string is a secret");
    const production = environmentOf(named((await program("production")).resources, "rehearsal-run"));
    for (const name of ["DATABASE_URL", "PGPASSWORD", "GREENLIGHT_WEBHOOK_URL"])
      assert.ok(isSecretMarker(production[name]), `${name} is a secret`);
    assert.deepEqual((run.inputs.triggers as unknown[]).slice(0, 2), ["v1", "greenlight-sample:v1"]);
  });

  it("on the data host: the release image that host pulled, secrets on stdin, the host's Docker; once per release", async () => {
    const { resources } = await program("production");
    const run = named(resources, "rehearsal-run");
    const pulls = dependencyNames(resources, run).filter((name) => /^host-.+-pull-(blue|green)$/.test(name));
    assert.equal(pulls.length, 1, `one host's pull of the release image: ${pulls.join(", ")}`);
    assert.equal(
      named(resources, pulls[0]).inputs.name,
      plainEntries(environmentOf(run)).GREENLIGHT_IMAGE,
      "the image the rehearsal runs, pulled on its host before it runs there",
    );
    const line = String(run.inputs.create);
    assert.match(
      line,
      /^printf '%s\\0' "PGPASSWORD=\$PGPASSWORD" "DATABASE_URL=\$DATABASE_URL" "GREENLIGHT_WEBHOOK_URL=\$GREENLIGHT_WEBHOOK_URL" \| docker run -i /,
    );
    for (const secret of ["DATABASE_URL", "PGPASSWORD", "GREENLIGHT_WEBHOOK_URL"])
      assert.ok(!line.includes(`-e ${secret}`), line);
    assert.match(line, / -v \/var\/run\/docker\.sock:\/var\/run\/docker\.sock /);
    assert.match(line, / --env-stdin rehearse /);
    // A rotated password or SSH key reprints the last report: the rehearsal runs once per release, as the migration.
    assert.equal(run.inputs.update, KEEP_REPORT_COMMAND);
    assert.equal(run.inputs.addPreviousOutputInEnv, true);
    assert.equal(run.inputs.update, named(resources, "migration-run").inputs.update);
  });

  it("takes the declaration, the time limit, the maintenance mode and the lock threshold from the stack config", async () => {
    const { resources } = await program("local", {
      "greenlight:schemaBreaking": true,
      "greenlight:maxMigrationSeconds": 600,
      "greenlight:maintenanceMode": "read-only",
      "greenlight:migrationLargeTableMb": 5,
    });
    assert.match(
      String(named(resources, "rehearsal-run").inputs.create),
      /--declared breaking --max-migration-seconds 600 --maintenance read-only --large-table-mb 5 /,
    );
  });

  it("every stack with a drill rehearses; without a drill there is nothing to rehearse on", async () => {
    const off = await program("local", { "greenlight:restoreDrill": false });
    assert.equal(off.resources.filter((resource) => resource.name.startsWith("rehearsal")).length, 0);
    assert.equal(off.outputs.schemaCompatibility, undefined);
    const { outputs } = await program("local");
    assert.equal(
      outputs.schemaCompatibility,
      undefined,
      "no rehearsal ran under mocks: no report, and no crash",
    );
  });

  for (const [testCase, message] of [
    [
      "rehearsal-no-drill",
      /Rehearsal rehearsal: args\.backup "r2" is invalid: expected the backup of release r2 with its restore drill on/,
    ],
    [
      "rehearsal-declared",
      /Rehearsal rehearsal: args\.declared "maybe" is invalid: expected additive or breaking/,
    ],
  ] as const) {
    it(`refuses ${testCase} before registering its command`, async () => {
      const run = await fixture(testCase);
      assert.equal(run.ok, false);
      assert.match(run.ok ? "" : run.message, message);
      assert.equal(run.resources.filter((resource) => resource.name === "rehearsal-run").length, 0);
    });
  }
});
