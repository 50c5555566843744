// The post-switch guard (the blue-green deployment procedures: "error rate > 5 % → rollback"; the solo
// founder's deployment process: "rollback when errors > 5 % for 5 minutes", p95 < 2 s). Its figures come
// from the proxies themselves: each proxy writes its access log into a ring buffer (LOG_RING), and the
// guard reads every ring through the control plane (the local UNIX socket, or the relay over SSH on each
// host). Nobody else can write to a ring, and nothing listens on the network for the guard, so no
// forged line can change a verdict; the count is a fixed-size tally, so no flood can grow it. One guard
// serves one proxy or every host's: the stand-alone `guard` step and the switch both call guardRelease.
import { Color, otherColor } from "../../schema/types";
import { ControlPlane, EventStream } from "../control";
import { StepError, progress } from "../lib/step";
import { NotifyResult, notifyFromStep } from "../notify";
import { LOG_RING, ProxySpec, activate, proxyPaths, proxyUrl } from "../proxy";
import {
  GuardThresholds,
  RequestSample,
  RequestSummary,
  RequestTally,
  isClientAbort,
  judge,
  parseLogLine,
} from "./requests";

/**
 * Whether a request tells about a color: one its servers answered, or one no server could take
 * (<NOSRV>: the color is down). Answers the proxy gives by itself (maintenance page: termination "P…")
 * say nothing about the release, nor do requests their client abandoned.
 */
export function tellsAbout(sample: RequestSample, color: Color): boolean {
  return (
    !sample.termination.startsWith("P") &&
    !isClientAbort(sample) &&
    (sample.server.startsWith(`${color}-`) || sample.server === "<NOSRV>")
  );
}

/** The guard's view of a color: every proxy's ring, read from the moment it opened, tallied. */
export class GuardWatch {
  readonly tally = new RequestTally();
  /** Lines read from the rings, the color's or not (what the proxies logged meanwhile). */
  linesRead = 0;
  /** Requests to the color that their client abandoned: left out of the count, reported. */
  clientAborts = 0;

  private constructor(
    readonly color: Color,
    private streams: EventStream[],
  ) {}

  /** Subscribes to every proxy's ring. Open it before traffic moves so no request goes unseen. */
  static async open(plane: ControlPlane, color: Color): Promise<GuardWatch> {
    const watch = new GuardWatch(color, []);
    watch.streams = await plane.events(LOG_RING, (_host, line) => watch.read(line));
    return watch;
  }

  private read(line: string): void {
    this.linesRead += 1;
    const sample = parseLogLine(line);
    if (sample && tellsAbout(sample, this.color)) this.tally.add(sample);
    else if (sample && isClientAbort(sample) && sample.server.startsWith(`${this.color}-`))
      this.clientAborts += 1;
  }

  close(): void {
    for (const stream of this.streams) stream.close();
  }
}

export interface GuardOptions {
  watch: GuardWatch;
  /** How long to watch, in seconds. */
  durationSeconds: number;
  thresholds: GuardThresholds;
  /** How often to judge, in milliseconds (default 1000). */
  judgeEveryMs?: number;
}

export interface GuardReport {
  verdict: "healthy" | "breach" | "insufficient";
  color: Color;
  /** Milliseconds watched before the verdict. */
  watchedMs: number;
  summary: RequestSummary;
  thresholds: GuardThresholds;
  /** Every threshold crossed, for a breach. */
  reasons?: string[];
  /** Requests to the color whose client went away (termination C…/c…): not counted. */
  clientAborts: number;
}

/** Watches until a breach (returned at once) or the end of the window. */
export async function watchGuard(options: GuardOptions): Promise<GuardReport> {
  const started = Date.now();
  const every = options.judgeEveryMs ?? 1000;
  const end = started + options.durationSeconds * 1000;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(every, end - Date.now()))));
    const judgement = judge(options.watch.tally.summary(), options.thresholds);
    const report = {
      color: options.watch.color,
      watchedMs: Date.now() - started,
      summary: judgement.summary,
      thresholds: options.thresholds,
      clientAborts: options.watch.clientAborts,
    };
    if (judgement.verdict === "breach") return { ...report, verdict: "breach", reasons: judgement.reasons };
    if (Date.now() >= end) return { ...report, verdict: judgement.verdict };
  }
}

