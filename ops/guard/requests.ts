// Request statistics the post-switch guard judges: error rate and latency percentiles over the
// proxy's own access log. Pure functions, so the thresholds are unit-tested with hand-counted numbers.

/** One request as HAProxy logged it (log-format "GL %ST %Ta %s %tsc %HM"). */
export interface RequestSample {
  /** HTTP status sent to the client; -1 when none was sent. */
  status: number;
  /** Total active time of the request, in milliseconds (%Ta). */
  totalMs: number;
  /** Server that answered, e.g. "green-0"; "<NOSRV>" when none was chosen. */
  server: string;
  /** Termination state (%tsc), "----" for a normal end. */
  termination: string;
  /** HTTP method. */
  method: string;
}

/** Prefix of every access-log line (the proxy config's LOG_FORMAT: "GL %ST %Ta %s %tsc %HM"). */
const LOG_TAG = "GL";

/** Parses one access-log message; undefined for anything that is not a request line. */
export function parseLogLine(line: string): RequestSample | undefined {
  const tagAt = line.indexOf(`${LOG_TAG} `);
  if (tagAt < 0) return undefined;
  const words = line.slice(tagAt).trim().split(/\s+/);
  if (words.length < 6) return undefined;
  const [, status, totalMs, server, termination, method] = words;
  const statusCode = Number(status);
  const total = Number(totalMs);
  if (!Number.isInteger(statusCode) || !Number.isFinite(total)) return undefined;
  return { status: statusCode, totalMs: total, server, termination, method };
}

/**
 * A request the client ended: the first letter of HAProxy's termination state is "C" (the client aborted:
 * CD--, CH--, CR--…) or "c" (the client timed out). Nothing the release did: a client that walks away
 * must not be able to revert a good release, so the guard leaves these requests out altogether.
 */
export function isClientAbort(sample: RequestSample): boolean {
  return /^[Cc]/.test(sample.termination);
}

/**
 * A failed request, as a user would count it: a 5xx answer, a request the proxy ended because of the
 * server (termination "S…": the server aborted, "s…": it timed out), or no answer at all for any reason
 * but the client's own.
 */
export function isFailure(sample: RequestSample): boolean {
  if (sample.status >= 500 || /^[Ss]/.test(sample.termination)) return true;
  return sample.status <= 0 && !isClientAbort(sample);
}

/** Nearest-rank percentile (p in 0-100) of the values; 0 for an empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new Error(`percentile ${p}: expected a number from 0 to 100`);
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

export interface RequestSummary {
  requests: number;
  failures: number;
  /** failures / requests × 100, rounded to 0.01; 0 when there were no requests. */
  errorRatePercent: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  /** Requests per HTTP status ("-1" for none). */
  byStatus: Record<string, number>;
}

/** Latencies are counted per whole millisecond up to this; slower requests count as this slow. */
export const MAX_TRACKED_MS = 600_000;

/**
 * The guard's running count: requests, failures, answers per status and a latency histogram of fixed
 * size (one counter per millisecond up to MAX_TRACKED_MS), so its memory is the same after ten requests
 * or ten million. Percentiles are exact nearest-rank for whole milliseconds.
 */
export class RequestTally {
  requests = 0;
  failures = 0;
  private readonly statuses = new Map<number, number>();
  private readonly latency = new Uint32Array(MAX_TRACKED_MS + 1);
  private timed = 0;
  private slowest = 0;

  add(sample: RequestSample): void {
    this.requests += 1;
    if (isFailure(sample)) this.failures += 1;
    // Statuses outside -1…599 are not HTTP answers: one bucket, so a flood cannot grow the map.
    const status = sample.status >= -1 && sample.status <= 599 ? Math.trunc(sample.status) : 0;
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
    if (sample.totalMs >= 0) {
      const ms = Math.min(Math.round(sample.totalMs), MAX_TRACKED_MS);
      this.latency[ms] += 1;
      this.timed += 1;
      if (ms > this.slowest) this.slowest = ms;
    }
  }

  /** Nearest-rank percentile of the latencies (p in 0-100); 0 when none was timed. */
  percentile(p: number): number {
    if (!(p >= 0 && p <= 100)) throw new Error(`percentile ${p}: expected a number from 0 to 100`);
    if (this.timed === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.timed));
    let seen = 0;
    for (let ms = 0; ms <= this.slowest; ms++) {
      seen += this.latency[ms];
      if (seen >= rank) return ms;
    }
    return this.slowest;
  }

  summary(): RequestSummary {
    const byStatus: Record<string, number> = {};
    for (const [status, count] of [...this.statuses].sort((a, b) => a[0] - b[0]))
      byStatus[String(status)] = count;
    return {
      requests: this.requests,
      failures: this.failures,
      errorRatePercent: this.requests === 0 ? 0 : Math.round((this.failures / this.requests) * 10_000) / 100,
      p50Ms: this.percentile(50),
      p95Ms: this.percentile(95),
      maxMs: this.slowest,
      byStatus,
    };
  }
}

/** Summarises samples: counts, error rate, latency percentiles (the tally of those samples). */
export function summarize(samples: readonly RequestSample[]): RequestSummary {
  const tally = new RequestTally();
  for (const sample of samples) tally.add(sample);
  return tally.summary();
}

/** The guard's thresholds. */
export interface GuardThresholds {
  /** Revert above this failure rate, in percent. */
  errorRatePercent: number;
  /** Revert above this p95 latency, in milliseconds. */
  p95Ms: number;
  /** Judge only once this many requests were seen. */
  minRequests: number;
}

export type Judgement =
  | { verdict: "insufficient"; summary: RequestSummary }
  | { verdict: "healthy"; summary: RequestSummary }
  | { verdict: "breach"; summary: RequestSummary; reasons: string[] };

/** Judges a summary against the thresholds: a breach names every threshold crossed. */
export function judge(summary: RequestSummary, thresholds: GuardThresholds): Judgement {
  if (summary.requests < thresholds.minRequests) return { verdict: "insufficient", summary };
  const reasons: string[] = [];
  if (summary.errorRatePercent > thresholds.errorRatePercent) {
    reasons.push(
      `error rate ${summary.errorRatePercent} % (${summary.failures} of ${summary.requests}) is above ${thresholds.errorRatePercent} %`,
    );
  }
  if (summary.p95Ms > thresholds.p95Ms) {
    reasons.push(`p95 latency ${summary.p95Ms} ms is above ${thresholds.p95Ms} ms`);
  }
  return reasons.length > 0 ? { verdict: "breach", summary, reasons } : { verdict: "healthy", summary };
}
