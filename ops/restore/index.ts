// Restores one backup: downloads the dump through sha256, checks its table of contents, restores it
// with pg_restore into a new database (tables whose data is in are compared while indexes still
// build), compares every table, then swaps the new database in (restore) or drops it (drill).
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as readline from "readline";
import { Client } from "pg";
import { otherDatabase, serverIdentifier } from "../lib/postgres/identity";
import { requireFreeDisk } from "../lib/disk";
import { BackupManifest, checkDigest, findReleaseBackup } from "../lib/manifest";
import {
  ArchiveTable,
  finishedTableData,
  listArchive,
  tableDataEntries,
  tableDataItems,
} from "../lib/postgres/archive";
import {
  TableSummary,
  checksumTable,
  connect,
  connectForChecksums,
  describePgError,
  pgBinary,
} from "../lib/postgres";
import { RestoreOptions, validateRestoreOptions } from "./options";
import { ContentComparison, compareContent, manifestContent, summarize, summarizeContent } from "./compare";
import { createDatabaseLike, derivedDatabaseName, dropDatabase, swapIn } from "./database";
import { downloadObject, s3Call, s3Client, s3Settings } from "../lib/s3";
import { StepError, StopRequest, progress, requireEnv } from "../lib/step";
import { Stop, killOnStop, stoppedError, throwIfStopped } from "../lib/stop";
import { describeExit, firstErrorLine, formatRate, newMeter, startProgress, childExit } from "../lib/stream";

const STEP = "restore";

/** What the restore compared (ContentComparison, without the reason's wording) and how it went. */
export interface RestoreReport extends Omit<ContentComparison, "differences"> {
  mode: "drill" | "restore";
  release: string;
  dumpKey: string;
  bytes: number;
  sha256: string;
  /** The scratch database (drill) or the target (restore). */
  database: string;
  /** What the restored tables were compared with. */
  comparedWith: "snapshot" | "live";
  sourceDatabase: string;
  /** Real restore: the replaced database, kept under this name (drop it once satisfied). */
  previousDatabase?: string | null;
  seconds: { download: number; restore: number; compare: number; total: number };
}

