// What an update from one configuration to another would run, step by step: the offline form of a pull
// request's `pulumi preview --diff`. Two harness runs of the program (old and new stack config) are
// compared resource by resource, as the engine compares a program's goal with the last state:
//   - a resource only in the new run is created, one only in the old run deleted;
//   - ignoreChanges props take the old value before comparing (pulumi/pulumi
//     pkg/resource/deploy/step_generator.go: processIgnoreChanges);
//   - a command (@pulumi/command 1.x) runs again on any input change: a change of `triggers` replaces it,
//     any other input change updates it, which without an `update` command runs `create` again
//     (pulumi/pulumi-command provider/pkg/provider/common/inputs.go, local/commandController.go);
//   - a container whose inputs change is replaced (the docker provider recreates a container for any
//     change to what the container runs with);
//   - an input computed from a resource that runs again (a command's stdout, a new container's id) is
//     unknown until then, so it counts as changed: the engine's preview shows it as "output<string>".
import { LABEL, STEP, STEP_ENV, isCommandType } from "../../contract/resources";
import { RESOURCE } from "../../contract/resources";
import type { RecordedResource } from "../harness/types";
import { isSecretMarker } from "../harness/types";

export type Action = "create" | "replace" | "update" | "delete" | "same";

/** One resource's fate in the update. */
export interface ResourceChange {
  urn: string;
  name: string;
  type: string;
  action: Action;
  /** Why: the inputs that changed (or "new resource", "removed"). */
  reasons: string[];
}

/** One runbook step: whether this update runs it, and why. */
export interface StepChange {
  step: string;
  /** The step's resource names. */
  resources: string[];
  runs: boolean;
  reasons: string[];
}

export interface UpdateDiff {
  /** The color serving before the update (the old configuration's active color). */
  servingBefore?: string;
  resources: ResourceChange[];
  steps: StepChange[];
  /** Refusals: what this update must not do (the serving color replaced in place). */
  refusals: string[];
}

/** A recorded value as comparable text; secrets compare by their (placeholder-derived) content. */
function text(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    isSecretMarker(inner) ? { secret: inner.value } : inner,
  );
}

function show(value: unknown, from = 0): string {
  if (isSecretMarker(value)) return "[secret]";
  const shown = JSON.stringify(value);
  if (shown === undefined) return "(unset)";
  const window = from > 0 ? `…${shown.slice(from)}` : shown;
  return window.length > 60 ? `${window.slice(0, 57)}...` : window;
}

/** `old → new`, for two long strings from a little before where they start to differ. */
function showChange(before: unknown, after: unknown): string {
  if (typeof before !== "string" || typeof after !== "string") return `${show(before)} → ${show(after)}`;
  const [a, b] = [JSON.stringify(before), JSON.stringify(after)];
  let common = 0;
  while (common < a.length && common < b.length && a[common] === b[common]) common++;
  const from = common > 30 ? common - 12 : 0;
  return `${show(before, from)} → ${show(after, from)}`;
}

/** The top-level input keys whose values differ, with a short old → new for each. */
function changedInputs(old: Record<string, unknown>, next: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(old), ...Object.keys(next)])].sort();
  const changed: string[] = [];
  for (const key of keys) {
    if (text(old[key]) === text(next[key])) continue;
    const before = old[key];
    const after = next[key];
    if (
      before &&
      after &&
      typeof before === "object" &&
      typeof after === "object" &&
      !isSecretMarker(before) &&
      !isSecretMarker(after)
    ) {
      const inner = changedInputs(before as Record<string, unknown>, after as Record<string, unknown>);
      changed.push(...inner.map((entry) => `${key}.${entry}`));
    } else {
      changed.push(`${key}: ${showChange(before, after)}`);
    }
  }
  return changed;
}

/** The engine's comparison of one resource present in both runs. */
function compare(
  old: RecordedResource,
  next: RecordedResource,
  changedUpstream: ReadonlyMap<string, string>,
): ResourceChange {
  const base = { urn: next.urn, name: next.name, type: next.type };
  if (!next.custom) return { ...base, action: "same", reasons: [] };
  const oldInputs = old.inputs;
  const newInputs = { ...next.inputs };
  for (const property of next.ignoreChanges) {
    if (property in oldInputs) newInputs[property] = oldInputs[property];
    else delete newInputs[property];
  }
  const reasons = changedInputs(oldInputs, newInputs);
  for (const [property, urns] of Object.entries(next.propertyDependencies)) {
    if (next.ignoreChanges.includes(property)) continue;
    const upstream = urns
      .map((urn) => changedUpstream.get(urn))
      .filter((name): name is string => name !== undefined);
    if (upstream.length > 0)
      reasons.push(`${property}: computed from ${[...new Set(upstream)].join(", ")}, which runs again`);
  }
  if (reasons.length === 0) return { ...base, action: "same", reasons };
  if (isCommandType(next.type)) {
    const replaces = reasons.some((reason) => reason.startsWith("triggers"));
    return { ...base, action: replaces ? "replace" : "update", reasons };
  }
  return { ...base, action: next.type === RESOURCE.container ? "replace" : "update", reasons };
}

