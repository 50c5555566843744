// Plays the Pulumi engine's side of a policy pack: starts policies/ as the CLI does (@pulumi/pulumi's
// run-policy-pack, which serves the pack's analyzer over gRPC), then makes the engine's calls —
// GetAnalyzerInfo, ConfigureAnalyzer with the reconciled config, Analyze for every resource (its
// inputs, secrets sent as the engine sends them: KeepSecrets, which the pack's server unwraps) and
// AnalyzeStack over every resource's outputs. Sources: pulumi/pulumi pkg/resource/plugin/
// analyzer_plugin.go (MarshalProperties with KeepSecrets, Analyze and AnalyzeStack requests) and
// pulumi/pulumi-policy sdk/nodejs/policy/server.ts (what the pack does with them).
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import type { EnforcementLevel, Policies } from "@pulumi/policy";
import type { RecordedResource } from "../harness/types";
import { PolicyPackConfig, reconcilePolicyConfig } from "./config";
import { POLICIES_DIR, ensurePackBuilt } from "./pack";
import { PROJECT_DIR } from "../lib/project-root";

/** One verdict: the policy, its level on this stack, the resource (or the stack) and the message. */
export interface Verdict {
  policy: string;
  level: "mandatory" | "advisory";
  urn: string;
  message: string;
}

/** A module as the pack resolves it (its own @pulumi/pulumi, gRPC and protobuf). */
function fromPack<T>(id: string): T {
  const pulumiDir = path.dirname(require.resolve("@pulumi/pulumi/package.json", { paths: [POLICIES_DIR] }));
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- resolved from the pack's folder at run time
  return require(require.resolve(id, { paths: [pulumiDir, POLICIES_DIR] })) as T;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- generated protobuf classes without typings */
type Proto = any;
const proto = () => ({
  grpc: fromPack<Proto>("@grpc/grpc-js"),
  service: fromPack<Proto>("@pulumi/pulumi/proto/analyzer_grpc_pb"),
  analyzer: fromPack<Proto>("@pulumi/pulumi/proto/analyzer_pb"),
  Struct: fromPack<Proto>("google-protobuf/google/protobuf/struct_pb").Struct,
  Empty: fromPack<Proto>("google-protobuf/google/protobuf/empty_pb").Empty,
});
/* eslint-enable @typescript-eslint/no-explicit-any */

/** The engine's numbers for enforcement levels (proto/analyzer.proto EnforcementLevel). */
const LEVEL_NUMBER: Record<EnforcementLevel, number> = {
  advisory: 0,
  mandatory: 1,
  disabled: 2,
  remediate: 3,
};

export interface PackOptions {
  /** Run as `pulumi preview` (PULUMI_NODEJS_DRY_RUN=true) or as `pulumi up`. */
  preview: boolean;
  stack: string;
  project?: string;
  /** The instant the pack's clock starts at (npm run plan --at); unset: the real clock. */
  at?: Date;
}

/** A running pack, served as the CLI serves it, and the engine's calls to it. */
export class PackServer {
  private constructor(
    private readonly child: ChildProcess,
    private readonly client: Proto,
    private readonly stderr: () => string,
  ) {}

  /** Starts policies/ with run-policy-pack and connects, as `pulumi preview --policy-pack policies` does. */
  static async start(options: PackOptions): Promise<PackServer> {
    ensurePackBuilt();
    const { grpc, service } = proto();
    const runPolicyPack = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [POLICIES_DIR] });
    const execArgs = options.at ? ["-r", path.join(PROJECT_DIR, "tools", "policy-runner", "clock.js")] : [];
    const child = spawn(process.execPath, [...execArgs, runPolicyPack, "127.0.0.1:1", "."], {
      cwd: POLICIES_DIR,
      env: {
        ...process.env,
        PULUMI_NODEJS_DRY_RUN: String(options.preview),
        PULUMI_NODEJS_STACK: options.stack,
        PULUMI_NODEJS_PROJECT: options.project ?? "greenlight",
        ...(options.at ? { GREENLIGHT_PACK_CLOCK: options.at.toISOString() } : {}),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const port = await new Promise<number>((resolve, reject) => {
      let stdout = "";
      const timer = setTimeout(
        () => reject(new Error(`the policy pack printed no port in 120 s: ${stderr}`)),
        120_000,
      );
      child.stdout?.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        const match = /^(\d+)\s*$/m.exec(stdout);
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`the policy pack exited (${code}) before serving: ${stderr.trim()}`));
      });
    });
    const client = new service.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    return new PackServer(child, client, () => stderr);
  }

  private call<T>(method: string, request: unknown): Promise<T> {
    return new Promise<T>((resolve, reject) =>
      this.client[method](request, (error: Error | null, response: T) =>
        error
          ? reject(new Error(`policy pack ${method}: ${error.message} ${this.stderr().trim()}`.trim()))
          : resolve(response),
      ),
    );
  }

  /** GetAnalyzerInfo: the pack's policies, their levels and config schemas, as the engine learns them. */
  async policies(): Promise<Policies> {
    const { Empty } = proto();
    const info = await this.call<Proto>("getAnalyzerInfo", new Empty());
    const levels = Object.fromEntries(Object.entries(LEVEL_NUMBER).map(([name, number]) => [number, name]));
    return info.getPoliciesList().map((policy: Proto) => {
      const schema = policy.getConfigschema();
      return {
        name: policy.getName(),
        description: policy.getDescription(),
        enforcementLevel: levels[policy.getEnforcementlevel()] as EnforcementLevel,
        configSchema: schema
          ? { properties: schema.getProperties()?.toJavaScript() ?? {}, required: schema.getRequiredList() }
          : undefined,
        validateResource: () => undefined,
      };
    });
  }

  /** ConfigureAnalyzer with the stack's pack config, reconciled with the schemas as the engine does. */
  async configure(config: PolicyPackConfig): Promise<void> {
    const { analyzer, Struct } = proto();
    const request = new analyzer.ConfigureAnalyzerRequest();
    const map = request.getPolicyconfigMap();
    for (const [name, resolved] of reconcilePolicyConfig(await this.policies(), config)) {
      const entry = new analyzer.PolicyConfig();
      entry.setEnforcementlevel(LEVEL_NUMBER[resolved.enforcementLevel]);
      entry.setProperties(Struct.fromJavaScript(resolved.properties));
      map.set(name, entry);
    }
    await this.call("configure", request);
  }

  /** Analyze one resource: its inputs, options and provider, as the engine sends them before a step. */
  async analyze(resource: RecordedResource, byUrn: Map<string, RecordedResource>): Promise<Verdict[]> {
    const { analyzer, Struct } = proto();
    const request = new analyzer.AnalyzeRequest();
    request.setUrn(resource.urn);
    request.setType(resource.type);
    request.setName(resource.name);
    request.setProperties(Struct.fromJavaScript(resource.inputs));
    request.setOptions(options(resource));
    const provider = providerOf(resource, byUrn);
    if (provider) request.setProvider(provider);
    return verdicts(await this.call("analyze", request), resource.urn);
  }

  /** AnalyzeStack over every resource's outputs, as the engine sends them once the update has run. */
  async analyzeStack(resources: RecordedResource[], stackUrn: string): Promise<Verdict[]> {
    const { analyzer, Struct } = proto();
    const byUrn = new Map(resources.map((resource) => [resource.urn, resource]));
    const request = new analyzer.AnalyzeStackRequest();
    for (const resource of resources) {
      const entry = new analyzer.AnalyzerResource();
      entry.setUrn(resource.urn);
      entry.setType(resource.type);
      entry.setName(resource.name);
      entry.setProperties(Struct.fromJavaScript(resource.outputs ?? {}));
      entry.setOptions(options(resource));
      entry.setParent(resource.parent ?? "");
      entry.setDependenciesList(resource.dependencies);
      const provider = providerOf(resource, byUrn);
      if (provider) entry.setProvider(provider);
      const propertyDependencies = entry.getPropertydependenciesMap();
      for (const [property, urns] of Object.entries(resource.propertyDependencies)) {
        const dependencies = new analyzer.AnalyzerPropertyDependencies();
        dependencies.setUrnsList(urns);
        propertyDependencies.set(property, dependencies);
      }
      request.addResources(entry);
    }
    return verdicts(await this.call("analyzeStack", request), stackUrn);
  }

  async close(): Promise<void> {
    this.client.close();
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.kill();
    await exited;
  }
}

