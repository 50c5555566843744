// Which update a rollback returns to, read from `pulumi stack history`: the live update, the target (given
// with --to or the newest earlier one with another release), what failed in between, and the first
// release since the target that changed the schema incompatibly. Pure: refuses what it cannot roll back to.
import { Color } from "../../schema/types";
import { finishedAt, isSucceededUpdate, StackUpdate } from "../history/read";
import { activeRelease, releaseState, ReleaseState, shown } from "../history/state";
import { RecordedClassification, schemaBreakingRelease } from "./schema-breaking";

/** A rollback the tool will not plan; the message says why and what to do. */
export class RollbackRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RollbackRefusal";
  }
}

/** An update after the target that the rollback does not build on. */
export interface SkippedUpdate {
  version: number;
  result: string;
  startTime: string;
  message: string;
  note: string;
}

/** One end of the rollback: an update greenlight deployed, its active color and release. */
export interface DeployedUpdate {
  update: StackUpdate;
  state: ReleaseState;
  color: Color;
  release: string;
}

/** What the history says about a rollback: from where, to where, and what happened in between. */
export interface RollbackSituation {
  live: DeployedUpdate;
  target: DeployedUpdate;
  /** Updates (kind update, any result) after the target, oldest first. */
  after: StackUpdate[];
  skipped: SkippedUpdate[];
  /** The first release since the target that changed the schema incompatibly, and why it counts as such. */
  breaking?: { state: ReleaseState; release: string; why: string };
}

/** What choosing a target needs to know. */
export interface TargetRequest {
  stack: string;
  /** The stack's history, any order. */
  updates: StackUpdate[];
  /** Roll back to this version; default: the newest succeeded update before the live one with another release. */
  to?: number;
  now: Date;
  /** Refuse a target that finished longer ago than this. */
  maxAgeDays: number;
  /** Migration rehearsals' classifications from the stack outputs; they outrank greenlight:schemaBreaking. */
  classifications?: RecordedClassification[];
}

const DAY_MS = 86_400_000;

/** Days from one instant to another (fractional). */
export function daysBetween(from: Date, to: Date): number {
  return (to.getTime() - from.getTime()) / DAY_MS;
}

function requireColor(state: ReleaseState, role: string): Color {
  if (state.activeColor === undefined) {
    throw new RollbackRefusal(
      `v${state.update.version} (${role}) has no greenlight:activeColor of blue or green in its config; ` +
        "it was not deployed by greenlight, so there is nothing to compare",
    );
  }
  return state.activeColor;
}

function requireRelease(state: ReleaseState, role: string): string {
  const color = requireColor(state, role);
  const release = activeRelease(state);
  if (release === undefined) {
    throw new RollbackRefusal(
      `v${state.update.version} (${role}): greenlight:${color}Release is ${shown(state.colors[color].release)}; ` +
        "a release id must be plain config to compare releases",
    );
  }
  return release;
}

function deployed(update: StackUpdate, role: string): DeployedUpdate {
  const state = releaseState(update);
  return { update, state, color: requireColor(state, role), release: requireRelease(state, role) };
}

/** The update --to names, refused unless it is a succeeded update with another release than the live one. */
function requestedTarget(
  request: TargetRequest,
  to: number,
  history: StackUpdate[],
  live: DeployedUpdate,
): StackUpdate {
  const { stack } = request;
  const found = history.find((update) => update.version === to);
  if (found === undefined) {
    const versions = history.map((update) => update.version);
    throw new RollbackRefusal(
      `--to ${to}: no such version in the history of ${stack}` +
        (versions.length > 0 ? ` (it holds v${versions[0]}–v${versions[versions.length - 1]})` : "") +
        "; list them with `pulumi stack history`",
    );
  }
  if (!isSucceededUpdate(found)) {
    throw new RollbackRefusal(
      `--to ${to}: v${found.version} is ${found.kind === "update" ? "an update" : `a ${found.kind}`} that ` +
        `${found.result === "succeeded" ? "succeeded" : `ended ${found.result}`}; only a succeeded update is a state to roll back to`,
    );
  }
  if (found.version === live.update.version) {
    throw new RollbackRefusal(`--to ${to}: v${found.version} is the live version already; nothing to do`);
  }
  const targetRelease = requireRelease(releaseState(found), "target");
  if (targetRelease === live.release) {
    throw new RollbackRefusal(
      `--to ${to}: v${found.version} ran release ${targetRelease}, the same release as the live v${live.update.version}; ` +
        "a rollback changes the release. Pick a version with another release, or change settings with `pulumi config set`",
    );
  }
  return found;
}