/** Compares the old run with the new one, in the new run's order (deletions last). */
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
        };
    if (change.action !== "same" && resource.custom) changedUpstream.set(resource.urn, resource.name);
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
      });
  }
  return changes;
}

function environmentOf(resource: RecordedResource): Record<string, unknown> {
  const environment = resource.inputs.environment;
  return environment && typeof environment === "object" && !isSecretMarker(environment)
    ? (environment as Record<string, unknown>)
    : {};
}

function labelOf(resource: RecordedResource, label: string): string | undefined {
  const labels = resource.inputs.labels;
  if (!Array.isArray(labels)) return undefined;
  return (labels as { label: string; value: string }[]).find((entry) => entry.label === label)?.value;
}

/** The runbook's order of steps, and which step a resource belongs to. */
export const STEP_ORDER = [
  "record",
  "backup",
  "restore drill",
  "migration",
  "images",
  "blue containers",
  "green containers",
  "health gate",
  "switch and guard",
];

export function stepOf(resource: RecordedResource): string | undefined {
  if (resource.type === RESOURCE.container) {
    const color = labelOf(resource, LABEL.color);
    return color ? `${color} containers` : undefined;
  }
  if (!isCommandType(resource.type)) return undefined;
  switch (environmentOf(resource)[STEP_ENV.step]) {
    case STEP.record:
      return "record";
    case STEP.backup:
      return "backup";
    case STEP.restoreDrill:
      return "restore drill";
    case STEP.migrate:
      return "migration";
    case STEP.healthGate:
      return "health gate";
    case STEP.switch:
      return "switch and guard";
    default:
      return /-image$/.test(resource.name) ? "images" : undefined;
  }
}

/** The active color a run serves after its update (from its release record). */
export function servingColor(resources: RecordedResource[]): string | undefined {
  const record = resources.find((resource) => environmentOf(resource)[STEP_ENV.step] === STEP.record);
  const color = record ? environmentOf(record)[STEP_ENV.color] : undefined;
  return typeof color === "string" ? color : undefined;
}

/**
 * The color traffic is on in a state: the color of the switch the state holds. A failed update's
 * release record may already name the next color while its switch never ran (or reverted).
 */
export function trafficColor(resources: RecordedResource[]): string | undefined {
  const switchStep = resources.find((resource) => environmentOf(resource)[STEP_ENV.step] === STEP.switch);
  const color = switchStep ? environmentOf(switchStep)[STEP_ENV.color] : undefined;
  return typeof color === "string" ? color : servingColor(resources);
}

/**
 * What the update from `oldResources` to `newResources` runs, per runbook step, and what it must refuse.
 * `serving` is the color serving before it (default: the old configuration's active color).
 */
export function updateDiff(
  oldResources: RecordedResource[],
  newResources: RecordedResource[],
  serving = servingColor(oldResources),
): UpdateDiff {
  const resources = diffRuns(oldResources, newResources);
  const all = [...newResources, ...oldResources];
  const byUrn = new Map(all.map((resource) => [resource.urn, resource]));
  const steps = STEP_ORDER.map((step) => {
    const members = resources.filter((change) => {
      const resource = byUrn.get(change.urn);
      return resource !== undefined && stepOf(resource) === step;
    });
    const running = members.filter((change) => change.action !== "same");
    return {
      step,
      resources: members.map((change) => change.name),
      runs: running.length > 0,
      reasons: running.map(
        (change) =>
          `${change.name} ${change.action === "update" ? "runs again" : change.action === "replace" ? "is replaced" : change.action === "create" ? "is created" : "is deleted"}: ${change.reasons.join("; ")}`,
      ),
    };
  }).filter((step) => step.resources.length > 0);

  // The color that served before this update keeps serving until the switch: its containers must not
  // be replaced or removed by the update (seed runbooks: the old version keeps serving until the switch).
  const refusals: string[] = [];
  if (serving) {
    for (const change of resources) {
      const resource = byUrn.get(change.urn);
      if (!resource || resource.type !== RESOURCE.container || labelOf(resource, LABEL.color) !== serving)
        continue;
      if (change.action === "replace" || change.action === "delete") {
        refusals.push(
          `${change.name} of ${serving}, the color serving now, would be ${change.action === "replace" ? "replaced" : "deleted"} in place (${change.reasons.join("; ")}); ` +
            `release the change to the idle color instead: npm run release -- --stack <stack> --same-image --release <new id> (it goes out through the gate and the switch)`,
        );
      }
    }
  }
  return { servingBefore: serving, resources, steps, refusals };
}
