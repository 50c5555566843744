// Takes one backup: opens the snapshot the dump and the table checksums share, runs the dump
// (dump.ts), uploads it (straight from the stream, or from the spool file), checks the stored
// size and writes the manifest last. Any failure removes what was written to the bucket.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { S3Client } from "@aws-sdk/client-s3";
import type { Upload } from "@aws-sdk/lib-storage";
import { BackupOptions, validateBackupOptions } from "./options";
import { dumpAndVerify } from "./dump";
import { dumpKey, manifestKeyFor } from "../lib/backup-key";
import { SequenceState, sequenceStates } from "../lib/postgres/content";
import { DatabaseIdentity, databaseIdentity, otherDatabase } from "../lib/postgres/identity";
import { requireFreeDisk } from "../lib/disk";
import { BackupManifest, manifestKeys, readManifest } from "../lib/manifest";
import { connectForChecksums, describePgError, listTables, pgBinary } from "../lib/postgres";
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
  uploadDump,
} from "../lib/s3";
import { StepError, StopRequest, progress, requireEnv } from "../lib/step";
import { Stop, stoppedError, throwIfStopped } from "../lib/stop";

const STEP = "backup";
/** S3 allows at most 10,000 parts; parts are at least 8 MB and grow with the database. */
const MIN_PART_BYTES = 8 * 1024 * 1024;

/**
 * The stack's newest verified backup of this database (any release; the same server when both
 * manifests say which): the new dump's size is judged against it. `keys` are newest first.
 */
async function previousBackup(
  client: S3Client,
  settings: S3Settings,
  bucket: string,
  keys: string[],
  identity: DatabaseIdentity,
): Promise<BackupManifest | undefined> {
  for (const key of keys) {
    const manifest = await s3Call(settings, bucket, `reading ${key}`, () =>
      readManifest(client, bucket, key),
    );
    if (manifest.verified && otherDatabase(manifest, identity) === undefined) return manifest;
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

function pgDumpVersion(binary: string, env: NodeJS.ProcessEnv): string {
  return execFileSync(binary, ["--version"], { env, encoding: "utf8" }).trim();
}

/** Takes, verifies and uploads one backup; returns its manifest (also uploaded beside the dump). */
export async function backup(
  options: BackupOptions,
  env: NodeJS.ProcessEnv,
  stop: StopRequest = new Stop(),
): Promise<BackupManifest> {
  validateBackupOptions(options);
  const stepStarted = Date.now();
  const database = requireEnv(env, "PGDATABASE", "the database to back up");
  const settings = s3Settings(env);
  const client = s3Client(settings);
  const pgDump = pgBinary("pg_dump", env);
  const pgRestore = pgBinary("pg_restore", env);
  const now = options.now ?? (() => new Date());
  const where = describeBucket(settings, options.bucket);

  // S3 first: listing the stack's backups proves the bucket and credentials before the database
  // does any work.
  const { bucket, prefix, stack } = options;
  const earlierKeys = await manifestKeys(client, settings, { bucket, prefix, stack });
  throwIfStopped(stop);
  const session = await connectForChecksums(env, database, `greenlight-backup:${options.release}`, stop);
  let snapshot: { snapshot: string; version: string; size: string };
  let tables: { schema: string; name: string }[];
  let identity: DatabaseIdentity;
  let previous: BackupManifest | undefined;
  let sequencesBefore: SequenceState[];
  try {
    identity = await databaseIdentity(session);
    previous = await previousBackup(client, settings, bucket, earlierKeys, identity);
    throwIfStopped(stop);
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
    sequencesBefore = await sequenceStates(session);
  } catch (error) {
    await session.end().catch(() => undefined);
    if (stop.signal) throw stoppedError(stop, "nothing was written to the bucket");
    if (error instanceof StepError) throw error;
    throw new StepError(describePgError(error, env, database));
  }

  const tempDir = options.spoolDir
    ? fs.mkdtempSync(path.join(options.spoolDir, "greenlight-backup-"))
    : undefined;
  const startedAt = now();
  const key = dumpKey(options.prefix, options.stack, options.release, startedAt);
  let upload: Upload | undefined;
  // Settles once the upload has stopped sending parts, so a failed one's id is known for its abort.
  let uploadSettled: Promise<unknown> = Promise.resolve();
  let abandonUpload: () => void = () => undefined;
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
    const trackUpload = (started: Upload, done: Promise<unknown>, abandon: () => void) => {
      upload = started;
      uploadSettled = done.catch(() => undefined);
      abandonUpload = abandon;
    };
    const result = await dumpAndVerify({
      options,
      env,
      client,
      settings,
      session,
      tables,
      sequencesBefore,
      snapshot: snapshot.snapshot,
      pgDump,
      pgRestore,
      key,
      partSize,
      tempDir,
      onUpload: trackUpload,
      stop,
    });
    const checks = [...result.checks, checkSize(result.bytes, previous, options.minSizeRatio)];
    throwIfStopped(stop);
    if (tempDir) {
      const spooled = fs.createReadStream(result.file as string);
      const fromFile = uploadDump(client, options.bucket, key, spooled, partSize);
      const done = fromFile.done();
      trackUpload(fromFile, done, () => spooled.destroy());
      const forgetStop = stop.onStop(() => spooled.destroy());
      await s3Call(settings, options.bucket, `uploading ${key}`, () => done).finally(forgetStop);
    } else {
      result.finishUpload();
      await result.uploadDone;
    }
    uploaded = true;
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
      systemIdentifier: identity.systemIdentifier,
      databaseOid: identity.databaseOid,
      dumpKey: key,
      bytes: result.bytes,
      sha256: result.sha256,
      serverVersion: snapshot.version,
      pgDumpVersion: pgDumpVersion(pgDump, env),
      tableCount: result.content.tables.length,
      tables: result.content.tables,
      sequences: result.content.sequences,
      largeObjects: result.content.largeObjects,
      materializedViews: result.content.materializedViews,
      startedAt: startedAt.toISOString(),
      finishedAt: now().toISOString(),
      seconds: { ...result.seconds, total: (Date.now() - stepStarted) / 1000 },
      verified: options.verify,
      checks,
    };
    // The last chance to stop: once the manifest is written the backup is complete.
    throwIfStopped(stop);
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
    // An upload still waiting for its body fails now; once it stopped sending, its id is final.
    abandonUpload();
    await Promise.race([uploadSettled, new Promise((resolve) => setTimeout(resolve, 60_000).unref())]);
    const uploadId = upload?.uploadId;
    const leftovers = await removePartial(client, options.bucket, key, uploadId);
    const bucketState =
      leftovers.length > 0
        ? `cleanup incomplete: ${leftovers.join("; ")}; no manifest was written, so no step will use it`
        : uploaded
          ? "the dump object was removed; no manifest was written"
          : uploadId
            ? "the partial upload was aborted; no manifest was written"
            : "nothing was written to the bucket";
    const spool = tempDir && removeSpool(tempDir) ? "; the spool file was removed" : "";
    if (stop.signal) throw stoppedError(stop, bucketState + spool);
    throw new StepError(`${failure.message} (${bucketState}${spool})`, failure.exitCode);
  } finally {
    await session.query("ROLLBACK").catch(() => undefined);
    await session.end().catch(() => undefined);
    if (tempDir) removeSpool(tempDir);
  }
}

/** Removes the spool directory; true when it is gone. */
function removeSpool(dir: string): boolean {
  fs.rmSync(dir, { recursive: true, force: true });
  return !fs.existsSync(dir);
}
