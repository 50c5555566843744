// Hand-built validation args (the pulumi-policy-aws test style): a policy called directly, with the
// config defaults the engine would apply, and its violations collected.
import type {
  Policy,
  PolicyResource,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from "@pulumi/policy";
import type { RecordedResource } from "../../tools/harness/types";
import { toPolicyProps, withDryRun } from "../../tools/policy-runner/pack";
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
  /**
   * Hand the props as the runner does (secret markers become Secret behind the proxies); otherwise they
   * are plain objects, as the engine's validation path hands them (secrets unwrapped).
   */
  secretAware?: boolean;
}

export function resourceArgs(
  type: string,
  props: Record<string, unknown>,
  options: ResourceArgsOptions = {},
): Omit<ResourceValidationArgs, "getConfig"> {
  const name = options.name ?? "resource";
  const handed = options.secretAware ? toPolicyProps(props) : props;
  return {
    type,
    props: handed,
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
  await withDryRun(options.preview ?? false, async () => {
    for (const validation of validations) {
      if (validation) await validation(full, (message) => messages.push(message));
    }
  });
  return messages;
}

/** RecordedResources as plain PolicyResources (props as recorded), parents and dependencies linked. */
export function policyResources(
  recorded: RecordedResource[],
  options: { secretAware?: boolean } = {},
): PolicyResource[] {
  const byUrn = new Map<string, PolicyResource>();
  for (const resource of recorded) {
    byUrn.set(resource.urn, {
      type: resource.type,
      props: options.secretAware ? toPolicyProps(resource.inputs) : structuredClone(resource.inputs),
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
  await withDryRun(options.preview ?? false, () =>
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
