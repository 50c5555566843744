// Restores one backup, phase by phase, each in its own module and testable alone: checks (the target
// and the disk, checks.ts), download (through sha256, download.ts), checks again (the archive's table
// of contents), restore (pg_restore into a new database, tables checksummed as their data lands,
// pg-restore.ts), compare (summary.ts, compare.ts), then swap (a real restore swaps the new database
// in, database.ts), hand-over (a drill that a rehearsal follows leaves its copy to the rehearse step,
// handover.ts) or drop (a plain drill).
import * as fs from "fs";
import * as path from "path";
import { Client } from "pg";
import { BackupManifest, findReleaseBackup } from "../lib/manifest";
import { connect, describePgError, pgBinary } from "../lib/postgres";
import { s3Client, s3Settings } from "../lib/s3";
import { StepError, StopRequest, progress, requireEnv } from "../lib/step";
import { Stop, stoppedError, throwIfStopped } from "../lib/stop";
import { checkArchive, checkTarget } from "./checks";
import { ContentComparison } from "./compare";
import { createDatabaseLike, derivedDatabaseName, dropDatabase, swapIn } from "./database";
import { downloadDump } from "./download";
import {
  dropLeftoverCopies,
  handOverForRehearsal,
  markRehearsalCopy,
  rehearsalCopyName,
  rehearsalMarker,
} from "./handover";
import { RestoreOptions, validateRestoreOptions } from "./options";
import { restoreInto } from "./pg-restore";
import { compareRestored, manifestMethods } from "./summary";

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
  /** Drill before a rehearsal: the verified copy left for the rehearse step, which drops it. */
  keptDatabase?: string;
  seconds: { download: number; restore: number; compare: number; total: number };
}

/** The new database a restore builds, and what has become of it; cleanUp drops it unless it was kept. */
class NewDatabase {
  private creating: Promise<void> = Promise.resolve();
  private created = false;
  /** Swapped in (real restore) or handed over (rehearsal copy): no longer the restore's to drop. */
  settled = false;

