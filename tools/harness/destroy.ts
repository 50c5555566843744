// The order `pulumi destroy` deletes a stack's resources in, from the recorded graph: the engine deletes
// in reverse dependency order, in antichains (resources that do not depend on one another, deleted in
// parallel), and a failed delete stops the antichains after it (pulumi/pulumi
// pkg/resource/deploy/step_generator.go ScheduleDeletes; pkg/resource/deploy/deployment_executor.go
// stops at the first failed step). So a resource is safe from a failed delete of X only when it is in a
// later antichain than X — when X depends on it.
import type { RecordedResource } from "./types";

/** The delete antichains of a destroy, first to last: each a list of resource URNs (custom resources only). */
export function destroyOrder(resources: readonly RecordedResource[]): string[][] {
  const custom = resources.filter((resource) => resource.custom);
  const urns = new Set(custom.map((resource) => resource.urn));
  // A dependency on a component is one on every custom resource inside it; a child depends on its parent's.
  const expand = (urn: string, seen = new Set<string>()): string[] => {
    if (seen.has(urn)) return [];
    seen.add(urn);
    if (urns.has(urn)) return [urn];
    return resources
      .filter((resource) => resource.parent === urn)
      .flatMap((child) => expand(child.urn, seen));
  };
  const dependencies = new Map<string, Set<string>>();
  for (const resource of custom) {
    const direct = [
      ...resource.dependencies,
      ...Object.values(resource.propertyDependencies).flat(),
      ...(resource.provider ? [resource.provider] : []),
    ];
    dependencies.set(
      resource.urn,
      new Set(direct.flatMap((urn) => expand(urn)).filter((urn) => urn !== resource.urn)),
    );
  }
  const condemned = new Set(urns);
  const antichains: string[][] = [];
  while (condemned.size > 0) {
    // Resources nothing still condemned depends on go first.
    const next = [...condemned].filter(
      (urn) => ![...condemned].some((other) => other !== urn && dependencies.get(other)?.has(urn)),
    );
    if (next.length === 0) throw new Error("destroyOrder: the recorded dependencies have a cycle");
    for (const urn of next) condemned.delete(urn);
    antichains.push(next);
  }
  return antichains;
}