/** Restores a backup (drill or real) and compares every table; throws with the report on a mismatch. */
export async function restore(
  options: RestoreOptions,
  env: NodeJS.ProcessEnv,
  stop: StopRequest = new Stop(),
): Promise<RestoreReport> {
  validateRestoreOptions(options);
  const started = Date.now();
  const now = options.now ?? (() => new Date());
  const settings = s3Settings(env);
  const client = s3Client(settings);
  const pgRestore = pgBinary("pg_restore", env);
  const sourceDatabase =
    options.drill || options.compareLive
      ? requireEnv(env, "PGDATABASE", "the source database the restored copy is compared with")
      : (env.PGDATABASE ?? (options.targetDb as string));

  const { manifest } = await findReleaseBackup(client, settings, options);
  throwIfStopped(stop);
  // The database before the download: a wrong password or a closed port fails in a second, not
  // after minutes of downloading.
  const admin = await connect(env, options.maintenanceDb, "greenlight-restore");
  // It waits idle while the dump downloads: a server-side idle timeout must not end it.
  await admin.query("SELECT set_config('idle_session_timeout', '0', false)").catch(() => undefined);
  try {
    if (!options.drill && !options.allowOtherDatabase) {
      const other = otherDatabase(manifest, {
        systemIdentifier: await serverIdentifier(admin),
        database: options.targetDb as string,
      });
      if (other)
        throw new StepError(
          `${other}: add --allow-other-database to restore it there (the target's content is replaced by another database's)`,
          2,
        );
    }
    await requireFreeDisk(
      options.spoolDir,
      manifest.bytes,
      options.minFreeDiskPercent,
      `downloading ${manifest.dumpKey}`,
    );
    throwIfStopped(stop);
  } catch (error) {
    await admin.end().catch(() => undefined);
    throw error;
  }
  const workDir = fs.mkdtempSync(path.join(options.spoolDir, "greenlight-restore-"));
  const file = path.join(workDir, "dump");
  const at = now();
  const database = options.drill
    ? derivedDatabaseName(sourceDatabase, "drill", at)
    : derivedDatabaseName(options.targetDb as string, "restore", at);
  let early: Client[] = [];
  let created = false;
  let swapped = false;
  // The empty database is created while the dump downloads (nothing is restored into it before the
  // sha256 matched); a failed download or a stop drops it like any other failure.
  throwIfStopped(stop);
  const creating = createDatabaseLike(
    admin,
    database,
    options.drill ? sourceDatabase : options.targetDb,
  ).then(() => {
    created = true;
  });
  creating.catch(() => undefined);
  /** Ends the sessions, drops what was created and removes the download; says what it did. */
  const cleanUp = async (): Promise<string> => {
    await Promise.all(early.map((session) => session.end().catch(() => undefined)));
    early = [];
    await creating.catch(() => undefined);
    let dropped = "created no database";
    if (created && !swapped) {
      dropped = await dropDatabase(admin, database).then(
        () => `dropped ${database}`,
        (error: unknown) => `could not drop ${database} (${describePgError(error, env)}): drop it by hand`,
      );
      created = false;
    }
    fs.rmSync(workDir, { recursive: true, force: true });
    return `${dropped} and ${fs.existsSync(workDir) ? `could not remove ${workDir}` : "removed the downloaded dump"}`;
  };
  try {
    const meter = newMeter();
    const stopDownload = startProgress(STEP, () => `download: ${formatRate(meter)}`, options.progressSeconds);
    const stored = await s3Call(settings, options.bucket, `downloading ${manifest.dumpKey}`, () =>
      downloadObject(
        client,
        options.bucket,
        manifest.dumpKey,
        file,
        (bytes) => (meter.bytes = bytes),
        stop.abortSignal,
      ),
    ).finally(stopDownload);
    checkDigest(manifest, stored);
    const downloaded = Date.now();
    progress(STEP, `${manifest.dumpKey}: sha256 matches the manifest (${stored.bytes} bytes)`);
    const items = await checkArchive(pgRestore, file, manifest, env, stop);

    await creating;
    throwIfStopped(stop);
    const methods = new Map(manifest.tables.map((table) => [`${table.schema}.${table.name}`, table.method]));
    // Tables whose data is complete are checksummed while pg_restore goes on, on up to --jobs
    // connections (a table waits for a free one).
    early = await Promise.all(
      Array.from({ length: Math.max(1, Math.min(options.jobs, items.size)) }, () =>
        connectForChecksums(env, database, "greenlight-restore-compare", stop),
      ),
    );
    const free = [...early];
    const waiting: ((client: Client) => void)[] = [];
    const acquire = () =>
      new Promise<Client>((resolve) => {
        const client = free.pop();
        if (client) resolve(client);
        else waiting.push(resolve);
      });
    const release = (client: Client) => {
      const next = waiting.shift();
      if (next) next(client);
      else free.push(client);
    };
    const known = new Map<string, Promise<TableSummary>>();
    await runPgRestore(pgRestore, file, database, options, env, admin, stop, (dumpId) => {
      const table = items.get(dumpId);
      if (!table) return;
      const summary = acquire().then((client) =>
        checksumTable(client, table, { method: methods.get(`${table.schema}.${table.name}`) }).finally(() =>
          release(client),
        ),
      );
      // Awaited in summarize(); a failure must not surface earlier as an unhandled rejection.
      summary.catch(() => undefined);
      known.set(`${table.schema}.${table.name}`, summary);
    });
    const restoredAt = Date.now();
    progress(STEP, `${known.size} of ${items.size} tables queued for comparison while pg_restore ran`);

    const live = options.compareLive || manifest.tables.length === 0;
    const [sourceTables, restoredTables, sourceContent, restoredContent] = await Promise.all([
      live ? summarize(env, sourceDatabase, options.jobs, methods, stop) : Promise.resolve(manifest.tables),
      summarize(env, database, options.jobs, methods, stop, known),
      live
        ? summarizeContent(env, sourceDatabase, methods, stop)
        : Promise.resolve(manifestContent(manifest)),
      summarizeContent(env, database, methods, stop),
    ]);
    // Renaming the restored database needs it free of sessions.
    await Promise.all(early.map((client) => client.end()));
    early = [];
    const comparison = compareContent(
      { tables: sourceTables, content: sourceContent },
      { tables: restoredTables, content: restoredContent },
    );
    const { matched } = comparison;
    const compared = Date.now();

    let previousDatabase: string | null | undefined;
    throwIfStopped(stop);
    if (!options.drill && matched) {
      // Once swapped the restore is complete: a stop after this point has nothing left to undo.
      previousDatabase = await swapIn(
        admin,
        database,
        options.targetDb as string,
        derivedDatabaseName(options.targetDb as string, "before", at),
        stop,
      );
      swapped = true;
    }
    const report: RestoreReport = {
      mode: options.drill ? "drill" : "restore",
      release: manifest.release,
      dumpKey: manifest.dumpKey,
      bytes: manifest.bytes,
      sha256: manifest.sha256,
      database: options.drill ? database : (options.targetDb as string),
      comparedWith: live ? "live" : "snapshot",
      sourceDatabase: live ? sourceDatabase : manifest.database,
      tables: comparison.tables,
      sequences: comparison.sequences,
      largeObjects: comparison.largeObjects,
      materializedViews: comparison.materializedViews,
      notCompared: comparison.notCompared,
      notes: comparison.notes,
      matched,
      ...(options.drill ? {} : { previousDatabase: previousDatabase ?? null }),
      seconds: {
        download: (downloaded - started) / 1000,
        restore: (restoredAt - downloaded) / 1000,
        compare: (compared - restoredAt) / 1000,
        total: (Date.now() - started) / 1000,
      },
    };
    for (const note of comparison.notes) progress(STEP, note);
    if (!matched) {
      throw new StepError(
        `the restored copy of ${manifest.dumpKey} differs from the ${live ? `live database ${sourceDatabase}` : "source as dumped"} in ${comparison.differences.join("; in ")}` +
          (options.drill ? "" : `; ${options.targetDb} was left untouched`),
        1,
        report,
      );
    }
    progress(
      STEP,
      `${report.mode}: ${report.tables.length} tables, ${report.sequences?.length ?? "no"} sequences, ` +
        `${report.largeObjects?.restoredCount ?? "no"} large objects and ${report.materializedViews?.length ?? "no"} materialized views match (${report.comparedWith}); ${report.seconds.total.toFixed(1)} s`,
    );
    return report;
  } catch (error) {
    if (stop.signal) {
      const untouched = options.drill || swapped ? "" : `; ${options.targetDb} was not touched`;
      throw stoppedError(stop, (await cleanUp()) + untouched);
    }
    if (error instanceof StepError) throw error;
    throw new StepError(describePgError(error, env, database));
  } finally {
    await cleanUp();
    await admin.end().catch(() => undefined);
  }
}

