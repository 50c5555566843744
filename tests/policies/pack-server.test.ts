// The pack as the Pulumi CLI runs it: @pulumi/pulumi's run-policy-pack serves policies/ (its compiled
// main) over the analyzer gRPC API, and tools/policy-runner/engine.ts plays the engine (GetAnalyzerInfo,
// ConfigureAnalyzer, Analyze, AnalyzeStack), with PULUMI_NODEJS_DRY_RUN set as the CLI sets it for a
// preview or an update, and the pack's process clock at Friday 15:00 UTC.
import { strict as assert } from "assert";
import { policies } from "../../policies/all";
import { RESOURCE, STEP, STEP_ENV } from "../../contract/resources";
import type { RecordedResource } from "../../tools/harness/types";
import { stackUrn } from "../../tools/policy-runner";
import { loadPolicyConfig } from "../../tools/policy-runner/config";
import { PackServer, Verdict } from "../../tools/policy-runner/engine";
import { byName, releaseGraph, secretInput, stepEnvironment } from "./support/release-graph";

const FRIDAY_15 = new Date("2026-11-27T15:00:00Z");

async function startPack(preview: boolean): Promise<PackServer> {
  const pack = await PackServer.start({ preview, stack: "production", at: FRIDAY_15 });
  await pack.configure(loadPolicyConfig("production"));
  return pack;
}

const analyze = (pack: PackServer, resource: RecordedResource): Promise<Verdict[]> =>
  pack.analyze(resource, new Map([[resource.urn, resource]]));
const analyzeStack = (pack: PackServer, resources: RecordedResource[]): Promise<Verdict[]> =>
  pack.analyzeStack(resources, stackUrn("production"));

const record = () => byName(releaseGraph(), "release-record");

describe("policies/index.ts served as the Pulumi CLI runs a pack", function () {
  this.timeout(180_000);

  describe("an update (PULUMI_NODEJS_DRY_RUN=false)", () => {
    let pack: PackServer;
    before(async () => (pack = await startPack(false)));
    after(() => pack?.close());

    it("describes every policy with its enforcement level and config schema", async () => {
      const described = await pack.policies();
      assert.deepEqual(
        described.map((policy) => policy.name),
        policies.map((policy) => policy.name),
      );
      const window = described.find((policy) => policy.name === "deployment-window");
      assert.equal(window?.enforcementLevel, "mandatory");
      // No clock in the schema: an instant reaches the pack only as its process clock.
      assert.deepEqual(Object.keys(window?.configSchema?.properties ?? {}).sort(), [
        "freezes",
        "horizonDays",
        "maxOverrideHours",
        "windows",
      ]);
      assert.equal(
        described.find((policy) => policy.name === "deployment-window-advisory")?.enforcementLevel,
        "advisory",
      );
    });

    it("blocks the release record on Friday 15:00: mandatory, with the next opening", async () => {
      const found = await analyze(pack, record());
      assert.equal(found.length, 1, JSON.stringify(found));
      assert.equal(found[0].policy, "deployment-window");
      assert.equal(found[0].level, "mandatory");
      assert.match(
        found[0].message,
        /^release 2026\.11\.20-2 is not in an open deployment window at Fri 2026-11-27 15:00 UTC; next window opens Tue 2026-12-01 10:00 UTC/,
      );
    });

    it("lets a valid override through, reporting its use as advisory", async () => {
      const withOverride = record();
      Object.assign(stepEnvironment(withOverride), {
        [STEP_ENV.overrideReason]: "hotfix for checkout 500s",
        [STEP_ENV.overrideApprover]: "oncall.alice",
        [STEP_ENV.overrideTicket]: "INC-4711",
        [STEP_ENV.overrideExpiresAt]: "2026-11-27T18:00:00Z",
      });
      const found = await analyze(pack, withOverride);
      assert.deepEqual(
        found.map(({ policy, level }) => [policy, level]),
        [["deployment-window-advisory", "advisory"]],
      );
      assert.match(found[0].message, /^override used: release 2026\.11\.20-2/);
    });

    it("sees credentials in command lines; environment secretness is not visible on this path", async () => {
      const withUrl = {
        ...record(),
        name: "backup-run",
        inputs: {
          create: "pg_dump postgres://admin:hunter2@db/shop",
          environment: { [STEP_ENV.step]: STEP.backup },
        },
      };
      const url = await analyze(pack, withUrl);
      assert.deepEqual(
        url.map(({ policy }) => policy),
        ["secrets-are-secret"],
      );
      assert.match(url[0].message, /contains a URL with a password/);
      const secretEnv = {
        ...withUrl,
        inputs: { create: "true", environment: { PGPASSWORD: secretInput() } },
      };
      const plainEnv = { ...withUrl, inputs: { create: "true", environment: { PGPASSWORD: "hunter2" } } };
      assert.deepEqual(await analyze(pack, secretEnv), []);
      assert.deepEqual(
        await analyze(pack, plainEnv),
        [],
        "the engine unwraps secrets before validations; npm run plan catches this",
      );
    });

    it("judges the whole graph: a complete release passes, a migration without its backup fails", async () => {
      assert.deepEqual(await analyzeStack(pack, releaseGraph()), []);
      const graph = releaseGraph();
      byName(graph, "migration-run").dependencies = [];
      byName(graph, "migration").dependencies = [];
      const found = await analyzeStack(pack, graph);
      assert.deepEqual(
        found.map(({ policy, level, urn }) => [policy, level, urn]),
        [
          ["deployment-window", "mandatory", byName(graph, "migration-run").urn],
          ["backup-before-migrate", "mandatory", byName(graph, "migration-run").urn],
        ],
        "cut loose, it waits neither for its backup nor for the release record",
      );
    });

    it("judges buckets through propertyDependencies", async () => {
      const graph = releaseGraph().filter((resource) => resource.type !== RESOURCE.bucketPublicAccessBlock);
      const found = await analyzeStack(pack, graph);
      assert.deepEqual(
        found.map(({ policy }) => policy),
        ["backup-bucket-hardened"],
      );
      assert.match(found[0].message, /no public access block/);
    });
  });

  describe("a preview (PULUMI_NODEJS_DRY_RUN=true)", () => {
    let pack: PackServer;
    before(async () => (pack = await startPack(true)));
    after(() => pack?.close());

    it("only warns on Friday 15:00: would be blocked, and when the next window opens", async () => {
      const found = await analyze(pack, record());
      assert.deepEqual(
        found.map(({ policy, level }) => [policy, level]),
        [["deployment-window-advisory", "advisory"]],
      );
      assert.match(
        found[0].message,
        /^release 2026\.11\.20-2 is not in an open deployment window at Fri 2026-11-27 15:00 UTC: the update would be blocked; next window opens Tue 2026-12-01 10:00 UTC/,
      );
    });
  });
});
