// Reading the resource graph the way the components describe it (lib/contract.ts): which command is
// which step, and what a resource depends on, directly or through components.
import { STEP_ENV, StepName, isCommandType } from "../../contract/resources";

/** What graph helpers need of a resource; PolicyResource satisfies it. */
export interface GraphNode {
  type: string;
  urn: string;
  name: string;
  props: Record<string, unknown>;
  parent?: GraphNode;
  dependencies: GraphNode[];
}

const environments = new WeakMap<object, Readonly<Record<string, string>>>();

/**
 * The string entries of a command's `environment` (secret entries read through the analyzer's proxy).
 * Remembered per props object: several policies read the same commands, and proxied reads are slow.
 */
export function commandEnvironment(
  resource: Pick<GraphNode, "type" | "props">,
): Readonly<Record<string, string>> {
  if (!isCommandType(resource.type)) return {};
  const known = environments.get(resource.props);
  if (known) return known;
  const environment = resource.props.environment;
  const result: Record<string, string> = {};
  if (typeof environment === "object" && environment !== null) {
    for (const [name, value] of Object.entries(environment as Record<string, unknown>)) {
      if (typeof value === "string") result[name] = value;
    }
  }
  environments.set(resource.props, result);
  return result;
}

/** A step command found in the graph, with its environment. */
export interface FoundStep<T extends GraphNode> {
  resource: T;
  env: Readonly<Record<string, string>>;
}

/** Every command of the given step, with its environment. */
export function findSteps<T extends GraphNode>(resources: readonly T[], step: StepName): FoundStep<T>[] {
  const found: FoundStep<T>[] = [];
  for (const resource of resources) {
    const env = commandEnvironment(resource);
    if (env[STEP_ENV.step] === step) found.push({ resource, env });
  }
  return found;
}

/** Children of each component, by the component's URN. */
export function childrenIndex<T extends GraphNode>(resources: readonly T[]): Map<string, T[]> {
  const index = new Map<string, T[]>();
  for (const resource of resources) {
    const parent = resource.parent?.urn;
    if (parent === undefined) continue;
    const siblings = index.get(parent);
    if (siblings) siblings.push(resource);
    else index.set(parent, [resource]);
  }
  return index;
}

/**
 * Everything `resource` waits for before it runs: its dependencies and theirs; all of a component it
 * depends on (a dependency on a component is one on everything inside it); and its ancestors' own
 * dependencies (the Node.js SDK registers a child only after its parent, and the parent only after
 * the parent's dependsOn). Siblings do not count: a child does not wait for them.
 */
export function dependencyClosure<T extends GraphNode>(
  resource: T,
  children: ReadonlyMap<string, T[]>,
): Set<T> {
  const closure = new Set<T>();
  walkDependencies(resource, children, (node) => {
    closure.add(node);
    return false;
  });
  return closure;
}

/** The commands of the given step that `resource` waits for (as dependencyClosure counts it). */
export function awaitedSteps<T extends GraphNode>(
  resource: T,
  children: ReadonlyMap<string, T[]>,
  step: StepName,
): FoundStep<T>[] {
  return findSteps([...dependencyClosure(resource, children)], step);
}

/** Whether `resource` waits (as dependencyClosure counts it) for any of `targets`; stops at the first. */
export function waitsForAny<T extends GraphNode>(
  resource: T,
  children: ReadonlyMap<string, T[]>,
  targets: ReadonlySet<T>,
): boolean {
  return walkDependencies(resource, children, (node) => targets.has(node));
}

/** Visits what `resource` waits for, each node once, until `stop` returns true; says whether it did. */
function walkDependencies<T extends GraphNode>(
  resource: T,
  children: ReadonlyMap<string, T[]>,
  stop: (node: T) => boolean,
): boolean {
  const whole = new Set<T>();
  const registered = new Set<T>();
  const queue: { node: T; whole: boolean }[] = [];
  let stopped = false;
  const visit = (node: T | undefined, wholeNode: boolean) => {
    if (stopped || node === undefined || node === resource || whole.has(node)) return;
    if (!wholeNode && registered.has(node)) return;
    const first = !whole.has(node) && !registered.has(node);
    (wholeNode ? whole : registered).add(node);
    if (first && stop(node)) stopped = true;
    queue.push({ node, whole: wholeNode });
  };
  for (const dependency of resource.dependencies as T[]) visit(dependency, true);
  visit(resource.parent as T | undefined, false);
  while (queue.length > 0 && !stopped) {
    const { node, whole: wholeNode } = queue.pop() as { node: T; whole: boolean };
    for (const dependency of node.dependencies as T[]) visit(dependency, true);
    visit(node.parent as T | undefined, false);
    if (wholeNode) for (const child of children.get(node.urn) ?? []) visit(child, true);
  }
  return stopped;
}

/** A resource's name as violations print it: "<name> (<type>)". */
export function label(resource: Pick<GraphNode, "name" | "type">): string {
  return `${resource.name} (${resource.type})`;
}
