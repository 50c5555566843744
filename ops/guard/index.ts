// The post-switch guard (the blue-green deployment procedures: "error rate > 5 % → rollback"; the solo founder's deployment process: "rollback when errors > 5 %
// for 5 minutes", p95 < 2 s): reads HAProxy's own access log — status and total time of every request,
// sent over UDP to where the guard runs (127.0.0.1, or one host's private address for every host's
// proxy) — for the configured window and judges the new color's requests.
import * as dgram from "dgram";
import { Color, otherColor } from "../../schema/types";
import { StepError, progress } from "../lib/step";
import { notifyFromStep } from "../notify";
import { activate } from "../proxy/activate";
import { ProxySpec, proxyUrl } from "../proxy/spec";
import { GuardThresholds, RequestSample, RequestSummary, judge, parseLogLine, summarize } from "./requests";

/** Receives the proxy's access log. Open it before traffic moves so no request goes unseen. */
export class AccessLogListener {
  readonly samples: RequestSample[] = [];

  private constructor(
    private readonly socket: dgram.Socket,
    readonly port: number,
  ) {
    socket.on("message", (message: Buffer) => {
      for (const line of message.toString("utf8").split("\n")) {
        const sample = parseLogLine(line);
        if (sample) this.samples.push(sample);
      }
    });
  }

  /** Binds address:port (UDP; default 127.0.0.1); rejects when something else holds it. */
  static open(port: number, address = "127.0.0.1"): Promise<AccessLogListener> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket("udp4");
      socket.once("error", (error: NodeJS.ErrnoException) =>
        reject(
          new Error(
            `the guard cannot listen for the proxy's access log on udp ${address}:${port} (${error.code ?? error.message}); stop the other guard or pick --log-port`,
          ),
        ),
      );
      socket.bind(port, address, () => resolve(new AccessLogListener(socket, port)));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/**
 * The requests that tell about a color: those its servers answered, and those no server could take
 * (<NOSRV>: the color is down). Answers the proxy gives by itself (maintenance page: termination
 * "P…") say nothing about the release.
 */
export function samplesOf(samples: readonly RequestSample[], color: Color): RequestSample[] {
  return samples.filter(
    (sample) =>
      !sample.termination.startsWith("P") &&
      (sample.server.startsWith(`${color}-`) || sample.server === "<NOSRV>"),
  );
}

export interface GuardOptions {
  listener: AccessLogListener;
  /** The color that now serves. */
  color: Color;
  /** How long to watch, in seconds. */
  durationSeconds: number;
  thresholds: GuardThresholds;
  /** How often to judge, in milliseconds (default 1000). */
  judgeEveryMs?: number;
  /** Index into listener.samples where the watch starts (default: everything received so far). */
  fromSample?: number;
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
}

/** Watches until a breach (returned at once) or the end of the window. */
export async function watchGuard(options: GuardOptions): Promise<GuardReport> {
  const started = Date.now();
  const from = options.fromSample ?? 0;
  const every = options.judgeEveryMs ?? 1000;
  const end = started + options.durationSeconds * 1000;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(every, end - Date.now()))));
    const judgement = judge(
      summarize(samplesOf(options.listener.samples.slice(from), options.color)),
      options.thresholds,
    );
    const report = {
      color: options.color,
      watchedMs: Date.now() - started,
      summary: judgement.summary,
      thresholds: options.thresholds,
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

/**
 * The guard on its own (the `guard` step): watches `serving` on this machine's proxy and, on a breach,
 * flips back to the other color and sends the `revert` message; throws StepError (exit 1, with the
 * report) after a revert, exit 2 when the access log's port cannot be opened.
 */
export async function guardServing(
  spec: ProxySpec,
  serving: Color,
  watch: { durationSeconds: number; thresholds: GuardThresholds },
  env: NodeJS.ProcessEnv,
): Promise<GuardReport> {
  const listener = await AccessLogListener.open(spec.logPort, spec.logAddress).catch((error: Error) => {
    throw new StepError(error.message, 2);
  });
  try {
    const report = await watchGuard({ listener, color: serving, ...watch });
    progress("guard", describeGuard(report));
    if (report.verdict !== "breach") return report;
    const previous = otherColor(serving);
    await activate(spec, previous, { log: (message) => progress("guard", message) });
    await notifyFromStep(
      "guard",
      {
        event: "revert",
        text: `traffic reverted from ${serving} to ${previous} at ${proxyUrl(spec)}`,
        fields: { why: (report.reasons ?? []).join("; "), measured: describeGuard(report) },
      },
      env,
    );
    throw new StepError(
      `guard reverted traffic to ${previous}: ${(report.reasons ?? []).join("; ")} (${describeGuard(report)})`,
      1,
      { ...report, revertedTo: previous },
    );
  } finally {
    await listener.close();
  }
}
