// The migration rehearsal: the release's own migration command, in a one-off container of its image,
// run as the migrator role against the verified copy the restore drill left (or one restored here when
// none was handed over), before production's migration. It reads the schema from the catalog before
// and after (catalog.ts) and classifies the change (classify.ts), samples the locks the migration takes
// (locks.ts), and judges (verdict.ts): a failed migration, one longer than maxMigrationSeconds without
// maintenance mode, or a breaking change declared additive fails the step, and the update with it,
// before production is touched. The copy is dropped whatever happens, a stop included.
import { Client } from "pg";
import { connect, describePgError } from "../lib/postgres";
import { StepError, StopRequest, progress, requireEnv } from "../lib/step";
import { Stop, StoppedError, stoppedError, throwIfStopped } from "../lib/stop";
import { rootCertificate } from "../lib/postgres/tls";
import { runContainer } from "../migrate/container";
import {
  AppliedMigrations,
  appliedMigrations,
  describeApplied,
  imageMigrationsLabel,
} from "../migrate/pending";
import { notifyFromStep } from "../notify";
import { dropDatabase } from "../restore/database";
import { dropLeftoverCopies, rehearsalCopies } from "../restore/handover";
import { Effect, SchemaChange } from "./change";
import { classifySchemaChange } from "./classify";
import { readSchema, tableSizes } from "./catalog";
import { LockSampler, LockWait, TableLock } from "./locks";
import { MaintenanceMode, RehearseOptions, copyRestoreOptions, validateRehearseOptions } from "./options";
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

/** The migrator's connection string, pointed at the copy instead of production's database. */
export function copyUrl(databaseUrl: string, copy: string): string {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    throw new StepError("DATABASE_URL is not a URL: give postgresql://user:password@host:port/database", 2);
  }
  url.pathname = `/${encodeURIComponent(copy)}`;
  return url.toString();
}

/** The copy to rehearse on: the one handed over when it is still there, else one restored now. */
async function obtainCopy(
  admin: Client,
  options: RehearseOptions,
  source: string,
  env: NodeJS.ProcessEnv,
  stop: StopRequest,
): Promise<{ copy: string; from: "drill" | "restore" }> {
  const marked = await rehearsalCopies(admin, source, options.stack);
  if (options.copy !== undefined && marked.includes(options.copy)) {
    const leftovers = await dropLeftoverCopies(admin, source, options.stack, options.copy);
    if (leftovers.length > 0) progress(STEP, `dropped ${leftovers.join(", ")}, left by an earlier update`);
    return { copy: options.copy, from: "drill" };
  }
  progress(
    STEP,
    options.copy === undefined
      ? "no copy handed over by a drill: restoring the backup into one"
      : `${options.copy} is gone (an earlier run of this rehearsal dropped it): restoring the backup into a new copy`,
  );
  // Loaded only here: a handed-over copy needs no S3, and the AWS SDK costs start-up time.
  const { restore } = await import("../restore");
  const report = await restore(copyRestoreOptions(options), env, stop);
  if (!report.keptDatabase)
    throw new StepError(`the restore of ${report.dumpKey} kept no copy to rehearse on`);
  return { copy: report.keptDatabase, from: "restore" };
}

