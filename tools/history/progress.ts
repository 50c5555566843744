// How far a failed update got, from what the history recorded of it and the program's own graph, with
// the rules `npm run plan --diff-from` uses (tools/plan/diff.ts, steps.ts). The engine counts only the steps that
// completed in an update's resourceChanges, a replacement once (pulumi/pulumi pkg/engine/update.go
// updateActions.OnResourceStepPost; pkg/resource/deploy/step.go Logical), and records them for a
// failed update too (pkg/backend/diy/backend.go: UpdateInfo{Result: failed, ResourceChanges}). A
// failed step keeps its old inputs in the state (update.go: a partially-failed update saves the old
// inputs), so the next update runs it again. greenlight's steps run in the runbook's order because the
// graph says so: the steps that completed are the longest prefix of that order the counts account for.
// Pure.
import type { RecordedResource } from "../harness/types";
import { diffRuns, ResourceChange } from "../plan/diff";
import { STEP_ORDER, stepOf } from "../plan/steps";
import { StackUpdate } from "./read";

type Op = "create" | "update" | "replace" | "delete";
const OPS: readonly Op[] = ["create", "update", "replace", "delete"];
type Counts = Record<Op, number>;

/** The step the switch and its guard are: a failed update never leaves traffic moved (it reverts). */
export const SWITCH_STEP = "switch and guard";
/** Removals: the engine deletes what the program no longer registers after everything else. */
const REMOVALS = "removals";

/** What one failed (or unfinished) update did before it stopped. */
export interface UpdateProgress {
  version: number;
  result: string;
  /** The history told how far it got; false: taken as having run every step before the switch. */
  known: boolean;
  /** The steps it completed, in the runbook's order. */
  done: string[];
  /** The step it stopped at (it failed there, or the update ended there). */
  stoppedAt?: string;
  /** Some of stoppedAt's resources changed before it stopped (a color on some hosts). */
  partial: boolean;
  /** Steps it would have run after the one it stopped at. */
  notReached: string[];
  /** Why it is not known, when it is not. */
  unknownBecause?: string;
}

/** One runbook step's changes in an update. */
export interface Phase {
  step: string;
  changes: ResourceChange[];
}

function count(changes: readonly ResourceChange[]): Counts {
  const counts: Counts = { create: 0, update: 0, replace: 0, delete: 0 };
  for (const change of changes) if (change.action !== "same") counts[change.action]++;
  return counts;
}

function add(a: Counts, b: Counts): Counts {
  return Object.fromEntries(OPS.map((op) => [op, a[op] + b[op]])) as Counts;
}

function fits(part: Counts, whole: Counts): boolean {
  return OPS.every((op) => part[op] <= whole[op]);
}

function minus(a: Counts, b: Counts): Counts {
  return Object.fromEntries(OPS.map((op) => [op, a[op] - b[op]])) as Counts;
}

/**
 * The update's changes grouped by runbook step, in order, removals last; a resource outside the steps
 * (a role, a bucket, a host's image) joins the first step that depends on it, or none (`free`).
 */
export function updatePhases(
  before: RecordedResource[],
  attempted: RecordedResource[],
): { ordered: Phase[]; free: Phase } {
  const changes = diffRuns(before, attempted).filter((change) => change.action !== "same");
  const byUrn = new Map([...before, ...attempted].map((resource) => [resource.urn, resource]));
  const dependencies = new Map(attempted.map((resource) => [resource.urn, resource.dependencies]));
  const closure = (urn: string, seen = new Set<string>()): Set<string> => {
    for (const next of dependencies.get(urn) ?? []) {
      if (seen.has(next)) continue;
      seen.add(next);
      closure(next, seen);
    }
    return seen;
  };
  const stepIndex = new Map<string, number>();
  for (const resource of attempted) {
    const step = stepOf(resource);
    if (step === undefined) continue;
    const index = STEP_ORDER.indexOf(step);
    for (const urn of [resource.urn, ...closure(resource.urn)])
      stepIndex.set(urn, Math.min(stepIndex.get(urn) ?? Infinity, index));
  }
  const ordered: Phase[] = STEP_ORDER.map((step) => ({ step, changes: [] as ResourceChange[] }));
  const removals: Phase = { step: REMOVALS, changes: [] };
  const free: Phase = { step: "other", changes: [] };
  for (const change of changes) {
    const own = byUrn.get(change.urn);
    const step = own ? stepOf(own) : undefined;
    const index = step !== undefined ? STEP_ORDER.indexOf(step) : stepIndex.get(change.urn);
    if (change.action === "delete") removals.changes.push(change);
    else if (index === undefined || index === Infinity) free.changes.push(change);
    else ordered[index].changes.push(change);
  }
  return { ordered: [...ordered, removals].filter((phase) => phase.changes.length > 0), free };
}

