// Smoke checks (seeds 000, 002, 004: "smoke test critical flows"): each configured path on every
// replica of the target color, directly, with its expected status, body text and slowest answer.
import { Color, SmokeCheck } from "../../schema/types";
import { probe } from "../lib/http";
import { StepError } from "../lib/step";

export interface SmokeOptions {
  color: Color;
  release: string;
  host: string;
  ports: number[];
  checks: SmokeCheck[];
}

export interface SmokeResult {
  url: string;
  replica: number;
  check: SmokeCheck;
  passed: boolean;
  status?: number;
  ms: number;
  /** What was wrong: status, missing text, too slow, no answer. */
  problems: string[];
}

export interface SmokeReport {
  step: "smoke";
  color: Color;
  release: string;
  passed: boolean;
  results: SmokeResult[];
}

/** Judges one answer against its check; pure, so each failure mode has a unit test. */
export function smokeProblems(
  check: SmokeCheck,
  answer: { status?: number; ms: number; body: string; error?: string },
): string[] {
  if (answer.status === undefined) return [`no answer (${answer.error ?? "unknown error"})`];
  const problems: string[] = [];
  if (answer.status !== check.status) problems.push(`status ${answer.status}, expected ${check.status}`);
  if (check.text !== undefined && !answer.body.includes(check.text)) {
    problems.push(`body does not contain "${check.text}"`);
  }
  if (answer.ms > check.maxMs) problems.push(`took ${answer.ms} ms, more than ${check.maxMs} ms`);
  return problems;
}

/** Runs every check once on every replica; throws StepError with the report when one fails. */
export async function runSmoke(options: SmokeOptions): Promise<SmokeReport> {
  if (options.checks.length === 0) {
    return { step: "smoke", color: options.color, release: options.release, passed: true, results: [] };
  }
  const results: SmokeResult[] = [];
  for (const [replica, replicaPort] of options.ports.entries()) {
    for (const check of options.checks) {
      const url = `http://${options.host}:${replicaPort}${check.path}`;
      // Give a slow answer time to arrive so the report can say how slow it was.
      const answer = await probe(url, Math.max(check.maxMs * 2, 1000));
      const problems = smokeProblems(check, answer);
      results.push({
        url,
        replica,
        check,
        passed: problems.length === 0,
        status: answer.status,
        ms: answer.ms,
        problems,
      });
    }
  }
  const report: SmokeReport = {
    step: "smoke",
    color: options.color,
    release: options.release,
    passed: results.every((result) => result.passed),
    results,
  };
  if (!report.passed) {
    const failed = results.filter((result) => !result.passed);
    // Statuses, the configured text that was missing and timings: nothing of the app's answers.
    const reason =
      `smoke checks of ${options.color} (release ${options.release}) failed: ` +
      failed.map((result) => `${result.url}: ${result.problems.join(", ")}`).join("; ");
    throw new StepError(reason, 1, report, reason);
  }
  return report;
}
