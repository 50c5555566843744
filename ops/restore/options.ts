// The restore's options and their checks: the step (index.ts) and its command line (cli.ts) both read
// them.
import { SQL_IDENTIFIER } from "../../contract/patterns";
import { BackupLocation, badOption, validateFreeDiskPercent, validateLocation } from "../lib/data-options";

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
  /** Drill only: leave the verified copy, with production's owners and grants, to the rehearse step. */
  keepForRehearsal?: boolean;
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

export function validateRestoreOptions(options: RestoreOptions): void {
  validateLocation(options);
  if (!SQL_IDENTIFIER.test(options.maintenanceDb))
    throw badOption(`--maintenance-db ${JSON.stringify(options.maintenanceDb)} is not a plain identifier`);
  if (!(Number.isInteger(options.jobs) && options.jobs >= 1 && options.jobs <= 64))
    throw badOption(`--jobs ${options.jobs}: use 1-64`);
  validateFreeDiskPercent(options.minFreeDiskPercent);
  if (options.keepForRehearsal && !options.drill)
    throw badOption("--keep-for-rehearsal keeps a drill's copy: add --drill (a real restore keeps nothing)");
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
