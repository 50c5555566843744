// Runs a migration: checks the release's backup, takes the migration lock, records the run in
// greenlight.migrations and runs the container (container.ts) until it exits or times out.
import { Client } from "pg";
import { EXIT } from "../../contract/exit-codes";
import { backupMismatch, databaseIdentity } from "../lib/postgres/identity";
import { EXIT_NO_VERIFIED_BACKUP, findReleaseBackup, verifyStoredDump } from "../lib/manifest";
import { MigrateOptions, validateMigrateOptions } from "./options";
import { runContainer } from "./container";
import {
  RECORDED_MIGRATIONS,
  appliedMigrations,
  describeApplied,
  imageMigrationsLabel,
  recordTableExists,
} from "./pending";
import { connect, describePgError } from "../lib/postgres";
import { s3Client, s3Settings } from "../lib/s3";
import { StepError, StopRequest, progress, requireEnv } from "../lib/step";
import { Stop, StoppedError, pause, stoppedError, throwIfStopped } from "../lib/stop";
import { rootCertificate } from "../lib/postgres/tls";

const STEP = "migrate";

/** The advisory lock every greenlight migration of a database takes (two int4 keys: "gl", "migr"). */
export const MIGRATION_LOCK: readonly [number, number] = [0x676c, 0x6d696772];

/** Exit code when another migration held the lock for the whole timeout. */
export const EXIT_LOCK_TIMEOUT = EXIT.migrationLocked;

/** One run as greenlight.migrations records it. */
export interface MigrationRecord {
  id: number;
  release: string;
  image: string;
  backupKey: string;
  backupSha256: string;
  startedAt: string;
  finishedAt: string;
  outcome: "succeeded" | "failed";
  error: string | null;
  lockWaitSeconds: number;
  durationSeconds: number;
  /** The image's greenlight.migrations label, recorded with the run (pending.ts). */
  migrations: string | null;
  /** Whether this run started the migrator: not when the release was migrated already or nothing was pending. */
  ranMigrator: boolean;
}

/** SQL creating the table greenlight owns (idempotent). */
export const RECORD_TABLE_SQL = `
CREATE SCHEMA IF NOT EXISTS greenlight;
CREATE TABLE IF NOT EXISTS greenlight.migrations (
  id bigserial PRIMARY KEY,
  release text NOT NULL,
  image text NOT NULL,
  backup_key text NOT NULL,
  backup_sha256 text NOT NULL,
  started_at timestamptz NOT NULL,
  finished_at timestamptz,
  outcome text NOT NULL CHECK (outcome IN ('running', 'succeeded', 'failed')),
  error text
);
ALTER TABLE greenlight.migrations ADD COLUMN IF NOT EXISTS migrations text;`;

/** Waits for the migration lock until the deadline, naming the holder while it waits. */
async function takeLock(
  session: Client,
  deadline: number,
  release: string,
  stop: StopRequest,
): Promise<number> {
  const started = Date.now();
  let lastNote = 0;
  for (;;) {
    const taken = await session.query<{ taken: boolean }>("SELECT pg_try_advisory_lock($1, $2) AS taken", [
      ...MIGRATION_LOCK,
    ]);
    if (taken.rows[0].taken) return (Date.now() - started) / 1000;
    const holder = await session.query<{ pid: number; application_name: string; since: string }>(
      `SELECT a.pid, a.application_name, a.backend_start::text AS since
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.classid = $1 AND l.objid = $2 AND l.granted`,
      [...MIGRATION_LOCK],
    );
    const who = holder.rows[0]
      ? `${holder.rows[0].application_name || "a session"} (pid ${holder.rows[0].pid}, connected since ${holder.rows[0].since})`
      : "another session";
    if (Date.now() >= deadline) {
      throw new StepError(
        `another migration, ${who}, held the migration lock for the whole timeout (${((Date.now() - started) / 1000).toFixed(0)} s waited); ` +
          `release ${release} did not start: wait for it to finish (or end it), then retry; greenlight:migrationTimeoutSeconds bounds the wait`,
        EXIT_LOCK_TIMEOUT,
      );
    }
    if (Date.now() - lastNote > 5000) {
      progress(STEP, `waiting for the migration lock held by ${who}`);
      lastNote = Date.now();
    }
    await pause(250, stop);
    throwIfStopped(stop);
  }
}

