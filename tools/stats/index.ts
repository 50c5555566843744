// Deployment metrics from `pulumi stack history`, against the targets the production-deployment
// process sets in its "Metrics & Success Tracking" section. Pure.
//   deployment  a succeeded update that changed the active release
//   rollback    a deployment whose active release had been active before
//   release     a deployment that is not a rollback (what "deployment frequency" counts)
import { finishedAt, isSucceededUpdate, StackUpdate } from "../history/read";
import { activeRelease, RecordedOverride, releaseState } from "../history/state";

/** The production-deployment process's targets: frequency, success rate, time to deploy, rollback rate. */
export const TARGETS = {
  successRatePercent: 95,
  rollbackRatePercent: 10,
  releasesPerWeek: { min: 2, max: 3 },
  deployMinutes: 30,
} as const;

export interface TargetVerdict {
  name: string;
  target: string;
  value: string;
  /** undefined when the history has too little to judge. */
  met?: boolean;
}

export interface FailureGroup {
  reason: string;
  count: number;
  versions: number[];
}

export interface DeploymentStats {
  stack: string;
  period: { from?: string; to?: string; days: number };
  updates: { total: number; succeeded: number; failed: number; inProgress: number };
  /** Other kinds (preview, refresh, …) counted but not judged. */
  otherKinds: Record<string, number>;
  successRatePercent?: number;
  deployments: number;
  releases: number;
  rollbacks: { version: number; release: string; from: string }[];
  rollbackRatePercent?: number;
  releasesPerWeek?: number;
  medianHoursBetweenReleases?: number;
  medianDeploySeconds?: number;
  maxDeploySeconds?: number;
  failures: FailureGroup[];
  overrides: (RecordedOverride & { result: string })[];
  targets: TargetVerdict[];
}

const DAY_MS = 86_400_000;

