// Restore (seed 004, "Database rollback … restore dump") and its drill. The backup's sha256 is checked
// before anything is restored; the restored database is compared table by table (rows and a content
// checksum) with the source as the backup saw it. --drill restores into a scratch database and drops
// it; a real restore (--target-db, --confirm) builds the new database beside the old one and swaps
// names in one transaction, keeping the old database, so a failed restore loses nothing.
// This file is the step's command line; restore-run.ts restores, restore-compare.ts compares and
// restore-database.ts creates, swaps and drops databases.
import * as os from "os";
import { SQL_IDENTIFIER } from "../../contract/patterns";
import {
  BackupLocation,
  badOption,
  locationOptions,
  numberOption,
  validateFreeDiskPercent,
  validateLocation,
} from "../lib/data-options";
import type { ContentComparison } from "./compare";
import { StepCommand } from "../lib/step";

export interface RestoreOptions extends BackupLocation {
  /** A dump or manifest key of that release; default: its newest verified backup. */
  key?: string;
  /** Real restore: the database to replace (requires confirm). */
  targetDb?: string;
  /** Required for a real restore. */
  confirm: boolean;
  /** A real restore into a database other than the one backed up (another name or server). */
  allowOtherDatabase: boolean;
  /** Restore into a scratch database, compare, drop it. */
  drill: boolean;
  /** pg_restore --jobs. Default min(4, CPUs). */
  jobs: number;
  /** Where the downloaded dump is kept while restoring. Default the OS temp dir. */
  spoolDir: string;
  /** Free disk that must remain after the download, in percent. Default 15. */
  minFreeDiskPercent: number;
  /** Compare with the live source database (PGDATABASE) instead of the manifest's snapshot. */
  compareLive: boolean;
  /** Database the admin connection uses to create, rename and drop databases. Default "postgres". */
  maintenanceDb: string;
  /** Seconds between progress lines; 0 silences them. Default 5. */
  progressSeconds: number;
  now?: () => Date;
}

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

export function validateRestoreOptions(options: RestoreOptions): void {
  validateLocation(options);
  if (!SQL_IDENTIFIER.test(options.maintenanceDb))
    throw badOption(`--maintenance-db ${JSON.stringify(options.maintenanceDb)} is not a plain identifier`);
  if (!(Number.isInteger(options.jobs) && options.jobs >= 1 && options.jobs <= 64))
    throw badOption(`--jobs ${options.jobs}: use 1-64`);
  validateFreeDiskPercent(options.minFreeDiskPercent);
  if (options.drill) {
    if (options.targetDb !== undefined)
      throw badOption(
        "--drill restores into a scratch database and drops it: leave out --target-db (or leave out --drill to restore for real)",
      );
    return;
  }
  if (options.targetDb === undefined)
    throw badOption("give --drill to rehearse, or --target-db <database> --confirm to restore for real");
  if (!SQL_IDENTIFIER.test(options.targetDb))
    throw badOption(
      `--target-db ${JSON.stringify(options.targetDb)} is not a plain identifier (lower case, digits, _)`,
    );
  if (!options.confirm)
    throw badOption(
      `refusing to replace database ${options.targetDb} without --confirm: a restore swaps in the backup's data (the old database is kept under another name); add --confirm once maintenance mode is on`,
    );
}

/** Reads the CLI's options into RestoreOptions. */
export function restoreOptions(options: Record<string, unknown>): RestoreOptions {
  const text = (name: string) => (options[name] === undefined ? undefined : String(options[name]));
  return {
    ...locationOptions(options),
    key: text("key"),
    targetDb: text("targetDb"),
    confirm: options.confirm === true,
    allowOtherDatabase: options.allowOtherDatabase === true,
    drill: options.drill === true,
    jobs: numberOption(options, "jobs", "--jobs"),
    spoolDir: String(options.spoolDir),
    minFreeDiskPercent: numberOption(options, "minFreeDiskPercent", "--min-free-disk-percent"),
    compareLive: options.compareLive === true,
    maintenanceDb: String(options.maintenanceDb),
    progressSeconds: numberOption(options, "progressSeconds", "--progress-seconds"),
  };
}

export const restoreCommand: StepCommand = {
  name: "restore",
  description:
    "Restore a verified backup: --drill into a scratch database and compare every table, or --target-db D --confirm for real",
  options: (command) =>
    command
      .requiredOption("--bucket <name>", "S3 bucket holding the backups")
      .requiredOption("--prefix <prefix>", "key prefix of the backups")
      .requiredOption("--stack <name>", "stack whose backup to restore")
      .requiredOption("--release <id>", "release whose backup to restore (its newest verified one)")
      .option("--key <key>", "a specific dump or manifest key of that release")
      .option("--target-db <database>", "restore for real into this database (needs --confirm)")
      .option("--confirm", "confirm a real restore")
      .option(
        "--allow-other-database",
        "restore for real into a database other than the one backed up (another name or server)",
      )
      .option("--drill", "restore into a scratch database, compare, drop it")
      .option("--jobs <n>", "pg_restore --jobs", String(Math.min(4, os.cpus().length)))
      .option("--spool-dir <dir>", "where the downloaded dump is kept while restoring", os.tmpdir())
      .option("--min-free-disk-percent <percent>", "free disk that must remain after the download", "15")
      .option("--compare-live", "compare with the live PGDATABASE instead of the backup's snapshot")
      .option("--maintenance-db <name>", "database used to create, rename and drop databases", "postgres")
      .option("--progress-seconds <seconds>", "seconds between progress lines on stderr", "5"),
  stopsCleanly: true,
  run: async (options, env, stop) => {
    const parsed = restoreOptions(options);
    // Loaded only when the step runs: the S3 stack (AWS SDK) costs start-up time every other step skips.
    const { restore } = await import(".");
    return restore(parsed, env, stop);
  },
};