/** The run that already migrated this release with this image, if one did. */
async function succeededRun(session: Client, options: MigrateOptions): Promise<MigrationRecord | undefined> {
  if (!(await recordTableExists(session))) return undefined;
  const result = await session.query<{
    id: string;
    backup_key: string;
    backup_sha256: string;
    started_at: Date;
    finished_at: Date;
    migrations: string | null;
  }>(
    `SELECT id, backup_key, backup_sha256, started_at, finished_at, ${RECORDED_MIGRATIONS} AS migrations
       FROM greenlight.migrations m
      WHERE release = $1 AND image = $2 AND outcome = 'succeeded' ORDER BY id DESC LIMIT 1`,
    [options.release, options.image],
  );
  const row = result.rows[0];
  if (!row) return undefined;
  return {
    id: Number(row.id),
    release: options.release,
    image: options.image,
    backupKey: row.backup_key,
    backupSha256: row.backup_sha256,
    startedAt: row.started_at.toISOString(),
    finishedAt: row.finished_at.toISOString(),
    outcome: "succeeded",
    error: null,
    lockWaitSeconds: 0,
    durationSeconds: (row.finished_at.getTime() - row.started_at.getTime()) / 1000,
    migrations: row.migrations,
    ranMigrator: false,
  };
}

/** A release and image already migrated: says so and hands back the stored record. */
function alreadyMigrated(record: MigrationRecord, lockWaitSeconds: number): MigrationRecord {
  progress(
    STEP,
    `release ${record.release} with image ${record.image} already migrated (greenlight.migrations id ${record.id}, succeeded at ${record.finishedAt}): nothing to do`,
  );
  return { ...record, lockWaitSeconds };
}

/**
 * Runs and records the migration: a no-op when this release and image already succeeded; otherwise
 * only after its backup checks out (this database's, verified, bytes unchanged) and under the lock.
 */
