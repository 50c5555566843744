// What an update runs, per runbook step, and what it must refuse: the resource diff (./diff.ts) grouped
// by step, with the refusals — the serving color's containers replaced in place, a setting the provider
// would record but never apply, and a release that would go live without its backup and migration.
import { LABEL, RESOURCE, STEP, STEP_ENV, isCommandType } from "../../contract/resources";
import { skippedDataSteps, snapshotFrom } from "../../contract/release-transition";
import { rulesFor } from "../harness/readback";
import type { RecordedResource } from "../harness/types";
import { isSecretMarker } from "../harness/types";
import { ResourceChange, diffRuns } from "./diff";

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
  /** Refusals: what this update must not do. */
  refusals: string[];
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
  "host keys",
  "backup",
  "restore drill",
  "migration rehearsal",
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
    case STEP.hostKey:
      return "host keys";
    case STEP.backup:
      return "backup";
    case STEP.restoreDrill:
      return "restore drill";
    case STEP.rehearse:
      return "migration rehearsal";
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

function recordOf(resources: RecordedResource[]): RecordedResource | undefined {
  return resources.find((resource) => environmentOf(resource)[STEP_ENV.step] === STEP.record);
}

/** The active color a run serves after its update (from its release record). */
export function servingColor(resources: RecordedResource[]): string | undefined {
  const record = recordOf(resources);
  const color = record ? environmentOf(record)[STEP_ENV.color] : undefined;
  return typeof color === "string" ? color : undefined;
}

function verb(change: ResourceChange): string {
  if (change.action === "update")
    return change.stateOnly
      ? isCommandType(change.type)
        ? "keeps its report (its update command runs, the step does not)"
        : "changes in the state only"
      : isCommandType(change.type)
        ? "runs again"
        : "is updated in place";
  return change.action === "replace"
    ? "is replaced"
    : change.action === "create"
      ? "is created"
      : "is deleted";
}

/** What the update from `oldResources` to `newResources` runs, per runbook step, and what it must refuse. */
export function updateDiff(oldResources: RecordedResource[], newResources: RecordedResource[]): UpdateDiff {
  const resources = diffRuns(oldResources, newResources);
  const byUrn = new Map([...newResources, ...oldResources].map((resource) => [resource.urn, resource]));
  const steps = STEP_ORDER.map((step) => {
    const members = resources.filter((change) => {
      const resource = byUrn.get(change.urn);
      return resource !== undefined && stepOf(resource) === step;
    });
    const changed = members.filter((change) => change.action !== "same");
    return {
      step,
      resources: members.map((change) => change.name),
      runs: changed.some((change) => !change.stateOnly),
      reasons: changed.map((change) => `${change.name} ${verb(change)}: ${change.reasons.join("; ")}`),
    };
  }).filter((step) => step.resources.length > 0);

  const refusals: string[] = [];
  // The color that served before this update keeps serving until the switch: its containers must not
  // be replaced or removed by the update (seed runbooks: the old version keeps serving until the switch).
  const serving = servingColor(oldResources);
  for (const change of resources) {
    const resource = byUrn.get(change.urn);
    if (!resource || resource.type !== RESOURCE.container) continue;
    if (
      serving &&
      labelOf(resource, LABEL.color) === serving &&
      (change.action === "replace" || change.action === "delete")
    ) {
      refusals.push(
        `${change.name} of ${serving}, the color serving now, would be ${change.action === "replace" ? "replaced" : "deleted"} in place (${change.reasons.join("; ")}); ` +
          `release the change to the idle color instead: npm run release -- --stack <stack> --same-image --release <new id> (it goes out through the gate and the switch)`,
      );
    }
    // A setting the provider records but never applies would leave the state saying what does not run.
    for (const property of change.action === "update" ? change.properties : []) {
      const rule = rulesFor(resource.type).properties[property.property];
      if (property.apply !== "state" || !rule?.unapplied) continue;
      refusals.push(
        `${change.name}: ${property.change} would change in the state only — ${rule.unapplied} (${rule.source}); ` +
          `make it replace the container (replaceOnChanges) or release it to the idle color: npm run release -- --stack <stack> --same-image --release <new id>`,
      );
    }
  }
  // A new release must take its backup and migration with it (contract/release-transition.ts).
  const before = recordOf(oldResources);
  const after = recordOf(newResources);
  const previous = before && snapshotFrom(environmentOf(before));
  const current = after && snapshotFrom(environmentOf(after));
  if (previous && current) {
    const stack = environmentOf(after as RecordedResource).GREENLIGHT_STACK;
    const problem = skippedDataSteps(previous, current, typeof stack === "string" ? stack : undefined);
    if (problem) refusals.push(problem);
  }
  return { servingBefore: serving, resources, steps, refusals };
}
