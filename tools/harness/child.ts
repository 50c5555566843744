// Runs the real program once under Pulumi's mock runtime and writes what it registered as JSON.
// One program per process: run.ts starts this file in a child process for every run.
import { createHash } from "crypto";
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import type { ConfigProblem } from "../../schema/parse";
import {
  ProgramRequest,
  ProgramRun,
  RecordedResource,
  SECRET_PLACEHOLDER,
  SECRET_SIG,
  SECRET_SIG_KEY,
} from "./types";
import { readBack } from "./readback";

interface StructLike {
  toJavaScript(): Record<string, unknown>;
}
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getProvider(): string;
  getObject(): StructLike | undefined;
  getDependenciesList(): string[];
  getPropertydependenciesMap(): {
    forEach(callback: (value: { getUrnsList(): string[] }, key: string) => void): void;
  };
  getProtect(): boolean;
  getRetainondelete(): boolean;
  getDeletebeforereplace(): boolean;
  getIgnorechangesList(): string[];
  getReplaceonchangesList(): string[];
  getAdditionalsecretoutputsList(): string[];
}
interface OutputsRequest {
  getUrn(): string;
  getOutputs(): StructLike | undefined;
}
type Callback = (error: unknown, response: unknown) => void;

const ROOT_STACK_TYPE = "pulumi:pulumi:Stack";

async function main(): Promise<void> {
  const requestFile = process.env.GREENLIGHT_HARNESS_REQUEST;
  const outFile = process.env.GREENLIGHT_HARNESS_OUT;
  if (!requestFile || !outFile) throw new Error("child.ts is started by tools/harness/run.ts, not directly");
  const request = JSON.parse(fs.readFileSync(requestFile, "utf8")) as ProgramRequest;
  const result = await runProgram(request);
  fs.writeFileSync(outFile, JSON.stringify(result));
}

async function runProgram(request: ProgramRequest): Promise<ProgramRun> {
  const resources = new Map<string, RecordedResource>();
  const stackOutputs: Record<string, unknown> = {};
  let rootUrn: string | undefined;

  const monitor = MockMonitor.prototype as unknown as {
    registerResource(request: RegisterRequest, callback: Callback): Promise<void>;
    registerResourceOutputs(request: OutputsRequest, callback: Callback): void;
  };
  const originalRegister = monitor.registerResource;
  monitor.registerResource = async function (this: unknown, req: RegisterRequest, callback: Callback) {
    return originalRegister.call(this, req, (error: unknown, response: unknown) => {
      if (!error && response) {
        const urn = (response as { getUrn(): string }).getUrn();
        if (req.getType() === ROOT_STACK_TYPE) {
          rootUrn = urn;
        } else {
          const recorded = record(urn, req);
          if (recorded.custom) {
            const state = (response as { getObject(): StructLike | undefined }).getObject();
            recorded.outputs = markSecrets(state?.toJavaScript() ?? {}) as Record<string, unknown>;
          }
          resources.set(urn, recorded);
        }
      }
      callback(error, response);
    });
  };
  const originalOutputs = monitor.registerResourceOutputs;
  monitor.registerResourceOutputs = function (this: unknown, req: OutputsRequest, callback: Callback) {
    const outputs = markSecrets(req.getOutputs()?.toJavaScript() ?? {}) as Record<string, unknown>;
    if (req.getUrn() === rootUrn) Object.assign(stackOutputs, outputs);
    const recorded = resources.get(req.getUrn());
    if (recorded) recorded.outputs = outputs;
    return originalOutputs.call(this, req, callback);
  };

  await pulumi.runtime.setMocks(
    {
      newResource: (args) => ({
        id: `${args.name}-id`,
        state: args.custom === false ? args.inputs : mockState(args.type, args.name, args.inputs),
      }),
      call: () => ({}),
    },
    request.project,
    request.stack,
    request.preview,
  );
  pulumi.runtime.setAllConfig(request.config, request.secretKeys);
  secretSalt = request.secretSalt;
  for (const key of request.secretKeys) {
    const value = request.config[key];
    if (value && value.length >= 4 && value !== SECRET_PLACEHOLDER)
      secretValues.push(value, encodeURIComponent(value));
  }
  if (request.at) process.env.GREENLIGHT_AT = request.at;
  process.chdir(request.projectDir);

  const program = request.program;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the program must load after the mocks are set
    await pulumi.runtime.runInPulumiStack(async () => require(program));
    await settle();
    return { ok: true, stack: request.stack, resources: [...resources.values()], outputs: stackOutputs };
  } catch (error) {
    await settle().catch(() => undefined);
    const failure = error as Error & { problems?: ConfigProblem[] };
    const isConfig = failure?.name === "ConfigError";
    return {
      ok: false,
      stack: request.stack,
      kind: isConfig ? "config" : "program",
      message: failure?.message ?? String(error),
      problems: isConfig ? (failure.problems ?? []) : [],
      resources: [...resources.values()],
    };
  }
}

