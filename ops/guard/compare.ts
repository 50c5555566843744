// The canary's judge: the new color against the old one over the same window, from the same proxies'
// own access-log rings (the guard's source), per color. Relative (error rate and p95 of new vs old, a
// margin, a minimum sample on each side) with the guard's absolute thresholds still as a ceiling, so a
// slow day for both colors does not abort a good release and a bad release cannot hide behind a bad old one.
import { COLORS, Color } from "../../schema/types";
import { ControlPlane, EventStream } from "../control";
import { LOG_RING } from "../proxy";
import {
  GuardThresholds,
  RequestSummary,
  RequestTally,
  isClientAbort,
  judge,
  parseLogLine,
} from "./requests";

/** How far the new color may be from the old before a step fails. */
export interface CanaryMargins {
  /** Error-rate points the new color may be above the old one (e.g. 1: 1.4 % vs 0.5 % passes). */
  errorRatePoints: number;
  /** Percent the new color's p95 may be above the old one's. */
  p95Percent: number;
  /** Milliseconds of p95 difference below which no ratio counts (sub-millisecond noise). */
  p95FloorMs: number;
  /** Requests each color needs in the window before it is judged. */
  minRequests: number;
}

/** Both colors' requests since the window opened, from every proxy's ring. */
export class ColorsWatch {
  private tallies = { blue: new RequestTally(), green: new RequestTally() };
  /** Milliseconds since epoch when the current window opened. */
  openedAt = Date.now();

  private constructor(private streams: EventStream[]) {}

  /** Subscribes to every proxy's ring; open it before the first weight moves. */
  static async open(plane: ControlPlane): Promise<ColorsWatch> {
    const watch = new ColorsWatch([]);
    watch.streams = await plane.events(LOG_RING, (_host, line) => watch.read(line));
    return watch;
  }

  private read(line: string): void {
    const sample = parseLogLine(line);
    // Only requests a color's server answered: the proxy's own answers and client aborts say nothing.
    if (!sample || sample.termination.startsWith("P") || isClientAbort(sample)) return;
    const color = COLORS.find((candidate) => sample.server.startsWith(`${candidate}-`));
    if (color) this.tallies[color].add(sample);
  }

  /** Starts a new window: both colors' counts from zero. */
  window(): void {
    this.tallies = { blue: new RequestTally(), green: new RequestTally() };
    this.openedAt = Date.now();
  }

  summary(color: Color): RequestSummary {
    return this.tallies[color].summary();
  }

  close(): void {
    for (const stream of this.streams) stream.close();
  }
}

export type Comparison =
  | { verdict: "insufficient"; newer: RequestSummary; older: RequestSummary; reasons: string[] }
  | { verdict: "healthy"; newer: RequestSummary; older: RequestSummary }
  | { verdict: "breach"; newer: RequestSummary; older: RequestSummary; reasons: string[] };

/** Judges the new color's window against the old color's: every margin crossed, and the ceiling. */
export function judgeAgainst(
  newer: RequestSummary,
  older: RequestSummary,
  margins: CanaryMargins,
  ceiling: GuardThresholds,
): Comparison {
  const short = [
    ...(newer.requests < margins.minRequests
      ? [`the new color answered ${newer.requests} requests (needs ${margins.minRequests})`]
      : []),
    ...(older.requests < margins.minRequests
      ? [`the old color answered ${older.requests} requests (needs ${margins.minRequests})`]
      : []),
  ];
  if (short.length > 0) return { verdict: "insufficient", newer, older, reasons: short };
  const reasons: string[] = [];
  const absolute = judge(newer, { ...ceiling, minRequests: margins.minRequests });
  if (absolute.verdict === "breach") reasons.push(...absolute.reasons);
  if (newer.errorRatePercent > older.errorRatePercent + margins.errorRatePoints) {
    reasons.push(
      `error rate ${newer.errorRatePercent} % (${newer.failures} of ${newer.requests}) against the old color's ${older.errorRatePercent} % (${older.failures} of ${older.requests}) is more than ${margins.errorRatePoints} points above`,
    );
  }
  const p95Allowed = Math.max(older.p95Ms * (1 + margins.p95Percent / 100), older.p95Ms + margins.p95FloorMs);
  if (newer.p95Ms > p95Allowed) {
    reasons.push(
      `p95 ${newer.p95Ms} ms against the old color's ${older.p95Ms} ms is more than ${margins.p95Percent} % (and ${margins.p95FloorMs} ms) above`,
    );
  }
  return reasons.length > 0
    ? { verdict: "breach", newer, older, reasons }
    : { verdict: "healthy", newer, older };
}

/** One line with both colors' figures, for stderr, the report and the webhook. */
export function describeComparison(color: Color, previous: Color, comparison: Comparison): string {
  const side = (name: Color, summary: RequestSummary) =>
    `${name} ${summary.requests} requests, error rate ${summary.errorRatePercent} %, p95 ${summary.p95Ms} ms`;
  return `${side(color, comparison.newer)}; ${side(previous, comparison.older)}`;
}
