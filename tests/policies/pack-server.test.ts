// The pack as the Pulumi CLI runs it: @pulumi/pulumi's run-policy-pack starts policies/index.ts, which
// serves the analyzer gRPC API; this test plays the engine (GetAnalyzerInfo, Configure, Analyze,
// AnalyzeStack), with PULUMI_NODEJS_DRY_RUN set as the CLI sets it for a preview or an update.
import { strict as assert } from "assert";
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import { policies } from "../../policies/all";
import { RESOURCE, STEP, STEP_ENV } from "../../policies/lib/contract";
import type { RecordedResource } from "../../tools/harness/types";
import { loadPolicyConfig, reconcilePolicyConfig } from "../../tools/policy-runner/config";
import { POLICIES_DIR } from "../../tools/policy-runner/pack";
import { byName, releaseGraph, secretInput, stepEnvironment } from "./release-graph";

/** Modules as the pack resolves them, so messages are built with the server's own classes. */
function packRequire<T>(id: string): T {
  const pulumiDir = path.dirname(require.resolve("@pulumi/pulumi/package.json", { paths: [POLICIES_DIR] }));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(require.resolve(id, { paths: [pulumiDir] })) as T;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- generated protobuf classes without typings */
const grpc = packRequire<any>("@grpc/grpc-js");
const analyzerRpc = packRequire<any>("@pulumi/pulumi/proto/analyzer_grpc_pb");
const analyzer = packRequire<any>("@pulumi/pulumi/proto/analyzer_pb");
const { Struct } = packRequire<any>("google-protobuf/google/protobuf/struct_pb");
const { Empty } = packRequire<any>("google-protobuf/google/protobuf/empty_pb");
/* eslint-enable @typescript-eslint/no-explicit-any */

const LEVEL = { ADVISORY: 0, MANDATORY: 1, DISABLED: 2, REMEDIATE: 3 } as const;
const LEVEL_NUMBER: Record<string, number> = { advisory: 0, mandatory: 1, disabled: 2, remediate: 3 };
const FRIDAY_15 = "2026-11-27T15:00:00Z";

interface Diagnostic {
  policy: string;
  level: number;
  message: string;
  urn: string;
}

interface Pack {
  process: ChildProcess;
  call<T>(method: string, request: unknown): Promise<T>;
  close(): Promise<void>;
}

async function startPack(preview: boolean): Promise<Pack> {
  const runPolicyPack = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [POLICIES_DIR] });
  const child = spawn(process.execPath, [runPolicyPack, "127.0.0.1:1", "."], {
    cwd: POLICIES_DIR,
    env: { ...process.env, PULUMI_NODEJS_DRY_RUN: String(preview), PULUMI_NODEJS_STACK: "production" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(
      () => reject(new Error(`the pack printed no port in 90 s; stderr: ${stderr}`)),
      90_000,
    );
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /^(\d+)\s*$/m.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the pack exited (${code}) before serving: ${stderr}`));
    });
  });
  const client = new analyzerRpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return {
    process: child,
    call: <T>(method: string, request: unknown) =>
      new Promise<T>((resolve, reject) =>
        client[method](request, (error: Error | null, response: T) =>
          error ? reject(error) : resolve(response),
        ),
      ),
    close: () => {
      client.close();
      if (child.exitCode !== null) return Promise.resolve();
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill();
      return exited;
    },
  };
}

/** Configure as the engine does after ReconcilePolicyPackConfig, with `now` pinned for the window. */
async function configure(pack: Pack, now: string): Promise<void> {
  const request = new analyzer.ConfigureAnalyzerRequest();
  const map = request.getPolicyconfigMap();
  for (const [name, resolved] of reconcilePolicyConfig(policies, loadPolicyConfig("production"))) {
    const config = new analyzer.PolicyConfig();
    config.setEnforcementlevel(LEVEL_NUMBER[resolved.enforcementLevel]);
    const properties = name.startsWith("deployment-window")
      ? { ...resolved.properties, now }
      : resolved.properties;
    config.setProperties(Struct.fromJavaScript(properties));
    map.set(name, config);
  }
  await pack.call("configure", request);
}

function options(resource: RecordedResource) {
  const result = new analyzer.AnalyzerResourceOptions();
  result.setProtect(resource.protect);
  result.setParent(resource.parent ?? "");
  return result;
}

function diagnostics(response: { getDiagnosticsList(): unknown[] }): Diagnostic[] {
  /* eslint-disable @typescript-eslint/no-explicit-any -- generated protobuf classes */
  return response.getDiagnosticsList().map((diagnostic: any) => ({
    policy: diagnostic.getPolicyname(),
    level: diagnostic.getEnforcementlevel(),
    message: diagnostic.getMessage(),
    urn: diagnostic.getUrn(),
  }));
  /* eslint-enable @typescript-eslint/no-explicit-any */
}

async function analyze(pack: Pack, resource: RecordedResource): Promise<Diagnostic[]> {
  const request = new analyzer.AnalyzeRequest();
  request.setUrn(resource.urn);
  request.setType(resource.type);
  request.setName(resource.name);
  request.setProperties(Struct.fromJavaScript(resource.inputs));
  request.setOptions(options(resource));
  return diagnostics(await pack.call("analyze", request));
}

async function analyzeStack(pack: Pack, resources: RecordedResource[]): Promise<Diagnostic[]> {
  const request = new analyzer.AnalyzeStackRequest();
  for (const resource of resources) {
    const entry = new analyzer.AnalyzerResource();
    entry.setUrn(resource.urn);
    entry.setType(resource.type);
    entry.setName(resource.name);
    entry.setProperties(Struct.fromJavaScript(resource.inputs));
    entry.setOptions(options(resource));
    entry.setParent(resource.parent ?? "");
    entry.setDependenciesList(resource.dependencies);
    const propertyDependencies = entry.getPropertydependenciesMap();
    for (const [property, urns] of Object.entries(resource.propertyDependencies)) {
      const dependencies = new analyzer.AnalyzerPropertyDependencies();
      dependencies.setUrnsList(urns);
      propertyDependencies.set(property, dependencies);
    }
    request.addResources(entry);
  }
  return diagnostics(await pack.call("analyzeStack", request));
}

const record = () => byName(releaseGraph(), "release-record");

describe("policies/index.ts served as the Pulumi CLI runs a pack", function () {
  this.timeout(180_000);

  describe("an update (PULUMI_NODEJS_DRY_RUN=false)", () => {
    let pack: Pack;
    before(async () => {
      pack = await startPack(false);
      await configure(pack, FRIDAY_15);
    });
    after(() => pack?.close());

    it("describes every policy with its enforcement level and config schema", async () => {
      const info = await pack.call<{ getName(): string; getPoliciesList(): unknown[] }>(
        "getAnalyzerInfo",
        new Empty(),
      );
      assert.equal(info.getName(), "greenlight");
      /* eslint-disable @typescript-eslint/no-explicit-any -- generated protobuf classes */
      const described = info.getPoliciesList().map((policy: any) => ({
        name: policy.getName(),
        level: policy.getEnforcementlevel(),
        schema: Object.keys(policy.getConfigschema()?.getProperties()?.toJavaScript() ?? {}),
      }));
      /* eslint-enable @typescript-eslint/no-explicit-any */
      assert.deepEqual(
        described.map((policy: { name: string }) => policy.name),
        policies.map((policy) => policy.name),
      );
      const window = described.find((policy: { name: string }) => policy.name === "deployment-window");
      assert.equal(window?.level, LEVEL.MANDATORY);
      assert.deepEqual(window?.schema.sort(), [
        "freezes",
        "horizonDays",
        "maxOverrideHours",
        "now",
        "windows",
      ]);
      assert.equal(
        described.find((policy: { name: string }) => policy.name === "deployment-window-advisory")?.level,
        LEVEL.ADVISORY,
      );
    });

    it("blocks the release record on Friday 15:00: mandatory, with the next opening", async () => {
      const found = await analyze(pack, record());
      assert.equal(found.length, 1, JSON.stringify(found));
      assert.equal(found[0].policy, "deployment-window");
      assert.equal(found[0].level, LEVEL.MANDATORY);
      assert.match(found[0].message, /^Requires every update to run inside a deployment window/);
      assert.match(
        found[0].message,
        /\nrelease 2026\.11\.20-2 is blocked at Fri 2026-11-27 15:00 UTC; next window opens Tue 2026-12-01 10:00 UTC/,
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
        [["deployment-window-advisory", LEVEL.ADVISORY]],
      );
      assert.match(found[0].message, /\noverride used: release 2026\.11\.20-2/);
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
          ["deployment-window", LEVEL.MANDATORY, byName(graph, "migration-run").urn],
          ["backup-before-migrate", LEVEL.MANDATORY, byName(graph, "migration-run").urn],
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
    let pack: Pack;
    before(async () => {
      pack = await startPack(true);
      await configure(pack, FRIDAY_15);
    });
    after(() => pack?.close());

    it("only warns on Friday 15:00: would be blocked, and when the next window opens", async () => {
      const found = await analyze(pack, record());
      assert.deepEqual(
        found.map(({ policy, level }) => [policy, level]),
        [["deployment-window-advisory", LEVEL.ADVISORY]],
      );
      assert.match(
        found[0].message,
        /\nrelease 2026\.11\.20-2 would be blocked at Fri 2026-11-27 15:00 UTC; next window opens Tue 2026-12-01 10:00 UTC/,
      );
    });
  });
});
