// Runs the policy pack in-process over a harness run, handing each policy what @pulumi/policy's analyzer
// server (server.js) would: the same deserializer, proxies, options, getConfig and notApplicable, with
// the pack's own copy of @pulumi/policy. One deliberate difference: inputs keep secrets as `Secret`
// behind a secrets-preserving proxy, as the server does for remediations, so secrets-are-secret can
// see which inputs are secret (the engine's validation path unwraps them; see docs/policies.md).
import * as fs from "fs";
import * as path from "path";
import type {
  EnforcementLevel,
  Policies,
  PolicyConfigSchema,
  PolicyResource,
  PolicyResourceOptions,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import type { PolicyConfigJSONSchema } from "@pulumi/policy/schema";
import { policies as PACK } from "../policies/all";
import type { RecordedResource } from "./harness/types";

/** The policy pack's folder. */
export const POLICIES_DIR = path.resolve(__dirname, "..", "policies");

/** A policy pack config file, as `pulumi preview --policy-pack-config` reads it. */
export type PolicyPackConfig = Record<string, unknown>;

/** One verdict, in DESIGN.md's JSON shape. */
export interface Verdict {
  policy: string;
  level: "mandatory" | "advisory";
  urn: string;
  message: string;
}

export interface PolicyRunInput {
  resources: RecordedResource[];
  stack: string;
  /** The instant time-dependent policies judge (their `now` config). */
  at: Date;
  /** Judge as `pulumi preview` (true) or as `pulumi up` (false). */
  preview: boolean;
  /** The stack's policy pack config (see loadPolicyConfig). */
  policyConfig: PolicyPackConfig;
  /** Defaults to the whole pack (policies/all.ts). */
  policies?: Policies;
  /** Pulumi project name, for the stack URN of stack-wide verdicts. */
  project?: string;
}

/** A policy config file that is missing or does not fit the policies' schemas. */
export class PolicyConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PolicyConfigError";
  }
}

interface DeserializeModule {
  deserializeProperties(
    struct: { toJavaScript(): Record<string, unknown> },
    proxySecrets: boolean,
  ): Record<string, unknown>;
}
interface SecretModule {
  Secret: new (value: unknown) => { value: unknown };
}
interface ProxyModule {
  isSpecialProxy: string;
  getSpecialProxyTarget: string;
  unknownCheckingProxy<T>(value: T): T;
  UnknownValueError: new (...args: never[]) => Error;
}
interface PolicyModule {
  getPulumiType(value: unknown): string | undefined;
  isResourcePolicy(policy: unknown): policy is ResourceValidationPolicy;
  isStackPolicy(policy: unknown): policy is StackValidationPolicy;
}
interface RuntimeModule {
  isDryRun(): boolean;
  _setIsDryRun?(value: boolean): void;
}

/** Loads a module as the pack resolves it, so `Secret` and the proxies are the classes its policies see. */
function fromPack<T>(id: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- resolved from the pack's folder at run time
  return require(require.resolve(id, { paths: [POLICIES_DIR] })) as T;
}

/**
 * @pulumi/policy's secretsPreservingProxy (secret.js): reads unwrap `Secret`, writes to a secret stay
 * secret, and the special-proxy markers reach the target. Unlike 1.21's, it returns non-configurable,
 * read-only properties as they are (as its unknownCheckingProxy does), so Array methods keep working.
 */
function secretsPreservingProxy(target: unknown, secret: SecretModule, proxy: ProxyModule): unknown {
  if (!(target instanceof Object)) return target;
  return new Proxy(target, {
    get: (object, key) => {
      if (key === proxy.isSpecialProxy) return true;
      if (key === proxy.getSpecialProxyTarget) return object;
      const value = (object as Record<string | symbol, unknown>)[key];
      const descriptor = Object.getOwnPropertyDescriptor(object, key);
      if (
        descriptor &&
        "value" in descriptor &&
        descriptor.configurable === false &&
        descriptor.writable === false
      ) {
        return value;
      }
      return secretsPreservingProxy(value instanceof secret.Secret ? value.value : value, secret, proxy);
    },
    set: (object, key, value) => {
      const record = object as Record<string | symbol, unknown>;
      record[key] = record[key] instanceof secret.Secret ? new secret.Secret(value) : value;
      return true;
    },
  });
}

