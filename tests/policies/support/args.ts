// Hand-built validation args (the pulumi-policy-aws test style): a policy called directly, with the
// config defaults the engine would apply, and its violations collected.
import type {
  Policy,
  PolicyResource,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from "@pulumi/policy";
import type { RecordedResource } from "../../../tools/harness/types";
import FakeTimers from "@sinonjs/fake-timers";
import { POLICIES_DIR } from "../../../tools/policy-runner/pack";
import { ReleaseGraphOptions, releaseGraph } from "./release-graph";

export interface Violation {
  message: string;
  urn?: string;
}

export interface CallOptions {
  /** Policy config on top of the schema defaults. */
  config?: Record<string, unknown>;
  /** Judge as a preview (pulumi.runtime.isDryRun()). */
  preview?: boolean;
  /** ISO-8601 instant the clock reads during the call (the policies read only the clock). */
  at?: string;
}

/** Runs `body` with Date reading `at` (and running on from it), as npm run plan runs the pack. */
async function atInstant<T>(at: string | undefined, body: () => Promise<T>): Promise<T> {
  if (at === undefined) return body();
  const clock = FakeTimers.install({ now: Date.parse(at), toFake: ["Date"] });
  try {
    return await body();
  } finally {
    clock.uninstall();
  }
}

/** The config a policy gets when the stack's file says nothing about it: its schema defaults. */
export function configWithDefaults(
  policy: Policy,
  config: Record<string, unknown> = {},
): Record<string, unknown> {
  const defaults = Object.fromEntries(
    Object.entries(policy.configSchema?.properties ?? {})
      .filter(([, schema]) => schema.default !== undefined)
      .map(([key, schema]) => [key, schema.default]),
  );
  return { ...defaults, ...config };
}

export interface ResourceArgsOptions {
  name?: string;
  urn?: string;
  protect?: boolean;
  parent?: string;
}

export function resourceArgs(
  type: string,
  props: Record<string, unknown>,
  options: ResourceArgsOptions = {},
): Omit<ResourceValidationArgs, "getConfig"> {
  const name = options.name ?? "resource";
  return {
    type,
    props,
    urn: options.urn ?? `urn:pulumi:production::greenlight::${type}::${name}`,
    name,
    opts: {
      protect: options.protect ?? false,
      ignoreChanges: [],
      aliases: [],
      customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
      additionalSecretOutputs: [],
      ...(options.parent ? { parent: options.parent } : {}),
    },
    stackTags: new Map(),
    isType: () => false,
    asType: () => undefined,
    notApplicable: (reason?: string) => {
      throw new Error(`not applicable: ${reason ?? ""}`);
    },
  };
}

interface RuntimeModule {
  isDryRun(): boolean;
  _setIsDryRun?(value: boolean): void;
}

/**
 * Runs `body` with the pack's pulumi.runtime.isDryRun() answering `preview`, as PULUMI_NODEJS_DRY_RUN
 * does for a served pack. Test scaffolding for calling one policy directly; npm run plan serves the
 * pack in its own process instead (tools/policy-runner/engine.ts).
 */
async function withDryRun<T>(preview: boolean, body: () => Promise<T> | T): Promise<T> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the pack's own @pulumi/pulumi
  const { runtime } = require(require.resolve("@pulumi/pulumi", { paths: [POLICIES_DIR] })) as {
    runtime: RuntimeModule;
  };
  if (typeof runtime._setIsDryRun !== "function")
    throw new Error("this @pulumi/pulumi has no runtime._setIsDryRun");
  const previous = runtime.isDryRun();
  runtime._setIsDryRun(preview);
  try {
    return await body();
  } finally {
    runtime._setIsDryRun(previous);
  }
}

/** Runs a resource policy's validations on one resource; returns the messages it reported. */
export async function resourceViolations(
  policy: ResourceValidationPolicy,
  args: Omit<ResourceValidationArgs, "getConfig">,
  options: CallOptions = {},
): Promise<string[]> {
  const messages: string[] = [];
  const config = configWithDefaults(policy, options.config);
  const full: ResourceValidationArgs = { ...args, getConfig: <T extends object>() => ({ ...config }) as T };
  const validations = Array.isArray(policy.validateResource)
    ? policy.validateResource
    : [policy.validateResource];
  await atInstant(options.at, () =>
    withDryRun(options.preview ?? false, async () => {
      for (const validation of validations) {
        if (validation) await validation(full, (message) => messages.push(message));
      }
    }),
  );
  return messages;
}

/** RecordedResources as plain PolicyResources (props as recorded), parents and dependencies linked. */
export function policyResources(recorded: RecordedResource[]): PolicyResource[] {
  const byUrn = new Map<string, PolicyResource>();
  for (const resource of recorded) {
    byUrn.set(resource.urn, {
      type: resource.type,
      props: structuredClone(resource.inputs),
      urn: resource.urn,
      name: resource.name,
      opts: {
        protect: resource.protect,
        ignoreChanges: [],
        aliases: [],
        customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        additionalSecretOutputs: [],
      },
      dependencies: [],
      propertyDependencies: {},
      isType: () => false,
      asType: () => undefined,
    });
  }
  const lookup = (urns: string[]) =>
    urns.map((urn) => byUrn.get(urn)).filter((found): found is PolicyResource => found !== undefined);
  for (const resource of recorded) {
    const node = byUrn.get(resource.urn) as PolicyResource;
    if (resource.parent) node.parent = byUrn.get(resource.parent);
    node.dependencies = lookup(resource.dependencies);
    for (const [property, urns] of Object.entries(resource.propertyDependencies)) {
      node.propertyDependencies[property] = lookup(urns);
    }
  }
  return [...byUrn.values()];
}

/** Runs a stack policy over resources; returns what it reported, with URNs. */
export async function stackViolations(
  policy: StackValidationPolicy,
  resources: PolicyResource[],
  options: CallOptions = {},
): Promise<Violation[]> {
  const violations: Violation[] = [];
  const config = configWithDefaults(policy, options.config);
  await atInstant(options.at, () =>
    withDryRun(options.preview ?? false, () =>
      policy.validateStack(
        {
          resources,
          stackTags: new Map(),
          getConfig: <T extends object>() => ({ ...config }) as T,
          notApplicable: (reason?: string) => {
            throw new Error(`not applicable: ${reason ?? ""}`);
          },
        },
        (message, urn) => violations.push({ message, urn }),
      ),
    ),
  );
  return violations;
}

/**
 * A stack policy's violations on a fresh release graph (built with `options.graph`) after `change` broke
 * one thing in it, in place or by returning a changed graph.
 */
export async function violationsAfter(
  policy: StackValidationPolicy,
  change: (graph: RecordedResource[]) => RecordedResource[] | void,
  options: CallOptions & { graph?: ReleaseGraphOptions } = {},
): Promise<Violation[]> {
  const graph = releaseGraph(options.graph);
  return stackViolations(policy, policyResources(change(graph) ?? graph), {
    config: options.config,
    preview: options.preview,
  });
}

/** A copy of `object` without `keys`. */
export function omit<T extends object, K extends keyof T>(object: T, ...keys: K[]): Omit<T, K> {
  const copy = { ...object };
  for (const key of keys) delete copy[key];
  return copy;
}
