// The arguments the analyzer server hands policies, built from a harness run: each resource's props
// (through the pack's deserializer and proxies), options, provider, type checks, and the whole graph with
// parents and dependencies linked for stack policies.
import type {
  PolicyResource,
  PolicyResourceOptions,
  ResourceValidationArgs,
  StackValidationArgs,
} from "@pulumi/policy";
import type { RecordedResource } from "../harness/types";
import { pack, toPolicyProps } from "./pack";

/** What a policy throws through `args.notApplicable()`: no verdict. */
export class NotApplicableError extends Error {}

function throwNotApplicable(reason?: string): never {
  throw new NotApplicableError(reason ?? "Policy does not apply");
}

const EMPTY_TAGS: ReadonlyMap<string, string> = new Map();

type GetConfig = <T extends object>() => T;

/** Everything the policies of one run are handed, built once: policies read these, they do not write. */
export interface PolicyArgs {
  /** One args object per resource, in graph order, for every resource policy (the server builds one per call). */
  resourceArgs: ResourceValidationArgs[];
  /** Points every resource's getConfig at the policy about to run (policies run one at a time). */
  useConfig(getConfig: GetConfig): void;
  /** The args of one stack policy call. */
  stackArgs(getConfig: GetConfig): StackValidationArgs;
}

/** Builds the policies' arguments over the recorded resources, as the server does for every validation. */
export function policyArgs(resources: RecordedResource[]): PolicyArgs {
  const modules = pack();
  const isType = (type: string) => (resourceClass: unknown) => {
    const pulumiType = modules.policy.getPulumiType(resourceClass);
    if (pulumiType) return type === pulumiType;
    const isInstance = (resourceClass as { isInstance?: (value: unknown) => boolean }).isInstance;
    return typeof isInstance === "function" && isInstance({ __pulumiType: type }) === true;
  };
  const props = new Map(resources.map((resource) => [resource.urn, toPolicyProps(resource.inputs)]));
  const byUrn = new Map(resources.map((resource) => [resource.urn, resource]));

  const common = resources.map((resource) => {
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
  for (const resource of resources) {
    const node = stackResources.get(resource.urn) as PolicyResource;
    const parent = resource.parent ? stackResources.get(resource.parent) : undefined;
    if (parent) node.parent = parent;
    node.dependencies = lookup(resource.dependencies);
    for (const [property, urns] of Object.entries(resource.propertyDependencies)) {
      node.propertyDependencies[property] = lookup(urns);
    }
  }

  let currentGetConfig: GetConfig = <T extends object>(): T => ({}) as T;
  const resourceArgs: ResourceValidationArgs[] = common.map((base) => ({
    ...base,
    asType: base.asType as ResourceValidationArgs["asType"],
    stackTags: EMPTY_TAGS,
    getConfig: <T extends object>() => currentGetConfig<T>(),
    notApplicable: throwNotApplicable,
  }));

  return {
    resourceArgs,
    useConfig: (getConfig) => {
      currentGetConfig = getConfig;
    },
    stackArgs: (getConfig) => ({
      resources: [...stackResources.values()],
      stackTags: EMPTY_TAGS,
      getConfig,
      notApplicable: throwNotApplicable,
    }),
  };
}
