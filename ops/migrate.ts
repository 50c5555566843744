// The run-once migration (seed 004, "Database Migration" and Gate #2). Before anything runs it finds
// the newest backup manifest of ITS release and re-hashes the dump: no verified backup, no migration.
// It holds a PostgreSQL advisory lock so two runs never overlap, records each run in
// greenlight.migrations, and runs the release's own migration command in a one-off container of the
// release image. DATABASE_URL (the migrator role) reaches the container by name only, never in argv.
import { execFile, spawn } from "child_process";
import { Client } from "pg";
import { IMAGE_REF, KEY_PREFIX, RELEASE_ID } from "../schema/patterns";
import { findReleaseBackup, verifyStoredDump } from "./manifest";
import { connect, describePgError } from "./postgres";
import { s3Client, s3Settings } from "./s3";
import { StepCommand, StepError, progress, requireEnv } from "./step";
import { childExit } from "./stream";

const STEP = "migrate";
const STACK = /^[A-Za-z0-9._-]{1,64}$/;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const COMMAND_WORD = /^[A-Za-z0-9@%+=:,./_-]+$/;
/** "host" or a Docker network name. */
const NETWORK = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** The advisory lock every greenlight migration of a database takes (two int4 keys: "gl", "migr"). */
export const MIGRATION_LOCK: readonly [number, number] = [0x676c, 0x6d696772];

/** Exit code when another migration held the lock for the whole timeout. */
export const EXIT_LOCK_TIMEOUT = 4;