export async function migrate(
  options: MigrateOptions,
  env: NodeJS.ProcessEnv,
  stop: StopRequest = new Stop(),
): Promise<MigrationRecord> {
  validateMigrateOptions(options);
  const started = Date.now();
  const deadline = started + options.timeoutSeconds * 1000;
  const now = options.now ?? (() => new Date());
  requireEnv(env, "DATABASE_URL", "the migrator role's connection string for the migration container");
  const database = requireEnv(env, "PGDATABASE", "the application's database");
  const settings = s3Settings(env);
  const client = s3Client(settings);

  const session = await connect(env, database, `greenlight-migrate:${options.release}`);
  let recordId: number | undefined;
  try {
    // The session holds the lock while the container runs: server-side timeouts must not end it.
    await session.query("SET statement_timeout = 0");
    await session.query("SELECT set_config('idle_session_timeout', '0', false)").catch(() => undefined);
    const done = await succeededRun(session, options);
    if (done) return alreadyMigrated(done, 0);

    // The precondition: the newest backup of this release, of this very database, verified, and its
    // bytes still as the manifest says.
    const { manifest } = await findReleaseBackup(client, settings, options);
    const mismatch = backupMismatch(manifest, await databaseIdentity(session));
    if (mismatch)
      throw new StepError(
        `${mismatch}: a migration relies on a backup of the database it changes; take a backup of ${database} for release ${options.release} first`,
        EXIT_NO_VERIFIED_BACKUP,
      );
    await verifyStoredDump(client, settings, options.bucket, manifest, STEP, stop.abortSignal);

    const lockWaitSeconds = await takeLock(session, deadline, options.release, stop);
    // A run that held the lock meanwhile may have migrated this release already.
    const doneMeanwhile = await succeededRun(session, options);
    if (doneMeanwhile) return alreadyMigrated(doneMeanwhile, lockWaitSeconds);
    await session.query(RECORD_TABLE_SQL);
    throwIfStopped(stop);
    const label = (await imageMigrationsLabel(options.docker, options.image, env)) ?? null;
    // Under the lock: what the newest succeeded run applied is what this database holds.
    const applied = label === null ? undefined : await appliedMigrations(session, label);
    const startedAt = now();
    recordId = Number(
      (
        await session.query<{ id: string }>(
          `INSERT INTO greenlight.migrations (release, image, backup_key, backup_sha256, started_at, outcome, migrations)
           VALUES ($1, $2, $3, $4, $5, 'running', $6) RETURNING id`,
          [options.release, options.image, manifest.dumpKey, manifest.sha256, startedAt, label],
        )
      ).rows[0].id,
    );
    const recordOf = (finishedAt: Date, outcome: MigrationRecord["outcome"], error: string | null) => ({
      id: recordId as number,
      release: options.release,
      image: options.image,
      backupKey: manifest.dumpKey,
      backupSha256: manifest.sha256,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      outcome,
      error,
      lockWaitSeconds,
      durationSeconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
      migrations: label,
      ranMigrator: applied === undefined,
    });
    if (applied) {
      const finishedAt = now();
      await session.query(
        "UPDATE greenlight.migrations SET finished_at = $2, outcome = 'succeeded' WHERE id = $1",
        [recordId, finishedAt],
      );
      progress(
        STEP,
        `release ${options.release}: ${describeApplied(options.image, applied)}; recorded as id ${recordId}`,
      );
      return recordOf(finishedAt, "succeeded", null);
    }
    progress(
      STEP,
      `release ${options.release}: backup ${manifest.dumpKey} verified, lock taken, running ${options.command.join(" ")} in ${options.image}`,
    );
    const name = `greenlight-migrate-${options.release.replace(/[^A-Za-z0-9_.-]/g, "-")}-${process.pid}`;
    // The CA goes into the container, where the migrator's DATABASE_URL names it (sslrootcert).
    const result = await runContainer(options, env, name, deadline, stop, rootCertificate(env));
    const finishedAt = now();
    const outcome = result.ok ? "succeeded" : "failed";
    await session.query(
      "UPDATE greenlight.migrations SET finished_at = $2, outcome = $3, error = $4 WHERE id = $1",
      [recordId, finishedAt, outcome, result.error],
    );
    const record: MigrationRecord = recordOf(finishedAt, outcome, result.error);
    if (stop.signal)
      throw stoppedError(
        stop,
        `the container ${name} was killed and removed; recorded as failed in greenlight.migrations (id ${recordId}); the migration lock is released`,
      );
    if (!result.ok)
      throw new StepError(
        `migration of release ${options.release} failed: ${result.error}; recorded as failed in greenlight.migrations (id ${recordId}); the backup ${manifest.dumpKey} is intact`,
        1,
        record,
      );
    return record;
  } catch (error) {
    if (stop.signal && !(error instanceof StoppedError))
      throw stoppedError(
        stop,
        recordId === undefined
          ? "the migration had not started"
          : `record ${recordId} in greenlight.migrations may still say running`,
      );
    if (error instanceof StepError) throw error;
    throw new StepError(
      `migration of release ${options.release}: ${describePgError(error, env, database)}` +
        (recordId === undefined
          ? "; the migration did not start"
          : `; record ${recordId} may still say running`),
    );
  } finally {
    await session.query("SELECT pg_advisory_unlock($1, $2)", [...MIGRATION_LOCK]).catch(() => undefined);
    await session.end().catch(() => undefined);
  }
}
