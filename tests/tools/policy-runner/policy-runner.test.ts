import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { policies } from "../../../policies/all";
import { STEP_ENV } from "../../../contract/resources";
import { evaluatePolicies, stackUrn } from "../../../tools/policy-runner";
import {
  PolicyConfigError,
  loadPolicyConfig,
  reconcilePolicyConfig,
} from "../../../tools/policy-runner/config";
import { byName, releaseGraph, stepEnvironment, syntheticGraph } from "../../policies/support/release-graph";

const WEDNESDAY_11 = new Date("2026-11-25T11:00:00Z");
const FRIDAY_15 = new Date("2026-11-27T15:00:00Z");

describe("tools/policy-runner", () => {
  describe("reconcilePolicyConfig (the engine's ReconcilePolicyPackConfig)", () => {
    it("starts from each policy's level and schema defaults", () => {
      const resolved = reconcilePolicyConfig(policies, {});
      assert.deepEqual(resolved.get("deployment-window"), {
        enforcementLevel: "mandatory",
        properties: {
          windows: [{ days: ["tue", "wed", "thu"], start: "10:00", end: "14:00", zone: "UTC" }],
          freezes: [],
          maxOverrideHours: 24,
          horizonDays: 366,
        },
      });
      assert.equal(resolved.get("deployment-window-advisory")?.enforcementLevel, "advisory");
    });

    it("applies all, then each policy's level or object", () => {
      const resolved = reconcilePolicyConfig(policies, {
        all: "advisory",
        "container-limits": "disabled",
        "immutable-images": { enforcementLevel: "mandatory", requireDigest: false },
      });
      assert.equal(resolved.get("backup-before-migrate")?.enforcementLevel, "advisory");
      assert.equal(resolved.get("container-limits")?.enforcementLevel, "disabled");
      assert.deepEqual(resolved.get("immutable-images"), {
        enforcementLevel: "mandatory",
        properties: { requireDigest: false, forbidLatest: true },
      });
    });

    it("refuses unknown policies, bad levels and values outside the schema, listing each", () => {
      assert.throws(
        () =>
          reconcilePolicyConfig(policies, {
            "deployment-windows": "mandatory",
            "container-limits": "blocking",
            "deployment-window": { windows: [{ days: ["tue"], start: "9:00", end: "14:00", zone: "UTC" }] },
            "immutable-images": { requireDigest: "yes" },
            "backup-bucket-hardened": { sseAlgorithms: ["none"] },
          }),
        (error: unknown) => {
          assert.ok(error instanceof PolicyConfigError);
          assert.match(
            error.message,
            /deployment-windows: no such policy in the pack \(known: deployment-window, /,
          );
          assert.match(
            error.message,
            /container-limits: enforcementLevel "blocking" is not one of advisory, mandatory, remediate, disabled/,
          );
          assert.match(error.message, /deployment-window: windows\[0\]\.start: "9:00" does not match/);
          assert.match(error.message, /immutable-images: requireDigest: expected boolean, got "yes"/);
          assert.match(error.message, /backup-bucket-hardened: sseAlgorithms\[0\]: "none" is not one of/);
          return true;
        },
      );
    });

    it("refuses a window with an unknown key or a missing zone", () => {
      assert.throws(
        () =>
          reconcilePolicyConfig(policies, {
            "deployment-window": { windows: [{ days: ["tue"], start: "10:00", end: "14:00", tz: "UTC" }] },
          }),
        /windows\[0\]\.zone is required; deployment-window: windows\[0\]\.tz is not allowed/,
      );
    });
  });

  describe("the per-stack config files", () => {
    const stacks = ["local", "staging", "production"];
    for (const stack of stacks) {
      it(`policies/config/${stack}.json fits every policy's schema`, () => {
        const resolved = reconcilePolicyConfig(policies, loadPolicyConfig(stack));
        assert.equal(resolved.size, policies.length);
      });
    }

    it("configures both window policies with the same calendar", () => {
      for (const stack of stacks) {
        const resolved = reconcilePolicyConfig(policies, loadPolicyConfig(stack));
        const update = resolved.get("deployment-window")?.properties;
        const preview = resolved.get("deployment-window-advisory")?.properties;
        assert.deepEqual(update, preview, stack);
      }
    });

    it("turns windows off locally, warns in staging, enforces in production (Tue–Thu 10:00–14:00 UTC)", () => {
      const level = (stack: string, policy: string) =>
        reconcilePolicyConfig(policies, loadPolicyConfig(stack)).get(policy)?.enforcementLevel;
      assert.equal(level("local", "deployment-window"), "disabled");
      assert.equal(level("staging", "deployment-window"), "advisory");
      assert.equal(level("production", "deployment-window"), "mandatory");
      const production = reconcilePolicyConfig(policies, loadPolicyConfig("production")).get(
        "deployment-window",
      );
      assert.deepEqual(production?.properties.windows, [
        { days: ["tue", "wed", "thu"], start: "10:00", end: "14:00", zone: "UTC" },
      ]);
      for (const policy of [
        "backup-before-migrate",
        "health-gate-before-switch",
        "container-limits",
        "secrets-are-secret",
      ]) {
        for (const stack of stacks) assert.equal(level(stack, policy), "mandatory", `${policy} in ${stack}`);
      }
    });

    it("names the missing file and the known stacks", () => {
      assert.throws(
        () => loadPolicyConfig("qa"),
        /no policy config for stack "qa": expected .*policies\/config\/qa\.json \(known: local, production, staging\)/,
      );
    });

    it("refuses a file that is not JSON, naming it", () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-policy-config-"));
      try {
        fs.writeFileSync(path.join(dir, "qa.json"), "{ not json");
        assert.throws(() => loadPolicyConfig("qa", dir), /qa\.json: not valid JSON/);
        fs.writeFileSync(path.join(dir, "qa.json"), "[]");
        assert.throws(() => loadPolicyConfig("qa", dir), /qa\.json: expected an object mapping policy names/);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe("evaluatePolicies", () => {
    const run = (resources = releaseGraph(), at = WEDNESDAY_11, preview = false, stack = "production") =>
      evaluatePolicies({ resources, stack, at, preview, policyConfig: loadPolicyConfig(stack) });

    it("finds nothing wrong with a complete release inside the window", async () => {
      assert.deepEqual(await run(), []);
    });

    it("blocks an update on Friday 15:00 in production, on the release record", async () => {
      const verdicts = await run(releaseGraph(), FRIDAY_15);
      assert.equal(verdicts.length, 1);
      assert.equal(verdicts[0].policy, "deployment-window");
      assert.equal(verdicts[0].level, "mandatory");
      assert.equal(verdicts[0].urn, byName(releaseGraph(), "release-record").urn);
      assert.match(verdicts[0].message, /next window opens Tue 2026-12-01 10:00 UTC/);
    });

    it("only warns about the same instant as a preview", async () => {
      const verdicts = await run(releaseGraph(), FRIDAY_15, true);
      assert.deepEqual(
        verdicts.map(({ policy, level }) => [policy, level]),
        [["deployment-window-advisory", "advisory"]],
      );
      assert.match(
        verdicts[0].message,
        /is not in an open deployment window at Fri 2026-11-27 15:00 UTC: the update would be blocked; next window opens Tue 2026-12-01 10:00 UTC/,
      );
    });

    it("warns in staging and says nothing locally", async () => {
      const staging = await run(
        releaseGraph({ stack: "staging" }),
        new Date("2026-11-28T11:00:00Z"),
        false,
        "staging",
      );
      assert.deepEqual(
        staging.map(({ policy, level }) => [policy, level]),
        [["deployment-window", "advisory"]],
      );
      assert.deepEqual(await run(releaseGraph({ stack: "local" }), FRIDAY_15, false, "local"), []);
    });

    it("reports stack-wide violations on the stack's URN", async () => {
      const verdicts = await run(releaseGraph().filter((resource) => resource.name !== "release-record"));
      assert.deepEqual(verdicts, [
        {
          policy: "deployment-window",
          level: "mandatory",
          urn: stackUrn("production"),
          message: verdicts[0]?.message,
        },
      ]);
      assert.equal(
        stackUrn("production"),
        "urn:pulumi:production::greenlight::pulumi:pulumi:Stack::greenlight-production",
      );
    });

    it("hands resource policies secrets unwrapped, as the engine does; a credential in a command line fails", async () => {
      const graph = releaseGraph();
      stepEnvironment(byName(graph, "backup-run")).PGPASSWORD = "hunter2";
      assert.deepEqual(await run(graph), [], "a plaintext PGPASSWORD looks like an unwrapped secret here");
      byName(graph, "backup-run").inputs.create = "PGPASSWORD=hunter2 node bin/greenlight-ops.js backup";
      const verdicts = await run(graph);
      assert.deepEqual(
        verdicts.map(({ policy, level, urn }) => [policy, level, urn]),
        [["secrets-are-secret", "mandatory", byName(graph, "backup-run").urn]],
      );
      assert.match(verdicts[0].message, /its create line contains a PGPASSWORD= assignment/);
    });

    it("judges stack policies on outputs, resource policies on inputs (what the engine sends each)", async () => {
      const outputsBroken = releaseGraph();
      const backup = byName(outputsBroken, "backup-run");
      backup.outputs = {
        ...backup.inputs,
        environment: { ...stepEnvironment(backup), [STEP_ENV.step]: "other" },
      };
      assert.deepEqual(
        (await run(outputsBroken)).map(({ policy }) => policy),
        ["backup-before-migrate"],
        "the migration's backup is not a backup step in the outputs",
      );
      const inputsBroken = releaseGraph();
      const inputBackup = byName(inputsBroken, "backup-run");
      inputBackup.outputs = structuredClone(inputBackup.inputs);
      stepEnvironment(inputBackup)[STEP_ENV.step] = "other";
      assert.deepEqual(await run(inputsBroken), [], "a stack policy does not read inputs");
    });

    it("reads no clock from the pack's config: a committed `now` cannot open the window", async () => {
      const config = loadPolicyConfig("production") as Record<string, Record<string, unknown>>;
      const frozen = {
        ...config,
        "deployment-window": { ...(config["deployment-window"] ?? {}), now: WEDNESDAY_11.toISOString() },
      };
      const verdicts = await evaluatePolicies({
        resources: releaseGraph(),
        stack: "production",
        at: FRIDAY_15,
        preview: false,
        policyConfig: frozen,
      });
      assert.deepEqual(
        verdicts.map(({ policy, level }) => [policy, level]),
        [["deployment-window", "mandatory"]],
      );
      for (const policy of policies)
        assert.ok(!("now" in (policy.configSchema?.properties ?? {})), policy.name);
    });

    it("turns values unknown during a preview into an advisory, as the server does", async () => {
      const graph = releaseGraph();
      byName(graph, "service-blue-0").inputs.image = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
      const verdicts = await run(graph, WEDNESDAY_11, true);
      const unknown = verdicts.filter((verdict) => verdict.message.startsWith("can't run policy"));
      assert.ok(unknown.length >= 1, JSON.stringify(verdicts));
      assert.deepEqual(unknown[0], {
        policy: "immutable-images",
        level: "advisory",
        urn: byName(graph, "service-blue-0").urn,
        message:
          "can't run policy 'immutable-images' from policy pack 'greenlight@v0.1.0' during preview: string value at .image can't be known during preview",
      });
    });

    it("evaluates a 1,000-resource graph", async () => {
      const graph = syntheticGraph(1000);
      const verdicts = await run(graph, FRIDAY_15);
      const records = graph.filter((resource) => resource.name.startsWith("release-record"));
      assert.equal(verdicts.length, records.length, "one window verdict per release record, nothing else");
    });
  });
});