class NotApplicableError extends Error {}

function throwNotApplicable(reason?: string): never {
  throw new NotApplicableError(reason ?? "Policy does not apply");
}

/** Reads policies/config/<stack>.json. */
export function loadPolicyConfig(
  stack: string,
  configDir = path.join(POLICIES_DIR, "config"),
): PolicyPackConfig {
  const file = path.join(configDir, `${stack}.json`);
  if (!fs.existsSync(file)) {
    const known = fs.existsSync(configDir)
      ? fs
          .readdirSync(configDir)
          .filter((entry) => entry.endsWith(".json"))
          .map((entry) => entry.slice(0, -5))
      : [];
    throw new PolicyConfigError(
      `no policy config for stack "${stack}": expected ${file} (known: ${known.join(", ") || "none"})`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (error) {
    throw new PolicyConfigError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new PolicyConfigError(
      `${file}: expected an object mapping policy names to a level or a config object`,
    );
  }
  return parsed as PolicyPackConfig;
}

const LEVELS: readonly EnforcementLevel[] = ["advisory", "mandatory", "remediate", "disabled"];

interface ResolvedConfig {
  enforcementLevel: EnforcementLevel;
  properties: Record<string, unknown>;
}

/**
 * The engine's ReconcilePolicyPackConfig: schema defaults, then "all", then each policy's entry, then
 * validation against the schema. Unlike the engine it also refuses names of policies the pack lacks.
 */
export function reconcilePolicyConfig(
  policies: Policies,
  config: PolicyPackConfig,
): Map<string, ResolvedConfig> {
  const problems: string[] = [];
  const known = new Set(policies.map((policy) => policy.name));
  const result = new Map<string, ResolvedConfig>();
  for (const policy of policies) {
    const properties: Record<string, unknown> = {};
    for (const [key, schema] of Object.entries(policy.configSchema?.properties ?? {})) {
      if (schema.default !== undefined) properties[key] = structuredClone(schema.default);
    }
    result.set(policy.name, { enforcementLevel: policy.enforcementLevel ?? "advisory", properties });
  }
  const levelOf = (name: string, value: unknown): EnforcementLevel | undefined => {
    if (value === undefined) return undefined;
    if (typeof value === "string" && (LEVELS as string[]).includes(value)) return value as EnforcementLevel;
    problems.push(`${name}: enforcementLevel ${JSON.stringify(value)} is not one of ${LEVELS.join(", ")}`);
    return undefined;
  };
  const all = config.all;
  const allLevel = levelOf(
    "all",
    typeof all === "object" && all !== null ? (all as Record<string, unknown>).enforcementLevel : all,
  );
  if (allLevel) for (const resolved of result.values()) resolved.enforcementLevel = allLevel;
  for (const [name, entry] of Object.entries(config)) {
    if (name === "all") continue;
    const resolved = result.get(name);
    if (!resolved) {
      problems.push(`${name}: no such policy in the pack (known: ${[...known].join(", ")})`);
      continue;
    }
    if (typeof entry === "string") {
      resolved.enforcementLevel = levelOf(name, entry) ?? resolved.enforcementLevel;
    } else if (typeof entry === "object" && entry !== null && !Array.isArray(entry)) {
      const { enforcementLevel, ...properties } = entry as Record<string, unknown>;
      resolved.enforcementLevel = levelOf(name, enforcementLevel) ?? resolved.enforcementLevel;
      Object.assign(resolved.properties, properties);
    } else {
      problems.push(`${name}: expected an enforcement level or an object, got ${JSON.stringify(entry)}`);
    }
  }
  for (const policy of policies) {
    const schema = policy.configSchema;
    if (!schema) continue;
    const resolved = result.get(policy.name) as ResolvedConfig;
    problems.push(
      ...validateConfig(schema, resolved.properties).map((problem) => `${policy.name}: ${problem}`),
    );
  }
  if (problems.length > 0) throw new PolicyConfigError(`policy config: ${problems.join("; ")}`);
  return result;
}

/** The subset of JSON Schema the pack's configSchemas use, checked the way gojsonschema would. */
function validateConfig(schema: PolicyConfigSchema, properties: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const key of schema.required ?? []) {
    if (properties[key] === undefined) problems.push(`${key} is required`);
  }
  for (const [key, value] of Object.entries(properties)) {
    const propertySchema = schema.properties[key];
    if (propertySchema) problems.push(...validateValue(propertySchema, value, key));
  }
  return problems;
}

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function validateValue(schema: PolicyConfigJSONSchema | boolean, value: unknown, where: string): string[] {
  if (schema === true) return [];
  if (schema === false) return [`${where} is not allowed`];
  const problems: string[] = [];
  const actual = typeOf(value);
  if (schema.type !== undefined) {
    const allowed = Array.isArray(schema.type) ? schema.type : [schema.type];
    const fits = allowed.some((type) => type === actual || (type === "number" && actual === "integer"));
    if (!fits) return [`${where}: expected ${allowed.join(" or ")}, got ${JSON.stringify(value)}`];
  }
  if (
    schema.enum !== undefined &&
    !schema.enum.some((option) => JSON.stringify(option) === JSON.stringify(value))
  ) {
    problems.push(
      `${where}: ${JSON.stringify(value)} is not one of ${schema.enum.map((option) => JSON.stringify(option)).join(", ")}`,
    );
  }
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum)
      problems.push(`${where}: ${value} is below ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum)
      problems.push(`${where}: ${value} is above ${schema.maximum}`);
  }
  if (typeof value === "string") {
    if (schema.minLength !== undefined && value.length < schema.minLength) {
      problems.push(`${where}: ${JSON.stringify(value)} is shorter than ${schema.minLength} characters`);
    }
    if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value)) {
      problems.push(`${where}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
    }
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      problems.push(`${where}: expected at least ${schema.minItems} item(s)`);
    }
    if (schema.items !== undefined && !Array.isArray(schema.items)) {
      const itemSchema = schema.items;
      value.forEach((item, index) => problems.push(...validateValue(itemSchema, item, `${where}[${index}]`)));
    }
  }
  if (actual === "object") {
    const object = value as Record<string, unknown>;
    for (const key of schema.required ?? []) {
      if (object[key] === undefined) problems.push(`${where}.${key} is required`);
    }
    for (const [key, inner] of Object.entries(object)) {
      const innerSchema = schema.properties?.[key] ?? schema.additionalProperties;
      if (innerSchema !== undefined) problems.push(...validateValue(innerSchema, inner, `${where}.${key}`));
    }
  }
  return problems;
}

