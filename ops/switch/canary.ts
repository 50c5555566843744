// Canary steps (Argo Rollouts' canary steps with an analysis each, Flagger's comparison with the primary):
// the new color takes `percent` % on every host at once, and over each step's window the new color is
// judged against the old one on the same proxies' logs. A breach — or too few requests to judge — puts
// weight 0 on the new color on every host, names the step and the figures, and fails the update.
import { Color } from "../../schema/types";
import { ControlPlane } from "../control";
import { CanaryMargins, ColorsWatch, Comparison, describeComparison, judgeAgainst } from "../guard/compare";
import { GuardThresholds, RequestSummary } from "../guard/requests";
import { StepError } from "../lib/step";
import { NotifyResult, notifyFromStep } from "../notify";
import type { WeightMove } from "../proxy";

/** The rollout's shape: steps and how long each is judged. */
export interface CanarySettings {
  /** Percentages of new requests on the new color, ascending, ending at 100. */
  steps: number[];
  /** Seconds each step below 100 % is judged. */
  stepSeconds: number;
  margins: CanaryMargins;
}

/** Moves weights on every proxy, all or nothing, and aborts on every proxy it can. */
export interface Weigher {
  weigh(color: Color, percent: number): Promise<WeightMove>;
  /** Weight 0 on `color` everywhere; returns the hosts it could not reach, each with why. */
  abort(color: Color): Promise<string[]>;
}

export interface CanaryStep {
  percent: number;
  verdict: Comparison["verdict"];
  /** Milliseconds of runtime commands over every host, and from the first host's weights to the last's. */
  runtimeMs: number;
  spreadMs: number;
  watchedMs: number;
  newer: RequestSummary;
  older: RequestSummary;
  reasons?: string[];
}

export interface CanaryAbort {
  /** The step whose judgement failed, in percent. */
  abortedAt: number;
  revertedTo: Color;
  notReverted: string[];
  notified: NotifyResult;
}

export interface CanaryRun {
  plane: ControlPlane;
  weigher: Weigher;
  color: Color;
  previous: Color;
  canary: CanarySettings;
  /** The guard's absolute thresholds: the ceiling at every step. */
  thresholds: GuardThresholds;
  release: string;
  proxyUrls: string[];
  env: NodeJS.ProcessEnv;
  log: (message: string) => void;
  /** How often a step is judged, in milliseconds (default 1000). */
  judgeEveryMs?: number;
}

/** The steps below 100 % (100 % itself is the switch's ordinary last move, then the guard). */
export function canarySteps(steps: readonly number[]): number[] {
  return steps.filter((percent) => percent < 100);
}

async function judgeStep(
  run: CanaryRun,
  watch: ColorsWatch,
): Promise<{ comparison: Comparison; watchedMs: number }> {
  const every = run.judgeEveryMs ?? 1000;
  const started = Date.now();
  const end = started + run.canary.stepSeconds * 1000;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(every, end - Date.now()))));
    const comparison = judgeAgainst(
      watch.summary(run.color),
      watch.summary(run.previous),
      run.canary.margins,
      run.thresholds,
    );
    if (comparison.verdict === "breach" || Date.now() >= end)
      return { comparison, watchedMs: Date.now() - started };
  }
}

/**
 * Runs every step below 100 %; returns their reports once all were healthy. On a failed step, aborts on
 * every host and throws StepError (exit 1) whose report `extend` builds from the steps and the abort.
 */
export async function runCanary(
  run: CanaryRun,
  extend: (steps: CanaryStep[], abort: CanaryAbort) => unknown,
): Promise<CanaryStep[]> {
  const steps: CanaryStep[] = [];
  const watch = await ColorsWatch.open(run.plane).catch((error: Error) => {
    throw new StepError(
      `the canary cannot read the proxies' access log: ${error.message}; traffic was not moved`,
      2,
    );
  });
  try {
    for (const percent of canarySteps(run.canary.steps)) {
      const move = await run.weigher.weigh(run.color, percent);
      watch.window();
      run.log(
        `step ${percent} %: ${run.color} takes ${percent} % of new requests on ${move.hosts.length} host(s) (${move.runtimeMs} ms, ${move.spreadMs} ms between the first host and the last); judging ${run.canary.stepSeconds} s against ${run.previous}`,
      );
      const { comparison, watchedMs } = await judgeStep(run, watch);
      const figures = describeComparison(run.color, run.previous, comparison);
      const step: CanaryStep = {
        percent,
        verdict: comparison.verdict,
        runtimeMs: move.runtimeMs,
        spreadMs: move.spreadMs,
        watchedMs,
        newer: comparison.newer,
        older: comparison.older,
        ...(comparison.verdict !== "healthy" ? { reasons: comparison.reasons } : {}),
      };
      steps.push(step);
      run.log(`step ${percent} %: ${comparison.verdict}: ${figures}`);
      if (comparison.verdict === "healthy") continue;
      const why = comparison.reasons.join("; ");
      const notReverted = await run.weigher.abort(run.color);
      const where =
        notReverted.length === 0
          ? `every host (${run.proxyUrls.length})`
          : `${run.proxyUrls.length - notReverted.length} of ${run.proxyUrls.length} hosts, NOT on ${notReverted.join("; ")}`;
      const notified = await notifyFromStep(
        "switch",
        {
          event: "revert",
          text: `canary of release ${run.release} on ${run.color} aborted at step ${percent} %: weight 0 on ${run.color}, ${run.previous} serves on ${where}: ${why}`,
          fields: { measured: figures, proxy: run.proxyUrls.join(" ") },
        },
        run.env,
      );
      const verdict = comparison.verdict === "breach" ? "breach" : "too few requests to judge";
      throw new StepError(
        `canary aborted at step ${percent} % (${verdict}): ${why} (${figures}); weight 0 on ${run.color}, ${run.previous} serves on ${where}`,
        1,
        extend(steps, { abortedAt: percent, revertedTo: run.previous, notReverted, notified }),
      );
    }
    return steps;
  } finally {
    watch.close();
  }
}
