// What an update from one configuration to another would do to each resource: the offline form of a
// pull request's `pulumi preview --diff`. The old run's read-back state (what the providers stored after
// it, tools/harness/readback) is compared with the new run's inputs, resource by resource, as the engine
// and each provider compare them:
//   - a resource only in the new run is created, one only in the old run deleted;
//   - ignoreChanges props take the old inputs' value before the provider diffs (pulumi/pulumi
//     pkg/resource/deploy/step_generator.go: processIgnoreChanges), replaceOnChanges props replace;
//   - per property, the provider decides: replace (ForceNew, a command's triggers), update in place (the
//     provider's Update applies it), or state only (recorded, never applied) — the rule and its source
//     are in tools/harness/readback;
//   - an input computed from a resource that is created, replaced or runs again (a command's stdout, a new
//     container's id, a rebuilt image's digest) is unknown until then, so it counts as changed: the
//     engine's preview shows it as "output<string>". An in-place update keeps the resource's id.
import { KEEP_REPORT_COMMAND, isCommandType } from "../../contract/resources";
import { PropertyChange, providerDiff, readBack, rulesFor } from "../harness/readback";
import type { RecordedResource } from "../harness/types";
import { isSecretMarker } from "../harness/types";

export type Action = "create" | "replace" | "update" | "delete" | "same";

/** One property the update changes, and how the provider applies it. */
export interface PropertyUpdate {
  property: string;
  /** replace, update (in place) or state (recorded only). */
  apply: PropertyChange["apply"];
  /** old → new, shortened. */
  change: string;
}

/** One resource's fate in the update. */
export interface ResourceChange {
  urn: string;
  name: string;
  type: string;
  action: Action;
  /** Why: the inputs that changed (or "new resource", "removed"). */
  reasons: string[];
  /** Per property: replace, update in place or state only, as the provider decides. */
  properties: PropertyUpdate[];
  /** An update that runs nothing: only the state changes (or, for a command, its `update` keeps the report). */
  stateOnly: boolean;
}

function show(value: unknown, from = 0): string {
  if (isSecretMarker(value)) return "[secret]";
  const shown = JSON.stringify(value);
  if (shown === undefined) return "(unset)";
  const window = from > 0 ? `…${shown.slice(from)}` : shown;
  return window.length > 60 ? `${window.slice(0, 57)}...` : window;
}

/** `old → new`, for two long strings from a little before where they start to differ. */
export function showChange(before: unknown, after: unknown): string {
  if (typeof before !== "string" || typeof after !== "string") return `${show(before)} → ${show(after)}`;
  const [a, b] = [JSON.stringify(before), JSON.stringify(after)];
  let common = 0;
  while (common < a.length && common < b.length && a[common] === b[common]) common++;
  const from = common > 30 ? common - 12 : 0;
  return `${show(before, from)} → ${show(after, from)}`;
}

/** The nested keys whose values differ, each with a short old → new. */
function changedPaths(prefix: string, before: unknown, after: unknown): string[] {
  const plain = (value: unknown) => (isSecretMarker(value) ? undefined : value);
  const [left, right] = [plain(before), plain(after)];
  if (
    left &&
    right &&
    typeof left === "object" &&
    typeof right === "object" &&
    Array.isArray(left) === Array.isArray(right)
  ) {
    const keys = [...new Set([...Object.keys(left), ...Object.keys(right)])].sort();
    const paths = keys.flatMap((key) =>
      JSON.stringify((left as Record<string, unknown>)[key]) ===
      JSON.stringify((right as Record<string, unknown>)[key])
        ? []
        : changedPaths(
            `${prefix}.${key}`,
            (left as Record<string, unknown>)[key],
            (right as Record<string, unknown>)[key],
          ),
    );
    if (paths.length > 0) return paths;
  }
  return [`${prefix}: ${showChange(before, after)}`];
}

const APPLY_TEXT: Record<PropertyChange["apply"], string> = {
  replace: "replace",
  update: "update in place",
  state: "state only",
};