/** `pg_restore --list`: the table of contents must be readable and list every table of the manifest. */
async function checkArchive(
  pgRestore: string,
  file: string,
  manifest: BackupManifest,
  env: NodeJS.ProcessEnv,
  stop: StopRequest,
): Promise<Map<number, ArchiveTable>> {
  const lister = listArchive(pgRestore, env, file);
  killOnStop(stop, lister.child);
  const { exit, stdout: listing } = await lister.result;
  throwIfStopped(stop);
  if (exit.code !== 0)
    throw new StepError(
      `pg_restore --list ${manifest.dumpKey} failed (${describeExit(exit)}: ${firstErrorLine(exit.stderr)}): the archive is unreadable`,
    );
  const listed = tableDataEntries(listing);
  if (manifest.tables.length > 0 && listed !== manifest.tableCount)
    throw new StepError(
      `${manifest.dumpKey} lists data for ${listed} tables, its manifest ${manifest.tableCount}: the archive is incomplete`,
    );
  return tableDataItems(listing);
}

async function runPgRestore(
  pgRestore: string,
  file: string,
  database: string,
  options: RestoreOptions,
  env: NodeJS.ProcessEnv,
  admin: Client,
  stop: StopRequest,
  onTableData: (dumpId: number) => void,
): Promise<void> {
  // A drill checks content: ownership and grants need roles the scratch server may not have.
  const args = ["--no-password", "--exit-on-error", `--jobs=${options.jobs}`, `--dbname=${database}`];
  if (options.drill) args.push("--no-owner", "--no-acl");
  // In parallel mode --verbose reports each finished item, so tables can be compared while indexes build.
  if (options.jobs > 1) args.push("--verbose");
  const child = spawn(pgRestore, [...args, file], { env, stdio: ["ignore", "ignore", "pipe"] });
  const exit = childExit(child);
  killOnStop(stop, child);
  if (child.stderr)
    readline.createInterface({ input: child.stderr }).on("line", (line) => {
      const dumpId = finishedTableData(line);
      if (dumpId !== undefined) onTableData(dumpId);
    });
  let size = 0;
  const startedAt = Date.now();
  const timer =
    options.progressSeconds > 0
      ? setInterval(() => {
          admin
            .query<{ size: string }>("SELECT pg_database_size($1)::text AS size", [database])
            .then((result) => (size = Number(result.rows[0].size)))
            .catch(() => undefined);
          progress(
            STEP,
            `pg_restore into ${database}: ${((Date.now() - startedAt) / 1000).toFixed(0)} s, ${(size / 1e6).toFixed(0)} MB`,
          );
        }, options.progressSeconds * 1000)
      : undefined;
  const result = await exit.finally(() => clearInterval(timer));
  throwIfStopped(stop);
  if (result.code !== 0)
    throw new StepError(
      `pg_restore into ${database} failed (${describeExit(result)}): ${firstErrorLine(result.stderr)}`,
    );
}