export interface MigrateOptions {
  bucket: string;
  prefix: string;
  stack: string;
  release: string;
  /** The release image the migration runs in. */
  image: string;
  /** The release's migration command, exec form: the first word is the container's entrypoint. */
  command: string[];
  /** Docker network of the one-off container: "host" or a network name. Default "host". */
  network: string;
  /** Longest the run may take, lock wait included, in seconds. Default 900. */
  timeoutSeconds: number;
  /** The docker CLI. Default "docker". */
  docker: string;
  now?: () => Date;
}

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
);`;

function validate(options: MigrateOptions): void {
  const bad = (what: string) => new StepError(what, 2);
  if (!BUCKET.test(options.bucket))
    throw bad(`--bucket ${JSON.stringify(options.bucket)} is not an S3 bucket name`);
  if (!KEY_PREFIX.test(options.prefix))
    throw bad(`--prefix ${JSON.stringify(options.prefix)}: use path segments of letters, digits, . _ -`);
  if (!STACK.test(options.stack))
    throw bad(`--stack ${JSON.stringify(options.stack)}: use letters, digits, . _ -`);
  if (!RELEASE_ID.test(options.release))
    throw bad(`--release ${JSON.stringify(options.release)}: use 1-64 letters, digits, . _ -`);
  if (!IMAGE_REF.test(options.image))
    throw bad(`--image ${JSON.stringify(options.image)} is not an image reference`);
  if (options.command.length === 0 || !options.command.every((word) => COMMAND_WORD.test(word)))
    throw bad(
      `--command-json ${JSON.stringify(options.command)}: give a non-empty list of words without spaces, quotes or shell characters`,
    );
  if (!NETWORK.test(options.network))
    throw bad(`--network ${JSON.stringify(options.network)}: use host or a Docker network name`);
  if (!(Number.isInteger(options.timeoutSeconds) && options.timeoutSeconds >= 1))
    throw bad(`--timeout-seconds ${options.timeoutSeconds}: use a whole number of seconds ≥ 1`);
}

/** The `docker run` arguments of the one-off migration container (DATABASE_URL passed by name only). */
export function dockerRunArgs(
  options: Pick<MigrateOptions, "image" | "command" | "network" | "release">,
  name: string,
): string[] {
  const [entrypoint, ...args] = options.command;
  return [
    "run",
    "--rm",
    "--name",
    name,
    "--network",
    options.network,
    "--label",
    "greenlight.step=migrate",
    "--label",
    `greenlight.release=${options.release}`,
    "-e",
    "DATABASE_URL",
    "--entrypoint",
    entrypoint,
    options.image,
    ...args,
  ];
}

/** Waits for the migration lock until the deadline, naming the holder while it waits. */
async function takeLock(session: Client, deadline: number, release: string): Promise<number> {
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
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Runs the container until it exits or the deadline passes (then kills it). */
async function runContainer(
  options: MigrateOptions,
  env: NodeJS.ProcessEnv,
  name: string,
  deadline: number,
): Promise<{ ok: boolean; error: string | null }> {
  const child = spawn(options.docker, dockerRunArgs(options, name), {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (chunk: Buffer) => process.stderr.write(prefixLines(chunk.toString())));
  child.stderr?.on("data", (chunk: Buffer) => process.stderr.write(prefixLines(chunk.toString())));
  let timedOut = false;
  const timer = setTimeout(
    () => {
      timedOut = true;
      execFile(options.docker, ["kill", name], () => child.kill("SIGTERM"));
    },
    Math.max(deadline - Date.now(), 0),
  );
  const exit = await childExit(child).finally(() => clearTimeout(timer));
  if (timedOut)
    return {
      ok: false,
      error: `timed out after ${options.timeoutSeconds} s (lock wait included); the container was killed`,
    };
  if (exit.code === 0) return { ok: true, error: null };
  const lines = exit.stderr.trim().split("\n").filter(Boolean);
  return {
    ok: false,
    error: `${options.command.join(" ")} exited ${exit.code ?? exit.signal}: ${lines.slice(-3).join(" | ").slice(0, 2000) || "no output"}`,
  };
}

function prefixLines(text: string): string {
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => `[${STEP}] container: ${line}\n`)
    .join("");
}

/** Checks the backup, takes the lock, runs and records the migration. */
export async function migrate(options: MigrateOptions, env: NodeJS.ProcessEnv): Promise<MigrationRecord> {
  validate(options);
  const started = Date.now();
  const deadline = started + options.timeoutSeconds * 1000;
  const now = options.now ?? (() => new Date());
  requireEnv(env, "DATABASE_URL", "the migrator role's connection string for the migration container");
  const database = requireEnv(env, "PGDATABASE", "the application's database");
  const settings = s3Settings(env);
  const client = s3Client(settings);

  // The precondition: the newest backup of this release exists, is verified, and its bytes still match.
  const { manifest } = await findReleaseBackup(client, settings, options);
  await verifyStoredDump(client, settings, options.bucket, manifest, STEP);

  const session = await connect(env, database, `greenlight-migrate:${options.release}`);
  let recordId: number | undefined;
  try {
    // The session holds the lock while the container runs: server-side timeouts must not end it.
    await session.query("SET statement_timeout = 0");
    await session.query("SELECT set_config('idle_session_timeout', '0', false)").catch(() => undefined);
    const lockWaitSeconds = await takeLock(session, deadline, options.release);
    await session.query(RECORD_TABLE_SQL);
    const startedAt = now();
    recordId = Number(
      (
        await session.query<{ id: string }>(
          `INSERT INTO greenlight.migrations (release, image, backup_key, backup_sha256, started_at, outcome)
           VALUES ($1, $2, $3, $4, $5, 'running') RETURNING id`,
          [options.release, options.image, manifest.dumpKey, manifest.sha256, startedAt],
        )
      ).rows[0].id,
    );
    progress(
      STEP,
      `release ${options.release}: backup ${manifest.dumpKey} verified, lock taken, running ${options.command.join(" ")} in ${options.image}`,
    );
    const name = `greenlight-migrate-${options.release.replace(/[^A-Za-z0-9_.-]/g, "-")}-${process.pid}`;
    const result = await runContainer(options, env, name, deadline);
    const finishedAt = now();
    const outcome = result.ok ? "succeeded" : "failed";
    await session.query(
      "UPDATE greenlight.migrations SET finished_at = $2, outcome = $3, error = $4 WHERE id = $1",
      [recordId, finishedAt, outcome, result.error],
    );
    const record: MigrationRecord = {
      id: recordId,
      release: options.release,
      image: options.image,
      backupKey: manifest.dumpKey,
      backupSha256: manifest.sha256,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      outcome,
      error: result.error,
      lockWaitSeconds,
      durationSeconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
    };
    if (!result.ok)
      throw new StepError(
        `migration of release ${options.release} failed: ${result.error}; recorded as failed in greenlight.migrations (id ${recordId}); the backup ${manifest.dumpKey} is intact`,
        1,
        record,
      );
    return record;
  } catch (error) {
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

/** Reads the CLI's options into MigrateOptions. */
export function migrateOptions(options: Record<string, unknown>): MigrateOptions {
  let command: unknown;
  try {
    command = JSON.parse(String(options.commandJson));
  } catch {
    throw new StepError(
      `--command-json ${JSON.stringify(options.commandJson)} is not JSON: give e.g. '["node","/app/migrate.js"]'`,
      2,
    );
  }
  if (!Array.isArray(command) || !command.every((word) => typeof word === "string"))
    throw new StepError(
      `--command-json must be a JSON list of strings, e.g. '["node","/app/migrate.js"]'`,
      2,
    );
  return {
    bucket: String(options.bucket),
    prefix: String(options.prefix),
    stack: String(options.stack),
    release: String(options.release),
    image: String(options.image),
    command: command as string[],
    network: String(options.network),
    timeoutSeconds: Number(options.timeoutSeconds),
    docker: String(options.docker),
  };
}

export const migrateCommand: StepCommand = {
  name: "migrate",
  description:
    "Run the release's migration in a one-off container of its image, after re-checking its verified backup, under an advisory lock",
  options: (command) =>
    command
      .requiredOption("--bucket <name>", "S3 bucket holding the backups")
      .requiredOption("--prefix <prefix>", "key prefix of the backups")
      .requiredOption("--stack <name>", "stack name")
      .requiredOption("--release <id>", "release being migrated (its backup must exist and verify)")
      .requiredOption("--image <ref>", "release image to run the migration in")
      .requiredOption(
        "--command-json <json>",
        'migration command, exec form, e.g. \'["node","/app/migrate.js"]\'',
      )
      .option("--network <name>", "Docker network of the container: host or a network name", "host")
      .option("--timeout-seconds <seconds>", "longest run, lock wait included", "900")
      .option("--docker <path>", "docker CLI", "docker"),
  run: (options, env) => migrate(migrateOptions(options), env),
};
