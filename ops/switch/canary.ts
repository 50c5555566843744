// Canary steps (Argo Rollouts' canary steps with an analysis each, Flagger's comparison with the primary):
// the new color takes `percent` % on every host at once, and over each step's window the new color is
// judged against the old one on the same proxies' logs. A breach puts weight 0 on the new color on every
// host, names the step and the figures, and fails the update. Too few requests to judge extends the step
// (Argo Rollouts' inconclusive analysis) up to CANARY_WAIT_FACTOR times its window; still too few, the
// rollout stops as inconclusive: weight 0 on the new color, its own exit code.
import { CANARY_WAIT_FACTOR } from "../../contract/canary";
import { EXIT } from "../../contract/exit-codes";
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
  /** insufficient: too few requests on a color even after waiting CANARY_WAIT_FACTOR windows. */
  verdict: Comparison["verdict"];
  /** Milliseconds of runtime commands over every host, and from the first host's weights to the last's. */
  runtimeMs: number;
  spreadMs: number;
  watchedMs: number;
  /** Milliseconds the step waited past its window for the minimum sample (0: none needed). */
  extendedMs: number;
  newer: RequestSummary;
  older: RequestSummary;
  reasons?: string[];
}

export interface CanaryAbort {
  /** The step whose judgement failed, in percent. */
  abortedAt: number;
  /** The step had too few requests to judge, even waited for: no verdict on the release. */
  inconclusive: boolean;
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
  percent: number,
): Promise<{ comparison: Comparison; watchedMs: number; extendedMs: number }> {
  const every = run.judgeEveryMs ?? 1000;
  const started = Date.now();
  const windowMs = run.canary.stepSeconds * 1000;
  const end = started + windowMs;
  const bound = started + windowMs * CANARY_WAIT_FACTOR;
  let waiting = false;
  for (;;) {
    const until = waiting ? bound : end;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(every, until - Date.now()))));
    const comparison = judgeAgainst(
      watch.summary(run.color),
      watch.summary(run.previous),
      run.canary.margins,
      run.thresholds,
    );
    const now = Date.now();
    const judged = comparison.verdict === "breach" || (now >= end && comparison.verdict === "healthy");
    if (judged || now >= bound)
      return { comparison, watchedMs: now - started, extendedMs: Math.max(0, now - end) };
    if (comparison.verdict === "insufficient" && now >= end && !waiting) {
      waiting = true;
      run.log(
        `step ${percent} %: too few requests after ${run.canary.stepSeconds} s (${comparison.reasons.join("; ")}): waiting up to ${run.canary.stepSeconds * (CANARY_WAIT_FACTOR - 1)} s more for the minimum sample`,
      );
    }
  }
}

/**
 * Runs every step below 100 %; returns their reports once all were healthy. On a failed step, aborts on
 * every host and throws StepError (exit 1; EXIT.canaryInconclusive when the step had too few requests)
 * whose report `extend` builds from the steps and the abort.
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
      const { comparison, watchedMs, extendedMs } = await judgeStep(run, watch, percent);
      const figures = describeComparison(run.color, run.previous, comparison);
      const step: CanaryStep = {
        percent,
        verdict: comparison.verdict,
        runtimeMs: move.runtimeMs,
        spreadMs: move.spreadMs,
        watchedMs,
        extendedMs,
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
          text: `canary of release ${run.release} on ${run.color} ${comparison.verdict === "insufficient" ? "inconclusive (too few requests)" : "aborted"} at step ${percent} %: weight 0 on ${run.color}, ${run.previous} serves on ${where}: ${why}`,
          fields: { measured: figures, proxy: run.proxyUrls.join(" ") },
        },
        run.env,
      );
      const inconclusive = comparison.verdict === "insufficient";
      const report = extend(steps, {
        abortedAt: percent,
        inconclusive,
        revertedTo: run.previous,
        notReverted,
        notified,
      });
      if (inconclusive) {
        throw new StepError(
          `canary inconclusive at step ${percent} %: ${why} after ${Math.round(watchedMs / 1000)} s (the step's ${run.canary.stepSeconds} s window, waited up to ${CANARY_WAIT_FACTOR} times); no verdict on the release (${figures}); weight 0 on ${run.color}, ${run.previous} serves on ${where}; release again when traffic allows, with a longer greenlight:trafficStepSeconds or a lower greenlight:guardMinRequests, or without greenlight:trafficSteps`,
          EXIT.canaryInconclusive,
          report,
        );
      }
      throw new StepError(
        `canary aborted at step ${percent} % (breach): ${why} (${figures}); weight 0 on ${run.color}, ${run.previous} serves on ${where}`,
        1,
        report,
      );
    }
    return steps;
  } finally {
    watch.close();
  }
}