/** The stack resource's URN, which stack-wide verdicts are reported against. */
export function stackUrn(stack: string, project = "greenlight"): string {
  return `urn:pulumi:${stack}::${project}::pulumi:pulumi:Stack::${project}-${stack}`;
}

const EMPTY_TAGS: ReadonlyMap<string, string> = new Map();

interface PackModules {
  deserialize: DeserializeModule;
  proxy: ProxyModule;
  secret: SecretModule;
  policy: PolicyModule;
  runtime: RuntimeModule;
}

let packModules: PackModules | undefined;

/** The pack's own @pulumi/policy internals and @pulumi/pulumi runtime, loaded once. */
function pack(): PackModules {
  packModules ??= {
    deserialize: fromPack<DeserializeModule>("@pulumi/policy/deserialize"),
    proxy: fromPack<ProxyModule>("@pulumi/policy/proxy"),
    secret: fromPack<SecretModule>("@pulumi/policy/policy"),
    policy: fromPack<PolicyModule>("@pulumi/policy/policy"),
    runtime: fromPack<{ runtime: RuntimeModule }>("@pulumi/pulumi").runtime,
  };
  return packModules;
}

/**
 * Recorded inputs as a policy sees them: the pack's deserializer (secret markers become `Secret`),
 * behind the secrets-preserving proxy and the unknown-checking proxy, in the server's order.
 */