function options(resource: RecordedResource): Proto {
  const { analyzer } = proto();
  const result = new analyzer.AnalyzerResourceOptions();
  result.setProtect(resource.protect);
  result.setIgnorechangesList(resource.ignoreChanges);
  result.setDeletebeforereplace(resource.deleteBeforeReplace);
  result.setDeletebeforereplacedefined(resource.deleteBeforeReplace);
  result.setAdditionalsecretoutputsList(resource.additionalSecretOutputs);
  result.setParent(resource.parent ?? "");
  return result;
}

function providerOf(resource: RecordedResource, byUrn: Map<string, RecordedResource>): Proto | undefined {
  const provider = resource.provider ? byUrn.get(resource.provider) : undefined;
  if (!provider) return undefined;
  const { analyzer, Struct } = proto();
  const entry = new analyzer.AnalyzerProviderResource();
  entry.setType(provider.type);
  entry.setName(provider.name);
  entry.setUrn(provider.urn);
  entry.setProperties(Struct.fromJavaScript(provider.outputs ?? provider.inputs));
  return entry;
}

/** The response's diagnostics as verdicts; the message without the policy description the pack prefixes. */
function verdicts(response: Proto, fallbackUrn: string): Verdict[] {
  const levels: Record<number, Verdict["level"]> = { 0: "advisory", 1: "mandatory", 3: "mandatory" };
  return response.getDiagnosticsList().map((diagnostic: Proto) => {
    const description: string = diagnostic.getDescription();
    const message: string = diagnostic.getMessage();
    return {
      policy: diagnostic.getPolicyname(),
      level: levels[diagnostic.getEnforcementlevel()] ?? "advisory",
      urn: diagnostic.getUrn() || fallbackUrn,
      message:
        description && message.startsWith(`${description}\n`)
          ? message.slice(description.length + 1)
          : message,
    };
  });
}
