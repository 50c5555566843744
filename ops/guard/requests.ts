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

/** Prefix of every access-log line the proxy config asks for. */
export const LOG_TAG = "GL";

/** The log-format the proxy config uses; parseLogLine reads exactly this. */
export const LOG_FORMAT = `${LOG_TAG} %ST %Ta %s %tsc %HM`;

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
 * A failed request, as a user would count it: a 5xx answer, no answer at all, or a request the proxy
 * ended because of the server (termination code starting with "S": server aborted or timed out).
 * Client aborts ("C…") are not the release's fault and are not counted.
 */
export function isFailure(sample: RequestSample): boolean {
  return sample.status >= 500 || sample.status <= 0 || sample.termination.startsWith("S");
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

/** Summarises samples: counts, error rate, latency percentiles. */
export function summarize(samples: readonly RequestSample[]): RequestSummary {
  const failures = samples.filter(isFailure).length;
  const durations = samples.map((sample) => sample.totalMs).filter((ms) => ms >= 0);
  const byStatus: Record<string, number> = {};
  for (const sample of samples) byStatus[String(sample.status)] = (byStatus[String(sample.status)] ?? 0) + 1;
  return {
    requests: samples.length,
    failures,
    errorRatePercent: samples.length === 0 ? 0 : Math.round((failures / samples.length) * 10_000) / 100,
    p50Ms: percentile(durations, 50),
    p95Ms: percentile(durations, 95),
    maxMs: durations.length === 0 ? 0 : Math.max(...durations),
    byStatus,
  };
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
