import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { policies } from "../../policies/all";
import { RESOURCE } from "../../policies/lib/contract";
import { evaluatePolicies, stackUrn } from "../../tools/policy-runner";
import { PolicyConfigError, loadPolicyConfig, reconcilePolicyConfig } from "../../tools/policy-runner/config";
import { byName, releaseGraph, stepEnvironment, syntheticGraph } from "../policies/release-graph";

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

    it("only warns about the same instant as a preview, and restores isDryRun", async () => {
      const verdicts = await run(releaseGraph(), FRIDAY_15, true);
      assert.deepEqual(
        verdicts.map(({ policy, level }) => [policy, level]),
        [["deployment-window-advisory", "advisory"]],
      );
      assert.match(
        verdicts[0].message,
        /would be blocked at Fri 2026-11-27 15:00 UTC; next window opens Tue 2026-12-01 10:00 UTC/,
      );
      assert.equal(pulumi.runtime.isDryRun(), false);
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

    it("hands policies secrets as the harness recorded them: a plaintext password fails", async () => {
      const graph = releaseGraph();
      stepEnvironment(byName(graph, "backup-run")).PGPASSWORD = "hunter2";
      const verdicts = await run(graph);
      assert.deepEqual(
        verdicts.map(({ policy, level, urn }) => [policy, level, urn]),
        [["secrets-are-secret", "mandatory", byName(graph, "backup-run").urn]],
      );
      assert.match(verdicts[0].message, /environment PGPASSWORD looks secret but is plaintext/);
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
          "can't run policy 'immutable-images' during preview: string value at .image can't be known during preview",
      });
    });

    it("gives policies what the server does: options, provider, parent, dependencies, isType/asType, notApplicable", async () => {
      const graph = releaseGraph();
      const provider = {
        ...byName(graph, "backups-key"),
        urn: "urn:pulumi:production::greenlight::pulumi:providers:aws::eu",
        name: "eu",
        type: "pulumi:providers:aws",
        inputs: { region: "eu-central-1" },
      };
      byName(graph, "backups-bucket").provider = provider.urn;
      const seen: Record<string, unknown> = {};
      const FakeBucket = { __pulumiType: RESOURCE.bucket };
      const probe: ResourceValidationPolicy = {
        name: "probe",
        description: "probe",
        enforcementLevel: "advisory",
        validateResource: (args, report) => {
          if (args.type !== RESOURCE.bucket) args.notApplicable("only buckets");
          seen.protect = args.opts.protect;
          seen.parent = args.opts.parent;
          seen.provider = [args.provider?.type, args.provider?.props.region];
          seen.isType = args.isType(FakeBucket as never);
          seen.asType = (args.asType(FakeBucket as never) as Record<string, unknown> | undefined)?.bucket;
          report("seen");
        },
      };
      const stackProbe: StackValidationPolicy = {
        name: "stack-probe",
        description: "stack probe",
        enforcementLevel: "mandatory",
        validateStack: (args, report) => {
          const gate = args.resources.find((resource) => resource.name === "gate-blue-run");
          seen.gateParent = gate?.parent?.name;
          seen.gateDependencies = gate?.dependencies.map((dependency) => dependency.name);
          const encryption = args.resources.find((resource) => resource.name === "backups-encryption");
          seen.encryptionRules = encryption?.propertyDependencies.rules?.map((dependency) => dependency.name);
          report("stack seen", gate?.urn);
        },
      };
      const verdicts = await evaluatePolicies({
        resources: [...graph, provider],
        stack: "production",
        at: WEDNESDAY_11,
        preview: false,
        policyConfig: {},
        policies: [probe, stackProbe],
      });
      assert.deepEqual(seen, {
        protect: true,
        parent: byName(graph, "backups").urn,
        provider: ["pulumi:providers:aws", "eu-central-1"],
        isType: true,
        asType: "example-shop-backups",
        gateParent: "gate-blue",
        gateDependencies: ["service-blue-0", "service-blue-1"],
        encryptionRules: ["backups-key"],
      });
      assert.deepEqual(
        verdicts.map(({ policy, level, urn }) => [policy, level, urn]),
        [
          ["probe", "advisory", byName(graph, "backups-bucket").urn],
          ["stack-probe", "mandatory", byName(graph, "gate-blue-run").urn],
        ],
      );
    });

    it("lets policies use Array methods on props (the secrets-preserving proxy keeps the Proxy invariants)", async () => {
      const labels: string[] = [];
      const probe: ResourceValidationPolicy = {
        name: "labels",
        description: "labels",
        validateResource: (args) => {
          if (args.type !== RESOURCE.container) return;
          labels.push(
            ...(args.props.labels as { label: string }[])
              .map((entry) => entry.label)
              .filter((label) => label.length > 0),
          );
        },
      };
      await evaluatePolicies({
        resources: releaseGraph(),
        stack: "production",
        at: WEDNESDAY_11,
        preview: false,
        policyConfig: {},
        policies: [probe],
      });
      assert.equal(labels.length, 6);
    });

    it("fails loudly, naming the policy and resource, when a policy throws", async () => {
      const broken: ResourceValidationPolicy = {
        name: "broken",
        description: "broken",
        validateResource: (args) => {
          if (args.name === "release-record") throw new Error("boom");
        },
      };
      await assert.rejects(
        evaluatePolicies({
          resources: releaseGraph(),
          stack: "production",
          at: WEDNESDAY_11,
          preview: false,
          policyConfig: {},
          policies: [broken],
        }),
        /policy broken failed on urn:pulumi:production::greenlight::command:local:Command::release-record: boom/,
      );
    });

    it("evaluates a 1,000-resource graph", async () => {
      const graph = syntheticGraph(1000);
      const verdicts = await run(graph, FRIDAY_15);
      const records = graph.filter((resource) => resource.name.startsWith("release-record"));
      assert.equal(verdicts.length, records.length, "one window verdict per release record, nothing else");
    });
  });
});