/** One line naming the numbers, for stderr and the webhook. */
export function describeGuard(report: GuardReport): string {
  const { summary } = report;
  return (
    `${summary.requests} requests to ${report.color} in ${(report.watchedMs / 1000).toFixed(1)} s: ` +
    `error rate ${summary.errorRatePercent} % (${summary.failures} failed), p95 ${summary.p95Ms} ms`
  );
}

export interface GuardRelease {
  watch: GuardWatch;
  durationSeconds: number;
  thresholds: GuardThresholds;
  /** The color to go back to on a breach (undefined: nothing served before). */
  previous?: Color;
  /** Moves every proxy it can back to `previous`; returns the hosts it could not move, each with why. */
  revert(previous: Color): Promise<string[]>;
  /** How many proxies the guard hears and a revert moves (for the messages). */
  proxies: number;
  /** Names the release and where it serves, for the revert message. */
  release?: string;
  /** Where clients reach the proxies (for the revert message). */
  proxyUrls: string[];
  step: "switch" | "guard";
  env: NodeJS.ProcessEnv;
  log?: (message: string) => void;
}

/** What a breach did, for the step's report. */
export interface Reverted {
  guard: GuardReport;
  revertedTo: Color;
  notReverted: string[];
  notified: NotifyResult;
}

/**
 * The guard, whoever runs it: watches; on a breach moves every proxy back to `previous`, sends the revert
 * message and throws StepError (exit 1) whose report `extend` builds from what happened.
 */
export async function guardRelease(
  options: GuardRelease,
  extend: (outcome: { guard: GuardReport; reverted?: Omit<Reverted, "guard"> }) => unknown = (outcome) =>
    outcome,
): Promise<GuardReport> {
  const log = options.log ?? (() => undefined);
  const color = options.watch.color;
  const where = options.proxies > 1 ? ` on ${options.proxies} hosts` : "";
  log(`guard watches ${color}${where} for ${options.durationSeconds} s`);
  const guard = await watchGuard(options);
  log(describeGuard(guard));
  if (guard.verdict !== "breach") return guard;
  const why = (guard.reasons ?? []).join("; ");
  const previous = options.previous;
  if (previous === undefined || previous === color) {
    throw new StepError(
      `guard: ${why} (${describeGuard(guard)}); no previous color served${where}, so there is nothing to revert to`,
      1,
      extend({ guard }),
    );
  }
  const notReverted = await options.revert(previous);
  const revertedTo =
    notReverted.length === 0
      ? `${previous}${where}`
      : `${previous} on ${options.proxies - notReverted.length} of ${options.proxies} hosts, NOT on ${notReverted.join("; ")}`;
  const notified = await notifyFromStep(
    options.step,
    {
      event: "revert",
      text: `${options.release ? `release ${options.release} on ${color}` : `traffic on ${color}`} reverted to ${revertedTo}: ${why}`,
      fields: { measured: describeGuard(guard), proxy: options.proxyUrls.join(" ") },
    },
    options.env,
  );
  throw new StepError(
    `guard reverted traffic to ${revertedTo}: ${why} (${describeGuard(guard)})`,
    1,
    extend({ guard, reverted: { revertedTo: previous, notReverted, notified } }),
  );
}

/**
 * The guard on its own (the `guard` step): watches `serving` on this machine's proxy and, on a breach,
 * flips back to the other color; exit 1 with the report after a revert, 2 when the proxy does not answer.
 */
export async function guardServing(
  spec: ProxySpec,
  serving: Color,
  watch: { durationSeconds: number; thresholds: GuardThresholds },
  env: NodeJS.ProcessEnv,
): Promise<GuardReport> {
  const plane = ControlPlane.local(proxyPaths(spec.stateDir).socket, proxyUrl(spec));
  const guardWatch = await GuardWatch.open(plane, serving).catch((error: Error) => {
    throw new StepError(`${error.message}; is the proxy running?`, 2);
  });
  try {
    return await guardRelease(
      {
        watch: guardWatch,
        ...watch,
        previous: otherColor(serving),
        revert: async (previous) => {
          await activate(spec, previous, { log: (message) => progress("guard", message) });
          return [];
        },
        proxies: 1,
        proxyUrls: [proxyUrl(spec)],
        step: "guard",
        env,
        log: (message) => progress("guard", message),
      },
      ({ guard, reverted }) => ({ ...guard, ...(reverted ? { revertedTo: reverted.revertedTo } : {}) }),
    );
  } finally {
    guardWatch.close();
  }
}