export function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Why an update failed, as far as the history can tell: did it change anything before it stopped? */
export function failureReason(update: StackUpdate): string {
  const changed = Object.entries(update.resourceChanges ?? {})
    .filter(([kind]) => kind !== "same")
    .reduce((sum, [, count]) => sum + count, 0);
  if (changed === 0)
    return "stopped before changing anything (policy violation, config error or preview failure)";
  // A canary that aborted (weight 0 on the new color) fails its update: a failed change like any other.
  const steps = update.config["greenlight:trafficSteps"]?.value;
  if (steps !== undefined && steps !== "[]" && update.config["greenlight:promote"]?.value !== "false")
    return `stopped after changing resources with canary steps ${steps} (an aborted canary, weight 0 on the new color, or a step before it failed; see the update's log)`;
  return "stopped after changing resources (a step failed: backup, migration, health gate, smoke or switch; see the update's log)";
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/** Computes the metrics of one stack's history. */
export function deploymentStats(stack: string, history: StackUpdate[]): DeploymentStats {
  const sorted = [...history].sort((a, b) => a.version - b.version);
  const updates = sorted.filter((update) => update.kind === "update");
  const otherKinds: Record<string, number> = {};
  for (const update of sorted.filter((entry) => entry.kind !== "update")) {
    otherKinds[update.kind] = (otherKinds[update.kind] ?? 0) + 1;
  }
  const succeeded = updates.filter(isSucceededUpdate);
  const failed = updates.filter((update) => update.result === "failed");
  const inProgress = updates.filter(
    (update) => update.result === "in-progress" || update.result === "not-started",
  );

  const rollbacks: DeploymentStats["rollbacks"] = [];
  const releaseStarts: number[] = [];
  let deployments = 0;
  let previous: string | undefined;
  const seen = new Set<string>();
  for (const update of succeeded) {
    const release = activeRelease(releaseState(update));
    if (release === undefined) continue;
    if (release !== previous) {
      deployments++;
      if (seen.has(release)) rollbacks.push({ version: update.version, release, from: previous ?? "(none)" });
      else releaseStarts.push(Date.parse(update.startTime));
    }
    seen.add(release);
    previous = release;
  }

  const first = updates[0];
  const last = updates.at(-1);
  const spanDays =
    first !== undefined && last !== undefined
      ? (Date.parse(last.startTime) - Date.parse(first.startTime)) / DAY_MS
      : 0;
  const releases = releaseStarts.length;
  // A history shorter than a week is judged as one week, so two releases in a day do not read as 14 a week.
  const releasesPerWeek = releases > 0 ? releases / (Math.max(spanDays, 7) / 7) : undefined;
  const gaps = releaseStarts.slice(1).map((start, index) => (start - releaseStarts[index]) / 3_600_000);
  const durations = succeeded.map(
    (update) => (finishedAt(update).getTime() - Date.parse(update.startTime)) / 1000,
  );

  const judged = succeeded.length + failed.length;
  const successRatePercent = judged > 0 ? (succeeded.length / judged) * 100 : undefined;
  const rollbackRatePercent = deployments > 0 ? (rollbacks.length / deployments) * 100 : undefined;
  const medianDeploySeconds = median(durations);

  const failures = new Map<string, number[]>();
  for (const update of failed) {
    const reason = failureReason(update);
    failures.set(reason, [...(failures.get(reason) ?? []), update.version]);
  }

  const overrides: DeploymentStats["overrides"] = [];
  for (const update of updates) {
    const override = releaseState(update).override;
    if (override === undefined) continue;
    if (overrides.some((known) => known.ticket === override.ticket && known.reason === override.reason))
      continue;
    overrides.push({ ...override, result: update.result });
  }

  const percent = (value: number | undefined) => (value === undefined ? "n/a" : `${round(value, 1)} %`);
  const targets: TargetVerdict[] = [
    {
      name: "success rate",
      target: `> ${TARGETS.successRatePercent} %`,
      value: percent(successRatePercent),
      met: successRatePercent === undefined ? undefined : successRatePercent > TARGETS.successRatePercent,
    },
    {
      name: "rollback rate",
      target: `< ${TARGETS.rollbackRatePercent} %`,
      value: percent(rollbackRatePercent),
      met: rollbackRatePercent === undefined ? undefined : rollbackRatePercent < TARGETS.rollbackRatePercent,
    },
    {
      name: "deployment frequency",
      target: `${TARGETS.releasesPerWeek.min}–${TARGETS.releasesPerWeek.max} per week`,
      value: releasesPerWeek === undefined ? "n/a" : `${round(releasesPerWeek, 2)} per week`,
      met:
        releasesPerWeek === undefined
          ? undefined
          : releasesPerWeek >= TARGETS.releasesPerWeek.min && releasesPerWeek <= TARGETS.releasesPerWeek.max,
    },
    {
      name: "time to deploy (median update)",
      target: `< ${TARGETS.deployMinutes} min`,
      value: medianDeploySeconds === undefined ? "n/a" : `${round(medianDeploySeconds / 60, 1)} min`,
      met: medianDeploySeconds === undefined ? undefined : medianDeploySeconds < TARGETS.deployMinutes * 60,
    },
  ];

  return {
    stack,
    period: { from: first?.startTime, to: last?.startTime, days: round(spanDays, 2) },
    updates: {
      total: updates.length,
      succeeded: succeeded.length,
      failed: failed.length,
      inProgress: inProgress.length,
    },
    otherKinds,
    successRatePercent: successRatePercent === undefined ? undefined : round(successRatePercent, 2),
    deployments,
    releases,
    rollbacks,
    rollbackRatePercent: rollbackRatePercent === undefined ? undefined : round(rollbackRatePercent, 2),
    releasesPerWeek: releasesPerWeek === undefined ? undefined : round(releasesPerWeek, 2),
    medianHoursBetweenReleases: median(gaps) === undefined ? undefined : round(median(gaps) as number, 2),
    medianDeploySeconds,
    maxDeploySeconds: durations.length > 0 ? Math.max(...durations) : undefined,
    failures: [...failures.entries()].map(([reason, versions]) => ({
      reason,
      count: versions.length,
      versions,
    })),
    overrides,
    targets,
  };
}

/** The human-readable report. */
export function renderStats(stats: DeploymentStats): string {
  const minutes = (seconds: number | undefined) =>
    seconds === undefined ? "n/a" : `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  const others = Object.entries(stats.otherKinds)
    .map(([kind, count]) => `${count} ${kind}`)
    .join(", ");
  const lines = [
    `Deployment metrics for ${stats.stack}: ${stats.period.from ?? "-"} to ${stats.period.to ?? "-"} (${stats.period.days} days)`,
    `  updates        ${stats.updates.total}: ${stats.updates.succeeded} succeeded, ${stats.updates.failed} failed, ${stats.updates.inProgress} in progress${others ? ` (not counted: ${others})` : ""}`,
    `  deployments    ${stats.deployments} that changed the live release: ${stats.releases} releases, ${stats.rollbacks.length} rollbacks`,
    ...stats.rollbacks.map(
      (rollback) =>
        `    rollback v${rollback.version}: ${rollback.from} → ${rollback.release} (active before)`,
    ),
    `  between releases  median ${stats.medianHoursBetweenReleases === undefined ? "n/a" : `${stats.medianHoursBetweenReleases} h`}`,
    `  update duration   median ${minutes(stats.medianDeploySeconds)}, longest ${minutes(stats.maxDeploySeconds)}`,
    `  failures       ${stats.failures.length === 0 ? "none" : ""}`,
    ...stats.failures.map((group) => `    ${group.count} × ${group.reason}: v${group.versions.join(", v")}`),
    `  emergency overrides  ${stats.overrides.length === 0 ? "none" : stats.overrides.length}`,
    ...stats.overrides.map(
      (override) =>
        `    v${override.version} ${override.ticket} by ${override.approver} until ${override.expiresAt} (${override.result}): ${override.reason}`,
    ),
    "  targets (the production-deployment process's metrics)",
    ...stats.targets.map(
      (verdict) =>
        `    ${verdict.met === undefined ? "?" : verdict.met ? "✓" : "✗"} ${verdict.name.padEnd(31)} ${verdict.value.padEnd(16)} target ${verdict.target}`,
    ),
  ];
  return lines.join("\n") + "\n";
}