async function settle(): Promise<void> {
  const settings = (await import("@pulumi/pulumi/runtime/settings")) as unknown as {
    waitForRPCs(): Promise<void>;
  };
  await settings.waitForRPCs();
}

function record(urn: string, req: RegisterRequest): RecordedResource {
  const propertyDependencies: Record<string, string[]> = {};
  req.getPropertydependenciesMap().forEach((value, key) => {
    propertyDependencies[key] = value.getUrnsList();
  });
  return {
    urn,
    type: req.getType(),
    name: req.getName(),
    custom: req.getCustom(),
    parent: req.getParent() || undefined,
    provider: req.getProvider()
      ? req.getProvider().split("::").slice(0, -1).join("::") || undefined
      : undefined,
    dependencies: req.getDependenciesList(),
    propertyDependencies,
    inputs: markSecrets(req.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>,
    protect: req.getProtect(),
    retainOnDelete: req.getRetainondelete(),
    deleteBeforeReplace: req.getDeletebeforereplace(),
    ignoreChanges: req.getIgnorechangesList(),
    replaceOnChanges: req.getReplaceonchangesList(),
    additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
  };
}

/**
 * Marks every secret value, keeping its secretness: a secret scalar becomes the placeholder, a secret
 * list or map keeps its shape (a provider marks a whole output secret when any input is, and the
 * engine hands policies the unwrapped structure). Config secrets reach the harness as placeholders
 * already (tools/harness/stack-file.ts), so nothing a stack file encrypts is ever recorded.
 */
function markSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(markSecrets);
  if (value !== null && typeof value === "object") {
    const object = value as Record<string, unknown>;
    if (object[SECRET_SIG_KEY] === SECRET_SIG) {
      const inner = object.value;
      const kept =
        inner !== null && typeof inner === "object" ? scrub(markSecrets(inner)) : SECRET_PLACEHOLDER;
      const digest = createHash("sha256").update(secretSalt).update(JSON.stringify(inner)).digest("hex");
      return { [SECRET_SIG_KEY]: SECRET_SIG, value: kept, digest: digest.slice(0, 16) };
    }
    return Object.fromEntries(Object.entries(object).map(([key, inner]) => [key, markSecrets(inner)]));
  }
  return value;
}

/** The salt of this run's secret digests (ProgramRequest.secretSalt). */
let secretSalt = "";

/** The secret config values of this run (placeholders from a stack file; a test may set real-looking ones). */
const secretValues: string[] = [];

/** A kept secret structure with every secret config value in it replaced by the placeholder. */
function scrub(value: unknown): unknown {
  if (typeof value === "string")
    return secretValues.reduce((text, secret) => text.split(secret).join(SECRET_PLACEHOLDER), value);
  if (Array.isArray(value)) return value.map(scrub);
  if (value !== null && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, scrub(inner)]));
  return value;
}

/**
 * What a provider returns for a new resource: its read-back (tools/harness/readback), so stack policies,
 * the plan's diff and the idempotence tests see the state the real providers would store.
 */
function mockState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  return readBack(type, name, inputs);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : String(error));
  process.exit(1);
});
