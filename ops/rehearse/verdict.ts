// The rehearsal's verdict: failed (the migration failed on the copy), refused (longer than
// greenlight:maxMigrationSeconds without maintenance mode, or breaking while declared additive) or
// passed, with the warnings that go to the report, the notification and the next plan. Pure.
import { Effect, SchemaClassification, describeChanges } from "./change";
import { TableLock, lockWarnings } from "./locks";
import { MaintenanceMode } from "./options";

export interface RehearsalOutcome {
  release: string;
  /** The production database the copy is of. */
  database: string;
  migration: { ok: boolean; error: string | null };
  durationMs: number;
  /** The rehearsal was stopped at greenlight:maxMigrationSeconds (maintenance off). */
  stoppedAtLimit: boolean;
  schema: SchemaClassification;
  declared: Effect;
  maxMigrationSeconds: number;
  maintenanceMode: MaintenanceMode;
  locks: TableLock[];
}

export interface RehearsalVerdict {
  verdict: "passed" | "refused" | "failed";
  /** Why it failed or was refused, one sentence each. */
  reasons: string[];
  warnings: string[];
  notes: string[];
}

export function judgeRehearsal(outcome: RehearsalOutcome): RehearsalVerdict {
  const seconds = (outcome.durationMs / 1000).toFixed(1);
  const max = outcome.maxMigrationSeconds;
  const reasons: string[] = [];
  const notes: string[] = [];
  let verdict: RehearsalVerdict["verdict"] = "passed";
  const slow =
    outcome.stoppedAtLimit || (outcome.maintenanceMode === "off" && outcome.durationMs > max * 1000);
  if (slow) {
    verdict = "refused";
    reasons.push(
      (outcome.stoppedAtLimit
        ? `its migration ran longer than greenlight:maxMigrationSeconds (${max} s) and was stopped after ${seconds} s`
        : `its migration took ${seconds} s, longer than greenlight:maxMigrationSeconds (${max} s)`) +
        ", and greenlight:maintenanceMode is off: production's migration would run that long under live traffic. " +
        "Make it faster, or set greenlight:maintenanceMode read-only (or on) for this release",
    );
  } else if (!outcome.migration.ok) {
    verdict = "failed";
    reasons.push(
      `its migration failed on a restored copy of ${outcome.database}: ${outcome.migration.error ?? "no error given"}`,
    );
  }
  if (outcome.maintenanceMode !== "off" && outcome.durationMs > max * 1000)
    notes.push(
      `the migration took ${seconds} s, longer than greenlight:maxMigrationSeconds (${max} s); accepted because greenlight:maintenanceMode is ${outcome.maintenanceMode}`,
    );
  const breaking = outcome.schema.changes.filter((change) => change.effect === "breaking");
  if (outcome.migration.ok && outcome.declared === "additive" && breaking.length > 0) {
    verdict = "refused";
    reasons.push(
      `it is declared additive (greenlight:schemaBreaking false) but its migration is breaking: ${describeChanges(breaking)}. ` +
        "If it is meant to be, release it with --schema-breaking (a rollback then restores the backup instead of flipping); else make the migration additive",
    );
  }
  if (outcome.migration.ok && outcome.declared === "breaking" && outcome.schema.classification === "additive")
    notes.push(
      "declared breaking (greenlight:schemaBreaking true), but the rehearsal found every change additive: the classification decides, so a rollback flips back",
    );
  return { verdict, reasons, warnings: lockWarnings(outcome.locks), notes };
}
