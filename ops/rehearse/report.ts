// The rehearsal's report: what the migration did on the copy, judged (verdict.ts) against the release's
// limits and declaration, and the notice the team gets when a rehearsal stops a release or will lock a
// large table.
import { notifyFromStep } from "../notify";
import { Effect, SchemaChange } from "./change";
import { LockWait, TableLock } from "./locks";
import { MaintenanceMode, RehearseOptions, largeTableBytes } from "./options";
import { judgeRehearsal } from "./verdict";

const STEP = "rehearse";

/** What the rehearsal printed: the stack output `schemaCompatibility` and the policies read it. */
export interface RehearsalReport {
  release: string;
  image: string;
  /** The production database the copy is of. */
  database: string;
  copy: string;
  /** "drill": the copy the drill verified and left; "restore": restored here, none was handed over. */
  copyFrom: "drill" | "restore";
  classification: Effect;
  declared: Effect;
  changes: SchemaChange[];
  /** The migration container's run, start to exit. */
  durationMs: number;
  /** skipped: the image's migrations label is the one production's newest migration recorded (nothing pending). */
  migration: { outcome: "succeeded" | "failed" | "skipped"; error: string | null };
  /** The image's greenlight.migrations label, when it has one. */
  migrations: string | null;
  /** Locks held on tables of at least largeTableBytes, as sampled. */
  locks: TableLock[];
  lockWaits: LockWait[];
  largeTableBytes: number;
  maxMigrationSeconds: number;
  maintenanceMode: MaintenanceMode;
  verdict: "passed" | "refused" | "failed";
  reasons: string[];
  warnings: string[];
  notes: string[];
  /** Getting the copy (0 when handed over), dropping it, and the whole step. */
  seconds: { copy: number; drop: number; total: number };
}

/** What the migration did on the copy: run in its container, or skipped (nothing pending). */
export interface MigrationRun {
  outcome: RehearsalReport["migration"]["outcome"];
  error: string | null;
  durationMs: number;
  stoppedAtLimit: boolean;
  schema: { classification: Effect; changes: SchemaChange[] };
  locks: { locks: TableLock[]; lockWaits: LockWait[] };
  /** Notes ahead of the verdict's own. */
  notes: string[];
}

/** The step's report: the run judged (verdict.ts) against the release's limits and declaration. */
export function rehearsalReport(
  options: RehearseOptions,
  on: { source: string; copy: string; from: RehearsalReport["copyFrom"]; label: string | undefined },
  run: MigrationRun,
): RehearsalReport {
  const judged = judgeRehearsal({
    release: options.release,
    database: on.source,
    migration: { ok: run.outcome !== "failed", error: run.error },
    durationMs: run.durationMs,
    stoppedAtLimit: run.stoppedAtLimit,
    schema: run.schema,
    declared: options.declared,
    maxMigrationSeconds: options.maxMigrationSeconds,
    maintenanceMode: options.maintenanceMode,
    locks: run.locks.locks,
  });
  return {
    release: options.release,
    image: options.image,
    database: on.source,
    copy: on.copy,
    copyFrom: on.from,
    classification: run.schema.classification,
    declared: options.declared,
    changes: run.schema.changes,
    durationMs: run.durationMs,
    migration: { outcome: run.outcome, error: run.error },
    migrations: on.label ?? null,
    locks: run.locks.locks,
    lockWaits: run.locks.lockWaits,
    largeTableBytes: largeTableBytes(options),
    maxMigrationSeconds: options.maxMigrationSeconds,
    maintenanceMode: options.maintenanceMode,
    verdict: judged.verdict,
    reasons: judged.reasons,
    warnings: judged.warnings,
    notes: [...run.notes, ...judged.notes],
    seconds: { copy: 0, drop: 0, total: 0 },
  };
}

/** Tells the team when a rehearsal holds a large table exclusively, or stops the release. */
export async function notifyRehearsal(
  report: RehearsalReport,
  stack: string,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  if (report.verdict === "passed" && report.warnings.length === 0) return;
  const what =
    report.verdict === "passed"
      ? `the migration rehearsal of release ${report.release} (${stack}) passed, but production's migration will lock a large table`
      : `release ${report.release} (${stack}) ${report.verdict === "failed" ? "failed its migration rehearsal" : "was refused by its migration rehearsal"}; production was not touched`;
  await notifyFromStep(
    STEP,
    {
      event: "rehearsal",
      text: what,
      fields: {
        classification: report.classification,
        "migration seconds": (report.durationMs / 1000).toFixed(1),
        ...Object.fromEntries(noticeReasons(report).map((reason, index) => [`reason ${index + 1}`, reason])),
        ...Object.fromEntries(report.warnings.map((warning, index) => [`lock ${index + 1}`, warning])),
      },
    },
    env,
  );
}

/** The reasons a notice may carry: a failed migration's error is the app's own text, so it stays in the log. */
function noticeReasons(report: RehearsalReport): string[] {
  if (report.verdict !== "failed") return report.reasons;
  return [
    `its migration failed on a restored copy of ${report.database}; its error is in the update's log (the rehearse step's line)`,
  ];
}
