// The health gate (the blue-green deployment procedures: "healthcheck path /health, interval 5s, timeout 3s, max_attempts 5"):
// every replica of the target color, reached directly and not through the proxy, must answer 200 on
// the health path and the readiness path `attempts` times in a row before the deadline.
import { COLORS, Color } from "../../schema/types";
import { probe } from "../lib/http";
import { StepError } from "../lib/step";

export interface HealthGateOptions {
  color: Color;
  release: string;
  /** Host the replicas are reached at (default 127.0.0.1). */
  host: string;
  /** One port per replica. */
  ports: number[];
  healthPath: string;
  readinessPath: string;
  /** Also require the readiness path (the policy pack requires it). */
  checkReadiness: boolean;
  /** Seconds between rounds of probes. */
  intervalSeconds: number;
  /** Seconds one probe may take. */
  timeoutSeconds: number;
  /** Consecutive 200 answers each check needs. */
  attempts: number;
  /** Seconds after which the gate fails. */
  deadlineSeconds: number;
}

/** One URL the gate probes, and how it went. */
export interface GateCheck {
  url: string;
  replica: number;
  path: string;
  passed: boolean;
  /** 200 answers in a row so far. */
  consecutive: number;
  required: number;
  probes: number;
  lastStatus?: number;
  lastError?: string;
  lastMs?: number;
}

export interface GateReport {
  step: "health-gate";
  color: Color;
  release: string;
  passed: boolean;
  elapsedMs: number;
  rounds: number;
  checks: GateCheck[];
}

/** Validates options; the error names the bad one. */
function validate(options: HealthGateOptions): void {
  if (!COLORS.includes(options.color))
    throw new StepError(`color ${JSON.stringify(options.color)}: expected blue or green`, 2);
  if (options.ports.length === 0)
    throw new StepError("no replica ports to check: give --port and --replicas", 2);
  const needed = options.intervalSeconds * (options.attempts - 1) + options.timeoutSeconds;
  if (options.deadlineSeconds < needed) {
    throw new StepError(
      `--deadline ${options.deadlineSeconds} s is shorter than interval × (attempts − 1) + timeout = ${needed} s: the gate could never pass`,
      2,
    );
  }
}

/** Runs the gate; resolves with the report when every check passed, throws StepError with it otherwise. */
export async function runHealthGate(
  options: HealthGateOptions,
  log: (message: string) => void = () => undefined,
): Promise<GateReport> {
  validate(options);
  const paths = options.checkReadiness ? [options.healthPath, options.readinessPath] : [options.healthPath];
  const checks: GateCheck[] = options.ports.flatMap((replicaPort, replica) =>
    paths.map((path) => ({
      url: `http://${options.host}:${replicaPort}${path}`,
      replica,
      path,
      passed: false,
      consecutive: 0,
      required: options.attempts,
      probes: 0,
    })),
  );
  const started = Date.now();
  const deadline = started + options.deadlineSeconds * 1000;
  let rounds = 0;
  for (;;) {
    const roundStarted = Date.now();
    rounds++;
    await Promise.all(
      checks
        .filter((check) => !check.passed)
        .map(async (check) => {
          const result = await probe(check.url, options.timeoutSeconds * 1000);
          check.probes++;
          check.lastStatus = result.status;
          check.lastError =
            result.error ?? (result.status === 200 ? undefined : result.body.trim().slice(0, 200));
          check.lastMs = result.ms;
          check.consecutive = result.status === 200 && result.error === undefined ? check.consecutive + 1 : 0;
          check.passed = check.consecutive >= check.required;
        }),
    );
    const report = (passed: boolean): GateReport => ({
      step: "health-gate",
      color: options.color,
      release: options.release,
      passed,
      elapsedMs: Date.now() - started,
      rounds,
      checks,
    });
    const waiting = checks.filter((check) => !check.passed);
    if (waiting.length === 0) return report(true);
    log(
      `round ${rounds}: ${waiting.map((check) => `${check.url} ${check.lastStatus ?? check.lastError} (${check.consecutive}/${check.required})`).join(", ")}`,
    );
    const nextRound = roundStarted + options.intervalSeconds * 1000;
    const stillPossible = waiting.every(
      (check) =>
        nextRound + (check.required - check.consecutive - 1) * options.intervalSeconds * 1000 <= deadline,
    );
    if (!stillPossible) {
      const failed = (withBody: boolean) =>
        `health gate of ${options.color} (release ${options.release}) failed after ${Math.round((Date.now() - started) / 1000)} s: ` +
        waiting.map((check) => `${check.url} ${describe(check, withBody)}`).join("; ");
      // The app's answer stays in the step's output; the webhook gets statuses and counts only.
      throw new StepError(failed(true), 1, report(false), failed(false));
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, nextRound - Date.now())));
  }
}

function describe(check: GateCheck, withBody: boolean): string {
  const last =
    check.lastStatus !== undefined ? `answered ${check.lastStatus}` : `gave no answer (${check.lastError})`;
  const body = withBody && check.lastStatus !== undefined && check.lastError ? ` "${check.lastError}"` : "";
  return `${last}${body}, ${check.consecutive}/${check.required} in a row`;
}
