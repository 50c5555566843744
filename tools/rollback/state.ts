// What the stack runs now, as far as `pulumi stack history` tells: the program run (tools/harness, under
// the mock runtime) on the live update's configuration, then each failed or unfinished update after it
// as far as it got (../history/progress.ts). What the rollback's `pulumi up` runs is then this state
// compared with the configuration it deploys, with `plan --diff-from`'s rules (tools/plan/diff.ts).
import { StackConfig } from "../harness/stack-file";
import { ProgramRun, RecordedResource } from "../harness/types";
import { runProgram } from "../harness/run";
import { effectiveConfig, updateStackConfig } from "../history/config";
import { qualified } from "../history/state";
import { UpdateProgress, updateProgress } from "../history/progress";
import { isSucceededUpdate, StackUpdate } from "../history/read";
import { recordSnapshot, StepChange, trafficColor, updateDiff } from "../plan/steps";
import { addRan, RanRelease, ranIn } from "../../contract/release-transition";

/** Runs the program on one configuration: its resources, or why it cannot run. */
export type ProgramRunner = (config: StackConfig) => Promise<RecordedResource[] | { failed: string }>;

// One program per configuration per process: a plan runs the same configurations several times.
const runs = new Map<string, Promise<ProgramRun>>();

/** The runner the tool uses: the real program under the mock runtime, judged at `at`. */
export function programRunner(stack: string, at: Date): ProgramRunner {
  return async (config) => {
    const key = JSON.stringify([stack, at.toISOString(), config.config, [...config.secretKeys].sort()]);
    let run = runs.get(key);
    if (run === undefined) {
      run = runProgram({ stack, stackConfig: config, at: at.toISOString() });
      runs.set(key, run);
    }
    const done = await run;
    return done.ok ? done.resources : { failed: done.message.split("\n").slice(0, 2).join(" ") };
  };
}

/** The stack as the history leaves it, and how far each failed update since the target got. */
export interface ModeledState {
  /** The resources as the engine's state holds them now; undefined when the program could not run. */
  resources?: RecordedResource[];
  /** Why the state could not be modeled (a configuration the program refuses offline). */
  unavailable?: string;
  /** Each failed or unfinished update after the target, by version. */
  progress: Map<number, UpdateProgress>;
  /** The releases that went out up to the state (the release records' `ran`). */
  ran: RanRelease[];
}

/** What the history's succeeded updates took out with their data steps: both colors' releases. */
function ranInHistory(updates: StackUpdate[]): RanRelease[] {
  let ran: RanRelease[] = [];
  for (const update of updates.filter(isSucceededUpdate).sort((a, b) => a.version - b.version)) {
    const config = effectiveConfig(update);
    for (const color of ["blue", "green"]) {
      const release = config[qualified(`${color}Release`)]?.value;
      const image = config[qualified(`${color}Image`)]?.value;
      if (release !== undefined && image !== undefined) ran = addRan(ran, [{ release, image }]);
    }
  }
  return ran;
}

/** `ran` with what the state's release record shows went out. */
function ranAfter(ran: RanRelease[], state: RecordedResource[] | undefined): RanRelease[] {
  const snapshot = state && recordSnapshot(state);
  return snapshot ? addRan(ran, ranIn(snapshot)) : ran;
}

/**
 * Replays the history from the target on: a succeeded update converges every resource to its config; a
 * failed one changes what it completed (updateProgress). Only the runs the answer needs are made.
 */
export async function modelState(
  updates: StackUpdate[],
  targetVersion: number,
  project: StackConfig,
  run: ProgramRunner,
): Promise<ModeledState> {
  const deployments = updates
    .filter((update) => update.kind === "update" && update.version >= targetVersion)
    .sort((a, b) => a.version - b.version);
  const lastSucceeded = deployments.filter(isSucceededUpdate).at(-1)?.version;
  // A succeeded update's run matters when it is the last one or a failed update follows it.
  const needed = deployments.filter(
    (update, index) =>
      !isSucceededUpdate(update) ||
      update.version === lastSucceeded ||
      (deployments[index + 1] !== undefined && !isSucceededUpdate(deployments[index + 1])),
  );
  const results = new Map(
    await Promise.all(
      needed.map(async (update) => [update.version, await run(updateStackConfig(update, project))] as const),
    ),
  );
  const progress = new Map<number, UpdateProgress>();
  let state: RecordedResource[] | undefined;
  let ran = ranInHistory(updates);
  let unavailable: string | undefined;
  for (const update of deployments) {
    const result = results.get(update.version);
    if (result === undefined) continue;
    const resources = "failed" in result ? undefined : result;
    if ("failed" in result && update.version >= (lastSucceeded ?? Infinity))
      unavailable = `the program does not run on v${update.version}'s configuration offline (${result.failed})`;
    if (isSucceededUpdate(update)) {
      state = resources;
      ran = ranAfter(ran, state);
      continue;
    }
    if (state === undefined || resources === undefined) {
      progress.set(update.version, {
        version: update.version,
        result: update.result,
        known: false,
        done: [],
        partial: false,
        notReached: [],
        unknownBecause:
          "the program does not run on its configuration or the one before it offline, so its steps are unknown",
      });
      state = undefined;
      continue;
    }
    const step = updateProgress(state, resources, update);
    progress.set(update.version, step.progress);
    state = step.state;
    ran = ranAfter(ran, state);
  }
  return { resources: unavailable === undefined ? state : undefined, unavailable, progress, ran };
}

/** What one `pulumi up` of the plan runs, step by step, compared with the state before it. */
export interface UpdateRuns {
  /** The command's index in the plan. */
  index: number;
  /** The color serving before the update and after it. */
  servingBefore?: string;
  servingAfter?: string;
  steps: StepChange[];
  /** What the update must not do (the serving color's containers replaced in place). */
  refusals: string[];
}

/**
 * What each of the plan's `pulumi up` commands runs: the configuration it deploys (configsAtUpdates)
 * compared with the state before it — the modeled state for the first, the previous update's after.
 */
export async function whatUpdatesRun(
  state: RecordedResource[],
  configs: { index: number; config: StackConfig }[],
  run: ProgramRunner,
  ranBefore: RanRelease[] = [],
): Promise<UpdateRuns[] | { unavailable: string }> {
  const results = await Promise.all(configs.map(({ config }) => run(config)));
  const runs: UpdateRuns[] = [];
  let before = state;
  let ran = ranAfter(ranBefore, state);
  for (const [position, result] of results.entries()) {
    if ("failed" in result)
      return {
        unavailable: `the program does not run offline on what step ${configs[position].index + 1} deploys (${result.failed})`,
      };
    const diff = updateDiff(before, result, trafficColor(before), ran);
    runs.push({
      index: configs[position].index,
      servingBefore: diff.servingBefore,
      servingAfter: trafficColor(result),
      steps: diff.steps,
      refusals: diff.refusals,
    });
    before = result;
    ran = ranAfter(ran, result);
  }
  return runs;
}