/**
 * The state the old run left: what its providers stored after create (the harness records the same as
 * outputs; read back from the inputs here so each secret keeps its own marker and digest).
 */
function storedState(old: RecordedResource): Record<string, unknown> {
  return readBack(old.type, old.name, old.inputs);
}

/** The engine's comparison of one resource present in both runs. */
function compare(
  old: RecordedResource,
  next: RecordedResource,
  changedUpstream: ReadonlyMap<string, string>,
): ResourceChange {
  const base = { urn: next.urn, name: next.name, type: next.type, properties: [], stateOnly: false };
  if (!next.custom) return { ...base, action: "same", reasons: [] };
  const options = { ignoreChanges: next.ignoreChanges, replaceOnChanges: next.replaceOnChanges };
  const changes = providerDiff(
    next.type,
    { inputs: old.inputs, state: storedState(old) },
    next.inputs,
    options,
  );
  const properties: PropertyUpdate[] = changes.map((change) => ({
    property: change.property,
    apply: change.apply,
    change: changedPaths(change.property, change.before, change.after).join("; "),
  }));
  const rules = rulesFor(next.type);
  for (const [property, urns] of Object.entries(next.propertyDependencies)) {
    if (next.ignoreChanges.includes(property) || properties.some((entry) => entry.property === property))
      continue;
    const upstream = [
      ...new Set(urns.map((urn) => changedUpstream.get(urn)).filter((name) => name !== undefined)),
    ];
    if (upstream.length === 0) continue;
    // An unknown value the provider must diff: its rule decides (a ForceNew property replaces).
    const rule = rules.properties[property];
    const replace = rule?.apply === "replace" || next.replaceOnChanges.includes(property);
    properties.push({
      property,
      apply: replace ? "replace" : (rule?.apply ?? "update"),
      change: `${property}: computed from ${upstream.join(", ")}, which runs again`,
    });
  }
  if (properties.length === 0) return { ...base, action: "same", reasons: [] };
  const replaces = properties.some((entry) => entry.apply === "replace");
  // A once-per-release step's update prints its last report again: the step itself does not run.
  const keepsReport = isCommandType(next.type) && next.inputs.update === KEEP_REPORT_COMMAND;
  const stateOnly = !replaces && (keepsReport || properties.every((entry) => entry.apply === "state"));
  return {
    ...base,
    action: replaces ? "replace" : "update",
    properties,
    stateOnly,
    reasons: properties.map((entry) => `${entry.change} (${APPLY_TEXT[entry.apply]})`),
  };
}

/** Whether what other resources read of this one (an id, a digest, a command's stdout) changes. */
function changesOutputs(change: ResourceChange, resource: RecordedResource): boolean {
  if (change.action === "create" || change.action === "replace") return true;
  if (change.action !== "update" || change.stateOnly) return false;
  return (rulesFor(resource.type).outputsChangedByUpdate ?? []).length > 0;
}

/** Compares the old run's state with the new run's inputs, in the new run's order (deletions last). */
export function diffRuns(
  oldResources: RecordedResource[],
  newResources: RecordedResource[],
): ResourceChange[] {
  const oldByUrn = new Map(oldResources.map((resource) => [resource.urn, resource]));
  const newUrns = new Set(newResources.map((resource) => resource.urn));
  const changedUpstream = new Map<string, string>();
  const changes: ResourceChange[] = [];
  for (const resource of newResources) {
    const old = oldByUrn.get(resource.urn);
    const change: ResourceChange = old
      ? compare(old, resource, changedUpstream)
      : {
          urn: resource.urn,
          name: resource.name,
          type: resource.type,
          action: "create",
          reasons: ["new resource"],
          properties: [],
          stateOnly: false,
        };
    if (resource.custom && changesOutputs(change, resource)) changedUpstream.set(resource.urn, resource.name);
    changes.push(change);
  }
  for (const resource of oldResources) {
    if (!newUrns.has(resource.urn))
      changes.push({
        urn: resource.urn,
        name: resource.name,
        type: resource.type,
        action: "delete",
        reasons: ["removed"],
        properties: [],
        stateOnly: false,
      });
  }
  return changes;
}