/** Rehearses the release's migration on a verified copy; throws with the report when it may not go on. */
export async function rehearse(
  options: RehearseOptions,
  env: NodeJS.ProcessEnv,
  stop: StopRequest = new Stop(),
): Promise<RehearsalReport> {
  validateRehearseOptions(options);
  const started = Date.now();
  const databaseUrl = requireEnv(env, "DATABASE_URL", "the migrator role's connection string");
  const source = requireEnv(env, "PGDATABASE", "the application's database the copy is of");
  const admin = await connect(env, options.maintenanceDb, `greenlight-rehearse:${options.release}`);
  let copy: string | undefined;
  let session: Client | undefined;
  let containerStarted = false;
  const containerName = `greenlight-rehearse-${options.release.replace(/[^A-Za-z0-9_.-]/g, "-")}-${process.pid}`;
  const dropCopy = async (): Promise<string> => {
    await session?.end().catch(() => undefined);
    session = undefined;
    if (copy === undefined) return "no copy was made";
    const name = copy;
    copy = undefined;
    return dropDatabase(admin, name).then(
      () => `dropped ${name}`,
      (error: unknown) => `could not drop ${name} (${describePgError(error, env)}): drop it by hand`,
    );
  };
  // Read while the copy is found: the label says whether the migrator has anything to do.
  const labelRead = imageMigrationsLabel(options.docker, options.image, env).then(
    (label) => ({ label }),
    (error: unknown) => ({ error }),
  );
  try {
    const obtained = await obtainCopy(admin, options, source, env, stop);
    copy = obtained.copy;
    const copied = Date.now();
    throwIfStopped(stop);
    session = await connect(env, copy, "greenlight-rehearse-catalog");
    const read = await labelRead;
    if ("error" in read) throw new StepError((read.error as Error).message, 2);
    const applied = read.label === undefined ? undefined : await appliedMigrations(session, read.label);
    if (applied) {
      const report = nothingPending(options, source, copy, obtained.from, applied);
      report.seconds.copy = (copied - started) / 1000;
      const dropping = Date.now();
      const dropped = await dropCopy();
      report.seconds.drop = (Date.now() - dropping) / 1000;
      report.seconds.total = (Date.now() - started) / 1000;
      // The first note is the line below.
      for (const line of report.notes.slice(1)) progress(STEP, line);
      progress(STEP, `release ${options.release}: ${describeApplied(options.image, applied)}; ${dropped}`);
      return report;
    }
    const before = await readSchema(session);
    const sizes = await tableSizes(session);
    const largeTableBytes = Math.round(options.largeTableMb * 1e6);
    const sampler = new LockSampler(session, sizes, largeTableBytes, options.lockSampleMs);
    // Without maintenance mode a run past the limit is refused anyway: it is stopped there.
    const limitSeconds =
      options.maintenanceMode === "off"
        ? Math.min(options.timeoutSeconds, options.maxMigrationSeconds + 1)
        : options.timeoutSeconds;
    progress(STEP, `running ${options.command.join(" ")} in ${options.image} against ${copy}`);
    const runStarted = Date.now();
    containerStarted = true;
    sampler.start();
    const result = await runContainer(
      { ...options, timeoutSeconds: limitSeconds },
      { ...env, DATABASE_URL: copyUrl(databaseUrl, copy) },
      containerName,
      runStarted + limitSeconds * 1000,
      stop,
      // The CA goes into the container, where the migrator's DATABASE_URL names it (sslrootcert).
      rootCertificate(env),
    );
    const durationMs = Date.now() - runStarted;
    const lockReport = await sampler.stop();
    throwIfStopped(stop);
    const stoppedAtLimit =
      !result.ok && limitSeconds < options.timeoutSeconds && durationMs >= limitSeconds * 1000;
    const schema = classifySchemaChange(before, await readSchema(session));
    const judged = judgeRehearsal({
      release: options.release,
      database: source,
      migration: result,
      durationMs,
      stoppedAtLimit,
      schema,
      declared: options.declared,
      maxMigrationSeconds: options.maxMigrationSeconds,
      maintenanceMode: options.maintenanceMode,
      locks: lockReport.locks,
    });
    const report: RehearsalReport = {
      release: options.release,
      image: options.image,
      database: source,
      copy,
      copyFrom: obtained.from,
      classification: schema.classification,
      declared: options.declared,
      changes: schema.changes,
      durationMs,
      migration: { outcome: result.ok ? "succeeded" : "failed", error: result.error },
      migrations: read.label ?? null,
      locks: lockReport.locks,
      lockWaits: lockReport.lockWaits,
      largeTableBytes,
      maxMigrationSeconds: options.maxMigrationSeconds,
      maintenanceMode: options.maintenanceMode,
      verdict: judged.verdict,
      reasons: judged.reasons,
      warnings: judged.warnings,
      notes: judged.notes,
      seconds: { copy: (copied - started) / 1000, drop: 0, total: 0 },
    };
    const dropping = Date.now();
    const dropped = await dropCopy();
    report.seconds.drop = (Date.now() - dropping) / 1000;
    report.seconds.total = (Date.now() - started) / 1000;
    for (const line of [...judged.warnings, ...judged.notes]) progress(STEP, line);
    await notifyRehearsal(report, options.stack, env);
    if (judged.verdict !== "passed")
      throw new StepError(
        `release ${options.release} ${judged.verdict === "failed" ? "failed its rehearsal" : "refused"}: ${judged.reasons.join("; ")}; ${dropped}; production was not touched`,
        1,
        report,
      );
    progress(
      STEP,
      `release ${options.release}: ${schema.classification}, ${schema.changes.length} change(s), migration ${(durationMs / 1000).toFixed(1)} s on ${report.copy}; ${dropped}`,
    );
    return report;
  } catch (error) {
    if (stop.signal) {
      // A stop inside the restore reports what the restore cleaned up; one later, the container too.
      const earlier = error instanceof StoppedError ? error.message.replace(/^stopped by \w+;? ?/, "") : "";
      const container = containerStarted ? `the container ${containerName} was killed and removed; ` : "";
      const dropped = await dropCopy();
      throw stoppedError(
        stop,
        `${earlier ? `${earlier}; ` : ""}${container}${dropped}; production was not touched`,
      );
    }
    if (error instanceof StepError) throw error;
    throw new StepError(`rehearsal of release ${options.release}: ${describePgError(error, env, copy)}`);
  } finally {
    await dropCopy();
    await admin.end().catch(() => undefined);
  }
}

/** The report of a release whose migrations production already applied: no container, no change. */
function nothingPending(
  options: RehearseOptions,
  source: string,
  copy: string,
  copyFrom: RehearsalReport["copyFrom"],
  applied: AppliedMigrations,
): RehearsalReport {
  const judged = judgeRehearsal({
    release: options.release,
    database: source,
    migration: { ok: true, error: null },
    durationMs: 0,
    stoppedAtLimit: false,
    schema: { classification: "additive", changes: [] },
    declared: options.declared,
    maxMigrationSeconds: options.maxMigrationSeconds,
    maintenanceMode: options.maintenanceMode,
    locks: [],
  });
  return {
    release: options.release,
    image: options.image,
    database: source,
    copy,
    copyFrom,
    classification: "additive",
    declared: options.declared,
    changes: [],
    durationMs: 0,
    migration: { outcome: "skipped", error: null },
    migrations: applied.label,
    locks: [],
    lockWaits: [],
    largeTableBytes: Math.round(options.largeTableMb * 1e6),
    maxMigrationSeconds: options.maxMigrationSeconds,
    maintenanceMode: options.maintenanceMode,
    verdict: judged.verdict,
    reasons: judged.reasons,
    warnings: judged.warnings,
    notes: [describeApplied(options.image, applied), ...judged.notes],
    seconds: { copy: 0, drop: 0, total: 0 },
  };
}

/** Tells the team when a rehearsal holds a large table exclusively, or stops the release. */
async function notifyRehearsal(
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
