// The rehearsal's options and their checks: the step (index.ts) and its command line (cli.ts) read them.
import { SQL_IDENTIFIER } from "../../contract/patterns";
import { badOption } from "../lib/data-options";
import { MigrateOptions, validateMigrateOptions } from "../migrate/options";
import { RestoreOptions, validateRestoreOptions } from "../restore/options";
import { Effect } from "./change";

export const MAINTENANCE_MODES = ["off", "on", "read-only"] as const;
export type MaintenanceMode = (typeof MAINTENANCE_MODES)[number];

export interface RehearseOptions extends MigrateOptions {
  /** The verified copy the drill left (its report's keptDatabase); when absent or gone, the step restores the backup itself. */
  copy?: string;
  /** The dump key of the backup to restore when it must (the drill's); default the release's newest. */
  key?: string;
  /** What the release declares (greenlight:schemaBreaking): declared additive and rehearsed breaking is refused. */
  declared: Effect;
  /** A longer rehearsal is refused unless maintenanceMode is on or read-only. */
  maxMigrationSeconds: number;
  /** The release's greenlight:maintenanceMode. */
  maintenanceMode: MaintenanceMode;
  /** Locks on tables at least this large (MB, with indexes and TOAST) are reported. */
  largeTableMb: number;
  /** Milliseconds between two samples of pg_locks. Default 50. */
  lockSampleMs: number;
  /** For restoring the copy when it must: pg_restore --jobs, spool dir, free disk, admin database. */
  jobs: number;
  spoolDir: string;
  minFreeDiskPercent: number;
  maintenanceDb: string;
  progressSeconds: number;
}

/** The restore the rehearsal runs when no copy was handed over: a drill that keeps its copy. */
export function copyRestoreOptions(options: RehearseOptions): RestoreOptions {
  return {
    bucket: options.bucket,
    prefix: options.prefix,
    stack: options.stack,
    release: options.release,
    key: options.key,
    confirm: false,
    allowOtherDatabase: false,
    drill: true,
    keepForRehearsal: true,
    jobs: options.jobs,
    spoolDir: options.spoolDir,
    minFreeDiskPercent: options.minFreeDiskPercent,
    compareLive: false,
    maintenanceDb: options.maintenanceDb,
    progressSeconds: options.progressSeconds,
    now: options.now,
  };
}

export function validateRehearseOptions(options: RehearseOptions): void {
  validateMigrateOptions(options);
  validateRestoreOptions(copyRestoreOptions(options));
  if (options.copy !== undefined && !SQL_IDENTIFIER.test(options.copy))
    throw badOption(`--copy ${JSON.stringify(options.copy)} is not a database name (lower case, digits, _)`);
  if (options.key !== undefined && !/^[A-Za-z0-9._/-]+\.dump$/.test(options.key))
    throw badOption(`--key ${JSON.stringify(options.key)} is not a dump key (…/<timestamp>.dump)`);
  if (options.declared !== "additive" && options.declared !== "breaking")
    throw badOption(`--declared ${JSON.stringify(options.declared)}: use additive or breaking`);
  if (!(Number.isInteger(options.maxMigrationSeconds) && options.maxMigrationSeconds >= 1))
    throw badOption(
      `--max-migration-seconds ${options.maxMigrationSeconds}: use a whole number of seconds ≥ 1`,
    );
  if (!MAINTENANCE_MODES.includes(options.maintenanceMode))
    throw badOption(`--maintenance ${JSON.stringify(options.maintenanceMode)}: use off, on or read-only`);
  if (!(options.largeTableMb >= 0))
    throw badOption(`--large-table-mb ${options.largeTableMb}: use a size in MB ≥ 0`);
  if (!(Number.isInteger(options.lockSampleMs) && options.lockSampleMs >= 10 && options.lockSampleMs <= 5000))
    throw badOption(`--lock-sample-ms ${options.lockSampleMs}: use 10-5000`);
}

/** --large-table-mb in bytes: the size from which a table's locks are sampled and reported. */
export function largeTableBytes(options: Pick<RehearseOptions, "largeTableMb">): number {
  return Math.round(options.largeTableMb * 1e6);
}
