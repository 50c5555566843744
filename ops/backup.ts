// The pre-migration backup (seed 004, "System Backup" and Gate #1): pg_dump -Fc streamed once through
// a sha256 tap into an S3 multipart upload and into pg_restore (the whole archive is read back, so a
// truncated dump fails), with each table's row count and checksum taken in the dump's own snapshot.
// The manifest is written beside the dump only when every check passed; a failed backup leaves no
// manifest and no dump object, so a migration can never mistake it for a good one.
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { PassThrough, Writable } from "stream";
import { S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { Client } from "pg";
import { KEY_PREFIX, RELEASE_ID } from "../schema/patterns";
import { dumpKey, manifestKeyFor } from "./backup-key";
import { diskSpace, freeAfterPercent, requireFreeDisk } from "./disk";
import { BackupManifest, manifestKeys, readManifest } from "./manifest";
import { TableSummary, checksumTable, connect, describePgError, listTables, pgBinary } from "./postgres";
import {
  S3Settings,
  describeBucket,
  describeS3Error,
  objectSize,
  putJson,
  removePartial,
  s3Call,
  s3Client,
  s3Settings,
} from "./s3";
import { StepCommand, StepError, progress, requireEnv } from "./step";
import {
  ChildResult,
  Sink,
  childExit,
  collectStdout,
  describeExit,
  fanOut,
  firstErrorLine,
  formatRate,
  newMeter,
  startProgress,
} from "./stream";

const STEP = "backup";
const STACK = /^[A-Za-z0-9._-]{1,64}$/;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** S3 allows at most 10,000 parts; parts are at least 8 MB and grow with the database. */
const MIN_PART_BYTES = 8 * 1024 * 1024;

export interface BackupOptions {
  bucket: string;
  prefix: string;
  stack: string;
  release: string;
  /** Refuse a dump smaller than this fraction of the stack's previous backup; 0 disables. Default 0.1. */
  minSizeRatio: number;
  /** Write the dump to a temporary file here before uploading; unset (default): stream straight to S3. */
  spoolDir?: string;
  /** With spoolDir: the free disk that must remain, in percent. Default 15. */
  minFreeDiskPercent: number;
  /** Seconds between progress lines on stderr; 0 silences them. Default 5. */
  progressSeconds: number;
  /** Read the whole archive back with pg_restore and compare its table list. Default true. */
  verify: boolean;
  /** Clock (tests). */
  now?: () => Date;
}

function validate(options: BackupOptions): void {
  const bad = (what: string) => new StepError(what, 2);
  if (!BUCKET.test(options.bucket))
    throw bad(`--bucket ${JSON.stringify(options.bucket)} is not an S3 bucket name`);
  if (!KEY_PREFIX.test(options.prefix))
    throw bad(`--prefix ${JSON.stringify(options.prefix)}: use path segments of letters, digits, . _ -`);
  if (!STACK.test(options.stack))
    throw bad(`--stack ${JSON.stringify(options.stack)}: use letters, digits, . _ -`);
  if (!RELEASE_ID.test(options.release))
    throw bad(`--release ${JSON.stringify(options.release)}: use 1-64 letters, digits, . _ -`);
  if (!(options.minSizeRatio >= 0 && options.minSizeRatio < 1))
    throw bad(`--min-size-ratio ${options.minSizeRatio}: use a fraction from 0 (off) to below 1, e.g. 0.1`);
  if (!(options.minFreeDiskPercent >= 0 && options.minFreeDiskPercent <= 99))
    throw bad(`--min-free-disk-percent ${options.minFreeDiskPercent}: use 0-99`);
  if (!(options.progressSeconds >= 0))
    throw bad(`--progress-seconds ${options.progressSeconds}: use 0 or more`);
}

/** The stack's newest verified backup of the database (any release): the new dump's size is judged against it. */
async function previousBackup(
  client: S3Client,
  settings: S3Settings,
  options: BackupOptions,
  database: string,
): Promise<BackupManifest | undefined> {
  const { bucket, prefix, stack } = options;
  const keys = await manifestKeys(client, settings, { bucket, prefix, stack });
  for (const key of keys) {
    const manifest = await s3Call(settings, options.bucket, `reading ${key}`, () =>
      readManifest(client, options.bucket, key),
    );
    if (manifest.verified && manifest.database === database) return manifest;
  }
  return undefined;
}

/** Size plausibility: > 0 and not below minSizeRatio of the previous backup. Returns the check's text. */
export function checkSize(bytes: number, previous: BackupManifest | undefined, minSizeRatio: number): string {
  if (bytes <= 0) throw new StepError("pg_dump produced an empty archive: nothing was backed up");
  if (!previous || minSizeRatio === 0) return `size ${bytes} bytes > 0 (no previous backup to compare)`;
  const ratio = bytes / previous.bytes;
  if (ratio < minSizeRatio) {
    throw new StepError(
      `the dump is ${bytes} bytes, ${(ratio * 100).toFixed(1)} % of the previous backup ${previous.dumpKey} (${previous.bytes} bytes), ` +
        `below the ${(minSizeRatio * 100).toFixed(0)} % plausibility floor: check the database lost no data; if the shrink is intended, ` +
        `take one backup by hand with --min-size-ratio 0`,
    );
  }
  return `size ${bytes} bytes is ${(ratio * 100).toFixed(0)} % of the previous backup ${previous.dumpKey}`;
}

/** Counts the TABLE DATA entries of `pg_restore --list` output. */
export function tableDataEntries(listing: string): number {
  return listing.split("\n").filter((line) => /^\d+; \d+ \d+ TABLE DATA /.test(line)).length;
}

/** Each table's rows and checksum, inside the snapshot transaction. */
async function snapshotChecksums(
  session: Client,
  tables: { schema: string; name: string }[],
): Promise<TableSummary[]> {
  const summaries: TableSummary[] = [];
  for (const table of tables) summaries.push(await checksumTable(session, table, { inTransaction: true }));
  return summaries;
}

function pgDumpVersion(binary: string, env: NodeJS.ProcessEnv): string {
  return execFileSync(binary, ["--version"], { env, encoding: "utf8" }).trim();
}

function kill(child: ChildProcess | undefined): void {
  if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
}

/** Takes, verifies and uploads one backup; returns its manifest (also uploaded beside the dump). */
export async function backup(options: BackupOptions, env: NodeJS.ProcessEnv): Promise<BackupManifest> {
  validate(options);
  const database = requireEnv(env, "PGDATABASE", "the database to back up");
  const settings = s3Settings(env);
  const client = s3Client(settings);
  const pgDump = pgBinary("pg_dump", env);
  const pgRestore = pgBinary("pg_restore", env);
  const now = options.now ?? (() => new Date());
  const where = describeBucket(settings, options.bucket);

  // S3 first: it proves the bucket and credentials before the database does any work.
  const previous = await previousBackup(client, settings, options, database);
  const session = await connect(env, database, `greenlight-backup:${options.release}`);
  let snapshot: { snapshot: string; version: string; size: string };
  let tables: { schema: string; name: string }[];
  try {
    await session.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    // The snapshot stays open for the whole dump; server-side timeouts must not end it.
    await session.query("SET LOCAL statement_timeout = 0");
    await session.query("SET LOCAL idle_in_transaction_session_timeout = 0");
    // The checksums run beside pg_dump: one backend, no parallel workers competing with the dump.
    await session.query("SET LOCAL max_parallel_workers_per_gather = 0");
    snapshot = (
      await session.query<{ snapshot: string; version: string; size: string }>(
        "SELECT pg_export_snapshot() AS snapshot, current_setting('server_version') AS version, pg_database_size(current_database())::text AS size",
      )
    ).rows[0];
    tables = await listTables(session);
  } catch (error) {
    await session.end().catch(() => undefined);
    throw new StepError(describePgError(error, env, database));
  }

  const tempDir = options.spoolDir
    ? fs.mkdtempSync(path.join(options.spoolDir, "greenlight-backup-"))
    : undefined;
  const startedAt = now();
  const key = dumpKey(options.prefix, options.stack, options.release, startedAt);
  let upload: Upload | undefined;
  let uploaded = false;
  try {
    if (tempDir) {
      const estimate = previous ? Math.ceil(previous.bytes * 1.25) : Number(snapshot.size);
      await requireFreeDisk(tempDir, estimate, options.minFreeDiskPercent, `the dump of ${database}`);
    }
    if (
      (await s3Call(settings, options.bucket, "checking the new key", () =>
        objectSize(client, options.bucket, key),
      )) !== undefined
    )
      throw new StepError(
        `${key} already exists in ${where}: two backups of one release in the same second; retry`,
      );
    const partSize = Math.max(MIN_PART_BYTES, Math.ceil(Number(snapshot.size) / 9000));
    const result = await dumpAndVerify({
      options,
      env,
      client,
      settings,
      session,
      tables,
      snapshot: snapshot.snapshot,
      pgDump,
      pgRestore,
      key,
      partSize,
      tempDir,
      onUpload: (started) => (upload = started),
    });
    uploaded = true;
    const checks = [...result.checks, checkSize(result.bytes, previous, options.minSizeRatio)];
    if (tempDir) {
      const fromFile = new Upload({
        client,
        params: {
          Bucket: options.bucket,
          Key: key,
          Body: fs.createReadStream(result.file as string),
          ContentType: "application/octet-stream",
        },
        partSize,
        queueSize: 4,
      });
      upload = fromFile;
      await s3Call(settings, options.bucket, `uploading ${key}`, () => fromFile.done());
    } else {
      result.finishUpload();
      await result.uploadDone;
    }
    const stored = await s3Call(settings, options.bucket, `checking ${key}`, () =>
      objectSize(client, options.bucket, key),
    );
    if (stored !== result.bytes)
      throw new StepError(
        `${key} is ${stored ?? "missing"} bytes in ${where}, but ${result.bytes} bytes were sent: the upload is incomplete`,
      );
    checks.push(`stored object is ${stored} bytes, as sent`);
    const manifest: BackupManifest = {
      format: 1,
      stack: options.stack,
      release: options.release,
      database,
      dumpKey: key,
      bytes: result.bytes,
      sha256: result.sha256,
      serverVersion: snapshot.version,
      pgDumpVersion: pgDumpVersion(pgDump, env),
      tableCount: result.tables.length,
      tables: result.tables,
      startedAt: startedAt.toISOString(),
      finishedAt: now().toISOString(),
      verified: options.verify,
      checks,
    };
    await s3Call(settings, options.bucket, `writing ${manifestKeyFor(key)}`, () =>
      putJson(client, options.bucket, manifestKeyFor(key), manifest),
    );
    progress(
      STEP,
      `backup ${key}: ${manifest.bytes} bytes, sha256 ${manifest.sha256}, ${manifest.tableCount} tables, verified ${manifest.verified}`,
    );
    return manifest;
  } catch (error) {
    const failure =
      error instanceof StepError
        ? error
        : new StepError(describeS3Error(error, settings, options.bucket, "backup"));
    const uploadId = (upload as Upload | undefined)?.uploadId;
    const leftovers = await removePartial(client, options.bucket, key, uploadId);
    const note =
      leftovers.length > 0
        ? ` (cleanup incomplete: ${leftovers.join("; ")}; no manifest was written, so no step will use it)`
        : uploaded
          ? " (the dump object was removed; no manifest was written)"
          : uploadId
            ? " (the partial upload was aborted; no manifest was written)"
            : " (nothing was written to the bucket)";
    throw new StepError(failure.message + note, failure.exitCode);
  } finally {
    await session.query("ROLLBACK").catch(() => undefined);
    await session.end().catch(() => undefined);
    if (tempDir) fs.rmSync(tempDir, { recursive: true, force: true });
  }
}

interface DumpRun {
  options: BackupOptions;
  env: NodeJS.ProcessEnv;
  client: S3Client;
  settings: S3Settings;
  session: Client;
  tables: { schema: string; name: string }[];
  snapshot: string;
  pgDump: string;
  pgRestore: string;
  key: string;
  partSize: number;
  tempDir?: string;
  onUpload(upload: Upload): void;
}

interface DumpResult {
  bytes: number;
  sha256: string;
  tables: TableSummary[];
  checks: string[];
  /** The spooled file (spool mode). */
  file?: string;
  /** Streaming mode: ends the upload body once every check has passed. */
  finishUpload(): void;
  uploadDone: Promise<unknown>;
}

/**
 * Runs pg_dump once and feeds its output to the hash, the upload (or spool file) and the validators,
 * while the table checksums run in the same snapshot. The upload body stays open until pg_dump and
 * the validators have succeeded, so a failed dump never becomes a complete object.
 */
async function dumpAndVerify(run: DumpRun): Promise<DumpResult> {
  const { options, env } = run;
  const dump = spawn(run.pgDump, ["--format=custom", "--no-password", `--snapshot=${run.snapshot}`], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const dumpExit = childExit(dump);
  const hash = crypto.createHash("sha256");
  const meter = newMeter();
  const sinks: Sink[] = [];
  let body: PassThrough | undefined;
  let uploadDone: Promise<unknown> = Promise.resolve();
  let file: string | undefined;
  let firstFailure: StepError | undefined;
  const children: ChildProcess[] = [dump];
  const fail = (failure: StepError) => {
    firstFailure ??= failure;
    children.forEach(kill);
    body?.destroy();
  };

  if (run.tempDir) {
    file = path.join(run.tempDir, "dump");
    sinks.push({ name: "spool file", stream: fs.createWriteStream(file, { mode: 0o600 }) });
  } else {
    body = new PassThrough({ highWaterMark: 1024 * 1024 });
    const upload = new Upload({
      client: run.client,
      params: { Bucket: options.bucket, Key: run.key, Body: body, ContentType: "application/octet-stream" },
      partSize: run.partSize,
      queueSize: 4,
    });
    run.onUpload(upload);
    uploadDone = upload.done();
    uploadDone.catch((error: unknown) =>
      fail(new StepError(describeS3Error(error, run.settings, options.bucket, `uploading ${run.key}`))),
    );
    sinks.push({ name: "S3 upload", stream: body, keepOpen: true });
  }

  let fullRead: Promise<ChildResult> | undefined;
  let listing: Promise<{ exit: ChildResult; stdout: string }> | undefined;
  if (options.verify) {
    const reader = spawn(run.pgRestore, ["--no-password", "--file=/dev/null"], {
      env,
      stdio: ["pipe", "ignore", "pipe"],
    });
    const lister = spawn(run.pgRestore, ["--list"], { env, stdio: ["pipe", "pipe", "pipe"] });
    children.push(reader, lister);
    fullRead = childExit(reader);
    const listed = collectStdout(lister);
    listing = childExit(lister).then(async (exit) => ({ exit, stdout: await listed }));
    sinks.push({ name: "pg_restore (full read)", stream: reader.stdin as Writable });
    // --list stops reading after the table of contents: an optional sink.
    sinks.push({ name: "pg_restore --list", stream: lister.stdin as Writable, optional: true });
  }

  const stopProgress = startProgress(STEP, () => `dump: ${formatRate(meter)}`, options.progressSeconds);
  const stopDiskWatch = file
    ? watchDisk(run.tempDir as string, options.minFreeDiskPercent, fail)
    : () => undefined;
  const streaming = fanOut(dump.stdout, sinks, (chunk) => {
    hash.update(chunk);
    meter.bytes += chunk.length;
  }).catch((error: Error) => {
    fail(new StepError(`streaming the dump failed: ${error.message}`));
  });
  const checksums = snapshotChecksums(run.session, run.tables).catch((error: unknown) => {
    fail(new StepError(`table checksums in the dump's snapshot failed: ${describePgError(error, env)}`));
    return [] as TableSummary[];
  });

  const [exit] = await Promise.all([dumpExit, streaming]);
  if (exit.code !== 0 && !firstFailure) {
    fail(
      new StepError(
        `pg_dump failed (${describeExit(exit)}) after ${formatRate(meter)}: ${firstErrorLine(exit.stderr)}`,
      ),
    );
  }
  const tables = await checksums;
  const readResult = fullRead ? await fullRead : undefined;
  const listResult = listing ? await listing : undefined;
  stopProgress();
  stopDiskWatch();
  if (firstFailure) throw firstFailure;

  const checks = [`pg_dump exit 0, ${meter.bytes} bytes`];
  if (readResult && listResult) {
    if (readResult.code !== 0)
      throw new StepError(
        `pg_restore could not read the whole archive (${describeExit(readResult)}: ${firstErrorLine(readResult.stderr)}): the dump is truncated or corrupt`,
      );
    if (listResult.exit.code !== 0)
      throw new StepError(
        `pg_restore --list failed (${describeExit(listResult.exit)}: ${firstErrorLine(listResult.exit.stderr)}): the archive's table of contents is unreadable`,
      );
    const listed = tableDataEntries(listResult.stdout);
    if (listed !== tables.length)
      throw new StepError(
        `the archive lists data for ${listed} tables but the database has ${tables.length} in the dump's snapshot: the dump is incomplete`,
      );
    checks.push(
      "pg_restore read the whole archive",
      `pg_restore --list: data for ${listed} tables, as in the database`,
    );
  }
  return {
    bytes: meter.bytes,
    sha256: hash.digest("hex"),
    tables,
    checks,
    file,
    finishUpload: () => body?.end(),
    uploadDone,
  };
}

/** While spooling, stops the dump if the file system falls below the free-disk rule. */
function watchDisk(dir: string, minFreePercent: number, fail: (failure: StepError) => void): () => void {
  const timer = setInterval(() => {
    diskSpace(dir)
      .then((space) => {
        const free = freeAfterPercent(space, 0);
        if (free < minFreePercent)
          fail(
            new StepError(
              `the spool file system ${dir} fell to ${free.toFixed(1)} % free during the dump (rule: ≥ ${minFreePercent} %): free space or use another --spool-dir`,
            ),
          );
      })
      .catch(() => undefined);
  }, 1000);
  timer.unref();
  return () => clearInterval(timer);
}

function numberOption(options: Record<string, unknown>, name: string, flag: string): number {
  const value = Number(options[name]);
  if (!Number.isFinite(value))
    throw new StepError(`${flag} ${JSON.stringify(options[name])} is not a number`, 2);
  return value;
}

/** Reads the CLI's options into BackupOptions. */
export function backupOptions(options: Record<string, unknown>): BackupOptions {
  return {
    bucket: String(options.bucket),
    prefix: String(options.prefix),
    stack: String(options.stack),
    release: String(options.release),
    minSizeRatio: numberOption(options, "minSizeRatio", "--min-size-ratio"),
    spoolDir: options.spoolDir === undefined ? undefined : String(options.spoolDir),
    minFreeDiskPercent: numberOption(options, "minFreeDiskPercent", "--min-free-disk-percent"),
    progressSeconds: numberOption(options, "progressSeconds", "--progress-seconds"),
    verify: options.verify !== false,
  };
}

export const backupCommand: StepCommand = {
  name: "backup",
  description:
    "pg_dump -Fc streamed to S3 with a sha256, verified with pg_restore, manifest beside it (PG* and AWS_* from the environment)",
  options: (command) =>
    command
      .requiredOption("--bucket <name>", "S3 bucket holding the backups")
      .requiredOption("--prefix <prefix>", "key prefix: <prefix>/<stack>/<release>/<timestamp>.dump")
      .requiredOption("--stack <name>", "stack name (key segment)")
      .requiredOption("--release <id>", "release this backup precedes")
      .option(
        "--min-size-ratio <fraction>",
        "refuse a dump smaller than this fraction of the previous backup (0: off)",
        "0.1",
      )
      .option("--spool-dir <dir>", "write the dump to a temporary file here first (default: stream to S3)")
      .option("--min-free-disk-percent <percent>", "with --spool-dir: free disk that must remain", "15")
      .option("--progress-seconds <seconds>", "seconds between progress lines on stderr", "5")
      .option("--no-verify", "skip reading the archive back (the manifest then says verified: false)"),
  run: (options, env) => backup(backupOptions(options), env),
};