/** The completed-step counts an update recorded, or why they cannot be used. */
function recordedCounts(update: StackUpdate): Counts | string {
  if (update.result === "in-progress")
    return "it is still in progress, or was abandoned without an end (no counts of what completed)";
  if (update.resourceChanges === undefined) return "the history holds no resourceChanges for it";
  const counts: Counts = { create: 0, update: 0, replace: 0, delete: 0 };
  for (const [op, number] of Object.entries(update.resourceChanges))
    if ((OPS as readonly string[]).includes(op)) counts[op as Op] = number;
  return counts;
}

/** How far a failed update got and the state it left (resources as the engine's state holds them). */
export function updateProgress(
  before: RecordedResource[],
  attempted: RecordedResource[],
  update: StackUpdate,
): { progress: UpdateProgress; state: RecordedResource[] } {
  const { ordered, free } = updatePhases(before, attempted);
  const recorded = recordedCounts(update);
  const base = { version: update.version, result: update.result };
  let doneCount: number | undefined;
  let partial = false;
  let unknownBecause = typeof recorded === "string" ? recorded : undefined;
  if (typeof recorded !== "string") {
    let prefix: Counts = { create: 0, update: 0, replace: 0, delete: 0 };
    const prefixes = [prefix];
    for (const phase of ordered) prefixes.push((prefix = add(prefix, count(phase.changes))));
    // The longest prefix of completed steps the counts hold, the rest explained by independent resources
    // and by part of the step it stopped at.
    for (let k = ordered.length; k >= 0 && doneCount === undefined; k--) {
      if (!fits(prefixes[k], recorded)) continue;
      const left = minus(recorded, prefixes[k]);
      const next = k < ordered.length ? count(ordered[k].changes) : undefined;
      if (fits(left, add(count(free.changes), next ?? count([])))) {
        doneCount = k;
        partial = next !== undefined && !fits(left, count(free.changes));
      }
    }
    if (doneCount === undefined)
      unknownBecause = `its recorded changes (${OPS.map((op) => `${op} ${recorded[op]}`).join(", ")}) fit no prefix of the steps it would run`;
  }
  const known = doneCount !== undefined;
  // Not known: the worst case for what still runs warm — every step before the switch ran.
  const switchAt = ordered.findIndex((phase) => phase.step === SWITCH_STEP || phase.step === REMOVALS);
  const completed = doneCount ?? (switchAt < 0 ? ordered.length : switchAt);
  const stopped = ordered[completed];
  const progress: UpdateProgress = {
    ...base,
    known,
    done: ordered.slice(0, completed).map((phase) => phase.step),
    stoppedAt: stopped?.step,
    partial,
    notReached: ordered.slice(completed + 1).map((phase) => phase.step),
    unknownBecause,
  };
  // The state: what completed (and, of a step stopped halfway, all of it: the worst case) as attempted.
  const changed = new Set(
    [...ordered.slice(0, completed), ...(partial && stopped ? [stopped] : []), free].flatMap((phase) =>
      phase.changes.map((change) => change.urn),
    ),
  );
  const state = [
    ...attempted.filter((resource) => changed.has(resource.urn)),
    ...before.filter((resource) => !changed.has(resource.urn)),
  ];
  // Keep the program's order where it can: attempted's order for both kinds.
  const order = new Map(attempted.map((resource, index) => [resource.urn, index]));
  state.sort((a, b) => (order.get(a.urn) ?? Infinity) - (order.get(b.urn) ?? Infinity));
  return { progress, state };
}

/** How far a failed update got, in one sentence. */
export function describeProgress(progress: UpdateProgress): string {
  const stopped =
    progress.stoppedAt === undefined
      ? ""
      : progress.stoppedAt === "switch and guard"
        ? "stopped at its switch and guard: traffic did not move, or the guard moved it back"
        : `stopped at its ${progress.stoppedAt}${progress.partial ? " halfway" : ""}`;
  if (!progress.known)
    return `cannot tell how far it got (${progress.unknownBecause}): taken as having run every step before the switch`;
  if (progress.done.length === 0)
    return `changed nothing: it stopped at its first step (${progress.stoppedAt ?? "none"}), as when a policy or the configuration refuses an update`;
  return [`ran ${progress.done.join(", ")}`, stopped].filter(Boolean).join("; ");
}