/** The newest succeeded update before the live one that ran another release. */
function defaultTarget(stack: string, succeeded: StackUpdate[], live: DeployedUpdate): StackUpdate {
  // Succeeded updates that kept the live release changed settings only; rolling back passes over them.
  const earlier = succeeded
    .filter((update) => update.version < live.update.version)
    .reverse()
    .find((update) => {
      const state = releaseState(update);
      return state.activeColor !== undefined && activeRelease(state) !== live.release;
    });
  if (earlier === undefined) {
    throw new RollbackRefusal(
      `no earlier succeeded update of ${stack} ran another release than the live ${live.release} (v${live.update.version}): ` +
        "there is nothing to roll back to",
    );
  }
  return earlier;
}

function skippedNote(update: StackUpdate, live: DeployedUpdate): string {
  if (update.result === "in-progress") {
    return "still in progress (or abandoned): the rollback's `pulumi up` waits for the stack lock; `pulumi cancel` ends an abandoned one";
  }
  return update.version > live.update.version
    ? "failed after the live version: it may have changed part of the stack; the rollback's `pulumi up` converges it"
    : "failed: the rollback does not build on it";
}

/**
 * A breaking schema change is one an update introduced: the flag set on a release that differs from
 * the one live before it. Failed updates count: their migration may have run before they failed.
 */
function firstBreakingChange(
  after: StackUpdate[],
  targetRelease: string,
  classifications: RecordedClassification[] = [],
): RollbackSituation["breaking"] | undefined {
  let liveBefore = targetRelease;
  let breaking: RollbackSituation["breaking"] | undefined;
  for (const update of after) {
    const state = releaseState(update);
    const release = activeRelease(state);
    const why =
      release !== undefined && release !== liveBefore
        ? schemaBreakingRelease(state, release, classifications)
        : undefined;
    if (breaking === undefined && release !== undefined && why !== undefined)
      breaking = { state, release, why };
    if (isSucceededUpdate(update) && release !== undefined) liveBefore = release;
  }
  return breaking;
}

/** The live update: the newest succeeded `update` of a history, if any. */
export function liveUpdate(updates: StackUpdate[]): StackUpdate | undefined {
  return [...updates]
    .sort((a, b) => a.version - b.version)
    .filter(isSucceededUpdate)
    .at(-1);
}

/** Reads the live update and the target from the history, or throws RollbackRefusal. */
export function chooseTarget(request: TargetRequest): RollbackSituation {
  const { stack } = request;
  const history = [...request.updates].sort((a, b) => a.version - b.version);
  const deployments = history.filter((update) => update.kind === "update");
  const succeeded = deployments.filter(isSucceededUpdate);
  const current = liveUpdate(history);
  if (current === undefined) {
    throw new RollbackRefusal(
      `the history of ${stack} has no succeeded update: nothing is live, so there is nothing to roll back`,
    );
  }
  const live = deployed(current, "live");

  const target = deployed(
    request.to !== undefined
      ? requestedTarget(request, request.to, history, live)
      : defaultTarget(stack, succeeded, live),
    "target",
  );
  const targetAge = daysBetween(finishedAt(target.update), request.now);
  if (targetAge > request.maxAgeDays) {
    throw new RollbackRefusal(
      `v${target.update.version} finished ${targetAge.toFixed(1)} days ago (${target.update.endTime ?? target.update.startTime}), older than ` +
        `--max-age-days ${request.maxAgeDays}: its image may be gone from the registry and its backups expired. ` +
        `Check both, then pass --max-age-days ${Math.ceil(targetAge)} to accept it`,
    );
  }

  const after = deployments.filter((update) => update.version > target.update.version);
  const skipped: SkippedUpdate[] = after
    .filter((update) => update.result !== "succeeded")
    .map((update) => ({
      version: update.version,
      result: update.result,
      startTime: update.startTime,
      message: update.message,
      note: skippedNote(update, live),
    }));
  return {
    live,
    target,
    after,
    skipped,
    breaking: firstBreakingChange(after, target.release, request.classifications),
  };
}