  constructor(
    private readonly admin: Client,
    readonly name: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** Starts creating it like `like`; the download goes on meanwhile. */
  create(like: string | undefined, marker?: string): void {
    this.creating = createDatabaseLike(this.admin, this.name, like).then(async () => {
      this.created = true;
      if (marker) await markRehearsalCopy(this.admin, this.name, marker);
    });
    this.creating.catch(() => undefined);
  }

  ready(): Promise<void> {
    return this.creating;
  }

  /** Drops it unless it was settled; says what it did. */
  async cleanUp(): Promise<string> {
    await this.creating.catch(() => undefined);
    if (!this.created || this.settled) return "created no database";
    this.created = false;
    return dropDatabase(this.admin, this.name).then(
      () => `dropped ${this.name}`,
      (error: unknown) =>
        `could not drop ${this.name} (${describePgError(error, this.env)}): drop it by hand`,
    );
  }
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

  // The backup and the database at once; the database before the download: a wrong password or a
  // closed port fails in a second, not after minutes of downloading.
  const connecting = connect(env, options.maintenanceDb, "greenlight-restore");
  connecting.catch(() => undefined);
  let manifest: BackupManifest;
  try {
    ({ manifest } = await findReleaseBackup(client, settings, options));
    throwIfStopped(stop);
  } catch (error) {
    await connecting.then((admin) => admin.end()).catch(() => undefined);
    throw error;
  }
  const admin = await connecting;
  // It waits idle while the dump downloads: a server-side idle timeout must not end it.
  await admin.query("SELECT set_config('idle_session_timeout', '0', false)").catch(() => undefined);
  try {
    await checkTarget(admin, manifest, {
      targetDb: options.drill ? undefined : options.targetDb,
      allowOtherDatabase: options.allowOtherDatabase,
      spoolDir: options.spoolDir,
      minFreeDiskPercent: options.minFreeDiskPercent,
    });
    throwIfStopped(stop);
  } catch (error) {
    await admin.end().catch(() => undefined);
    throw error;
  }
  const workDir = fs.mkdtempSync(path.join(options.spoolDir, "greenlight-restore-"));
  const file = path.join(workDir, "dump");
  const at = now();
  const keep = options.drill && options.keepForRehearsal === true;
  const marker = keep ? rehearsalMarker(sourceDatabase, options.stack, manifest.release, at) : undefined;
  const database = new NewDatabase(
    admin,
    keep
      ? rehearsalCopyName(sourceDatabase, at)
      : options.drill
        ? derivedDatabaseName(sourceDatabase, "drill", at)
        : derivedDatabaseName(options.targetDb as string, "restore", at),
    env,
  );
  let endSessions = async () => undefined as void;
  /** Ends the sessions, drops what was created and removes the download; says what it did. */
  const cleanUp = async (): Promise<string> => {
    await endSessions();
    const dropped = await database.cleanUp();
    fs.rmSync(workDir, { recursive: true, force: true });
    return `${dropped} and ${fs.existsSync(workDir) ? `could not remove ${workDir}` : "removed the downloaded dump"}`;
  };
  try {
    if (keep) {
      const leftovers = await dropLeftoverCopies(admin, sourceDatabase, options.stack);
      if (leftovers.length > 0)
        progress(
          STEP,
          `dropped ${leftovers.join(", ")}, left by an update that stopped before its rehearsal`,
        );
    }
    // The empty database is created while the dump downloads (nothing is restored into it before the
    // sha256 matched); a failed download or a stop drops it like any other failure.
    throwIfStopped(stop);
    database.create(options.drill ? sourceDatabase : options.targetDb, marker);
    await downloadDump({
      client,
      settings,
      bucket: options.bucket,
      manifest,
      file,
      progressSeconds: options.progressSeconds,
      stop,
      step: STEP,
    });
    const downloaded = Date.now();
    const items = await checkArchive(pgRestore, file, manifest, env, stop);
    await database.ready();
    throwIfStopped(stop);
    const restored = await restoreInto({
      pgRestore,
      file,
      database: database.name,
      jobs: options.jobs,
      withOwnersAndGrants: !options.drill || keep,
      env,
      admin,
      stop,
      items,
      methods: manifestMethods(manifest),
      progressSeconds: options.progressSeconds,
      step: STEP,
    });
    endSessions = restored.end;
    const restoredAt = Date.now();

    const live = options.compareLive || manifest.tables.length === 0;
    const comparison = await compareRestored({
      env,
      manifest,
      database: database.name,
      liveSource: live ? sourceDatabase : undefined,
      jobs: options.jobs,
      stop,
      known: restored.known,
      sessions: restored.sessions,
    });
    // Renaming the restored database needs it free of sessions.
    await endSessions();
    const { matched } = comparison;
    const compared = Date.now();

    let previousDatabase: string | null | undefined;
    throwIfStopped(stop);
    if (!options.drill && matched) {
      // Once swapped the restore is complete: a stop after this point has nothing left to undo.
      previousDatabase = await swapIn(
        admin,
        database.name,
        options.targetDb as string,
        derivedDatabaseName(options.targetDb as string, "before", at),
        stop,
      );
      database.settled = true;
    }
    if (keep && matched) {
      await handOverForRehearsal(admin, database.name, sourceDatabase, marker as string);
      database.settled = true;
    }
    const report: RestoreReport = {
      mode: options.drill ? "drill" : "restore",
      release: manifest.release,
      dumpKey: manifest.dumpKey,
      bytes: manifest.bytes,
      sha256: manifest.sha256,
      database: options.drill ? database.name : (options.targetDb as string),
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
      ...(keep && matched ? { keptDatabase: database.name } : {}),
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
        `${report.largeObjects?.restoredCount ?? "no"} large objects and ${report.materializedViews?.length ?? "no"} materialized views match (${report.comparedWith}); ${report.seconds.total.toFixed(1)} s` +
        (report.keptDatabase ? `; ${report.keptDatabase} is left for the rehearsal` : ""),
    );
    return report;
  } catch (error) {
    if (stop.signal) {
      const untouched = options.drill || database.settled ? "" : `; ${options.targetDb} was not touched`;
      throw stoppedError(stop, (await cleanUp()) + untouched);
    }
    if (error instanceof StepError) throw error;
    throw new StepError(describePgError(error, env, database.name));
  } finally {
    await cleanUp();
    await admin.end().catch(() => undefined);
  }
}
