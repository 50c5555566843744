// One pass of pg_dump: its output goes through a sha256 tap to the upload (or the spool file) and,
// to verify it, into pg_restore twice (a full read, and --list for the table of contents), while the
// table checksums run in the dump's own snapshot.
import { ChildProcess, spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PassThrough, Writable } from "stream";
import type { S3Client } from "@aws-sdk/client-s3";
import type { Upload } from "@aws-sdk/lib-storage";
import { Client } from "pg";
import { BackupOptions } from "./options";
import {
  LargeObjectSummary,
  MaterializedViewSummary,
  SequenceState,
  SequenceSummary,
  largeObjectSummary,
  materializedViewSummaries,
  sequenceStates,
  sequencesAround,
} from "../lib/postgres/content";
import { diskSpace, freeAfterPercent } from "../lib/disk";
import { listArchive, tableDataEntries } from "../lib/postgres/archive";
import { TableSummary, checksumTable, describePgError } from "../lib/postgres";
import { S3Settings, describeS3Error, uploadDump } from "../lib/s3";
import { StepError, StopRequest } from "../lib/step";
import { stoppedError } from "../lib/stop";
import {
  ChildResult,
  Sink,
  childExit,
  describeExit,
  fanOut,
  firstErrorLine,
  formatRate,
  kill,
  newMeter,
  startProgress,
} from "../lib/stream";

const STEP = "backup";

/** What the backup saw of the database: tables, sequences, large objects, materialized views. */
export interface SnapshotContent {
  tables: TableSummary[];
  sequences: SequenceSummary[];
  largeObjects: LargeObjectSummary;
  materializedViews: MaterializedViewSummary[];
}

/**
 * Each table's and materialized view's rows and checksum and the large objects, inside the snapshot
 * transaction; then, once pg_dump has written its first byte (it reads the sequences before it
 * writes anything), a second read of the sequences, so each one's dumped value lies between the two.
 */
async function snapshotContent(
  session: Client,
  tables: { schema: string; name: string }[],
  sequencesBefore: SequenceState[],
  dumpStarted: Promise<unknown>,
): Promise<SnapshotContent> {
  const summaries: TableSummary[] = [];
  for (const table of tables) summaries.push(await checksumTable(session, table, { inTransaction: true }));
  const materializedViews = await materializedViewSummaries(session, new Map(), { inTransaction: true });
  const largeObjects = await largeObjectSummary(session);
  await dumpStarted;
  const sequences = sequencesAround(sequencesBefore, await sequenceStates(session));
  return { tables: summaries, sequences, largeObjects, materializedViews };
}

export interface DumpRun {
  options: BackupOptions;
  env: NodeJS.ProcessEnv;
  client: S3Client;
  settings: S3Settings;
  session: Client;
  tables: { schema: string; name: string }[];
  /** The sequences as read in the snapshot transaction before pg_dump started. */
  sequencesBefore: SequenceState[];
  snapshot: string;
  pgDump: string;
  pgRestore: string;
  key: string;
  partSize: number;
  tempDir?: string;
  /**
   * Called with the streaming upload, its outcome (settled once it stopped sending) and a function
   * that fails it (destroys its body), for a failure after the dump.
   */
  onUpload(upload: Upload, done: Promise<unknown>, abandon: () => void): void;
  /** A stop request fails the dump at once: children killed, upload body destroyed. */
  stop: StopRequest;
}

export interface DumpResult {
  bytes: number;
  sha256: string;
  content: SnapshotContent;
  checks: string[];
  /** Wall seconds of pg_dump and of the snapshot's checksum pass (they run side by side). */
  seconds: { dump: number; checksums: number };
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
export async function dumpAndVerify(run: DumpRun): Promise<DumpResult> {
  const { options, env } = run;
  const started = Date.now();
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
  const forgetStop = run.stop.onStop(() => fail(stoppedError(run.stop)));

  if (run.tempDir) {
    file = path.join(run.tempDir, "dump");
    sinks.push({ name: "spool file", stream: fs.createWriteStream(file, { mode: 0o600 }) });
  } else {
    body = new PassThrough({ highWaterMark: 1024 * 1024 });
    const upload = uploadDump(run.client, options.bucket, run.key, body, run.partSize);
    uploadDone = upload.done();
    const streamed = body;
    run.onUpload(upload, uploadDone, () => streamed.destroy());
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
    const lister = listArchive(run.pgRestore, env);
    children.push(reader, lister.child);
    fullRead = childExit(reader);
    listing = lister.result;
    // The read-back runs at a lower priority with up to 8 MB of lag, so on a busy machine it takes
    // its CPU where pg_dump (the backup's critical path) leaves some, and catches up at the end.
    if (reader.pid !== undefined) os.setPriority(reader.pid, 10);
    sinks.push({
      name: "pg_restore (full read)",
      stream: reader.stdin as Writable,
      lagBytes: 8 * 1024 * 1024,
    });
    // --list stops reading after the table of contents: an optional sink.
    sinks.push({ name: "pg_restore --list", stream: lister.child.stdin as Writable, optional: true });
  }

  const stopProgress = startProgress(STEP, () => `dump: ${formatRate(meter)}`, options.progressSeconds);
  const stopDiskWatch = file
    ? watchDisk(run.tempDir as string, options.minFreeDiskPercent, fail)
    : () => undefined;
  let firstByte: () => void = () => undefined;
  const dumpStarted = new Promise<void>((resolve) => (firstByte = resolve));
  const streaming = fanOut(dump.stdout, sinks, (chunk) => {
    if (meter.bytes === 0) firstByte();
    hash.update(chunk);
    meter.bytes += chunk.length;
  }).catch((error: Error) => {
    fail(new StepError(`streaming the dump failed: ${error.message}`));
  });
  let checksumSeconds = 0;
  let dumpSeconds = 0;
  dumpExit.then(() => (dumpSeconds = (Date.now() - started) / 1000)).catch(() => undefined);
  const checksums = snapshotContent(
    run.session,
    run.tables,
    run.sequencesBefore,
    Promise.race([dumpStarted, dumpExit]),
  )
    .finally(() => (checksumSeconds = (Date.now() - started) / 1000))
    .catch((error: unknown) => {
      fail(new StepError(`table checksums in the dump's snapshot failed: ${describePgError(error, env)}`));
      return undefined;
    });

  const [exit] = await Promise.all([dumpExit, streaming]);
  if (exit.code !== 0 && !firstFailure) {
    fail(
      new StepError(
        `pg_dump failed (${describeExit(exit)}) after ${formatRate(meter)}: ${firstErrorLine(exit.stderr)}`,
      ),
    );
  }
  const content = await checksums;
  const readResult = fullRead ? await fullRead : undefined;
  const listResult = listing ? await listing : undefined;
  stopProgress();
  stopDiskWatch();
  forgetStop();
  if (firstFailure) throw firstFailure;
  if (!content) throw new StepError("the snapshot's checksums ended without a result");
  const tables = content.tables;

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
    content,
    checks,
    seconds: { dump: dumpSeconds, checksums: checksumSeconds },
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