export function toPolicyProps(inputs: Record<string, unknown>): Record<string, unknown> {
  const { deserialize, proxy, secret } = pack();
  const deserialized = deserialize.deserializeProperties({ toJavaScript: () => inputs }, true);
  const raw = (deserialized as Record<string, unknown>)[proxy.getSpecialProxyTarget];
  return proxy.unknownCheckingProxy(secretsPreservingProxy(raw, secret, proxy) as Record<string, unknown>);
}

/** Runs `body` with pulumi.runtime.isDryRun() answering `preview`, as PULUMI_NODEJS_DRY_RUN does for a real pack. */
export async function withDryRun<T>(preview: boolean, body: () => Promise<T> | T): Promise<T> {
  const { runtime } = pack();
  const previous = runtime.isDryRun();
  setDryRun(runtime, preview);
  try {
    return await body();
  } finally {
    setDryRun(runtime, previous);
  }
}

/** Evaluates every enabled policy over the resources; verdicts in policy order, resources in graph order. */
export async function evaluatePolicies(input: PolicyRunInput): Promise<Verdict[]> {
  const modules = pack();
  const policies: Policies = input.policies ?? PACK;
  const configs = reconcilePolicyConfig(policies, input.policyConfig);
  const stackWide = stackUrn(input.stack, input.project);

  const isType = (type: string) => (resourceClass: unknown) => {
    const pulumiType = modules.policy.getPulumiType(resourceClass);
    if (pulumiType) return type === pulumiType;
    const isInstance = (resourceClass as { isInstance?: (value: unknown) => boolean }).isInstance;
    return typeof isInstance === "function" && isInstance({ __pulumiType: type }) === true;
  };
  const props = new Map(input.resources.map((resource) => [resource.urn, toPolicyProps(resource.inputs)]));
  const byUrn = new Map(input.resources.map((resource) => [resource.urn, resource]));

  // What the server builds for every validation, built once: policies read these, they do not write.
  const common = input.resources.map((resource) => {
    const resourceProps = props.get(resource.urn) as Record<string, unknown>;
    const providerResource = resource.provider ? byUrn.get(resource.provider) : undefined;
    const opts: PolicyResourceOptions = {
      protect: resource.protect,
      ignoreChanges: resource.ignoreChanges,
      ...(resource.deleteBeforeReplace ? { deleteBeforeReplace: true } : {}),
      aliases: [],
      customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
      additionalSecretOutputs: resource.additionalSecretOutputs,
      ...(resource.parent ? { parent: resource.parent } : {}),
    };
    return {
      type: resource.type,
      props: resourceProps,
      urn: resource.urn,
      name: resource.name,
      opts,
      isType: isType(resource.type),
      asType: (resourceClass: unknown) => (isType(resource.type)(resourceClass) ? resourceProps : undefined),
      ...(providerResource
        ? {
            provider: {
              type: providerResource.type,
              props: props.get(providerResource.urn) as Record<string, unknown>,
              urn: providerResource.urn,
              name: providerResource.name,
            },
          }
        : {}),
    };
  });

  const stackResources = new Map<string, PolicyResource>();
  for (const base of common) {
    stackResources.set(base.urn, {
      ...base,
      asType: base.asType as PolicyResource["asType"],
      dependencies: [],
      propertyDependencies: {},
    });
  }
  const lookup = (urns: string[]) =>
    urns
      .map((urn) => stackResources.get(urn))
      .filter((found): found is PolicyResource => found !== undefined);
  for (const resource of input.resources) {
    const node = stackResources.get(resource.urn) as PolicyResource;
    const parent = resource.parent ? stackResources.get(resource.parent) : undefined;
    if (parent) node.parent = parent;
    node.dependencies = lookup(resource.dependencies);
    for (const [property, urns] of Object.entries(resource.propertyDependencies)) {
      node.propertyDependencies[property] = lookup(urns);
    }
  }

  // One args object per resource for every resource policy (the server builds one per call); policies
  // run one at a time, so getConfig follows the policy at hand.
  let currentGetConfig = <T extends object>(): T => ({}) as T;
  const resourceArgs: ResourceValidationArgs[] = common.map((base) => ({
    ...base,
    asType: base.asType as ResourceValidationArgs["asType"],
    stackTags: EMPTY_TAGS,
    getConfig: <T extends object>() => currentGetConfig<T>(),
    notApplicable: throwNotApplicable,
  }));

  const verdicts: Verdict[] = [];
  await withDryRun(input.preview, async () => {
    for (const policy of policies) {
      const resolved = configs.get(policy.name) as ResolvedConfig;
      if (resolved.enforcementLevel === "disabled") continue;
      // As the server does: a violation left after remediation is mandatory.
      const level = resolved.enforcementLevel === "advisory" ? "advisory" : "mandatory";
      const properties = { ...resolved.properties };
      if (policy.configSchema?.properties.now !== undefined) properties.now = input.at.toISOString();
      // Like the server: a fresh top-level object per call, nested values shared.
      const getConfig = <T extends object>() => ({ ...properties }) as T;
      currentGetConfig = getConfig;
      const failure = (error: unknown, urn: string): Verdict | undefined => {
        if (error instanceof NotApplicableError) return undefined;
        if (error instanceof modules.proxy.UnknownValueError) {
          return {
            policy: policy.name,
            level: "advisory",
            urn,
            message: `can't run policy '${policy.name}' during preview: ${error.message}`,
          };
        }
        throw new Error(
          `policy ${policy.name} failed on ${urn}: ${error instanceof Error ? error.message : String(error)}`,
        );
      };
      const push = (urn: string, message: string) =>
        verdicts.push({ policy: policy.name, level, urn, message: message || policy.description });

      if (modules.policy.isResourcePolicy(policy)) {
        const validations = Array.isArray(policy.validateResource)
          ? policy.validateResource
          : [policy.validateResource];
        const pulumiType = Array.isArray(policy.validateResource)
          ? undefined
          : modules.policy.getPulumiType(policy.validateResource);
        let currentUrn = stackWide;
        // The server reports a resource policy's violations on the resource, whatever URN is passed.
        const reportOnResource: ReportViolation = (message) => push(currentUrn, message);
        for (const args of resourceArgs) {
          if (pulumiType && args.type !== pulumiType) continue;
          currentUrn = args.urn;
          for (const validation of validations) {
            if (typeof validation !== "function") continue;
            try {
              // Await only real promises: a microtask per resource and policy costs more than most checks.
              const pending = validation(args, reportOnResource);
              if (pending instanceof Promise) await pending;
            } catch (error) {
              const verdict = failure(error, args.urn);
              if (verdict) verdicts.push(verdict);
            }
          }
        }
      }

      if (modules.policy.isStackPolicy(policy)) {
        const pulumiType = modules.policy.getPulumiType(policy.validateStack);
        if (pulumiType && !input.resources.some((resource) => resource.type === pulumiType)) continue;
        const args: StackValidationArgs = {
          resources: [...stackResources.values()],
          stackTags: EMPTY_TAGS,
          getConfig,
          notApplicable: throwNotApplicable,
        };
        try {
          await policy.validateStack(args, (message, urn) => push(urn ?? stackWide, message));
        } catch (error) {
          const verdict = failure(error, stackWide);
          if (verdict) verdicts.push(verdict);
        }
      }
    }
  });
  return verdicts;
}

/** Tells the policies whether this is a preview, as PULUMI_NODEJS_DRY_RUN does for a real pack. */
function setDryRun(runtime: RuntimeModule, preview: boolean): void {
  if (typeof runtime._setIsDryRun !== "function") {
    throw new Error(
      "this @pulumi/pulumi has no runtime._setIsDryRun; pin @pulumi/pulumi 3.x as in policies/package.json",
    );
  }
  runtime._setIsDryRun(preview);
}
