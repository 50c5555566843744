// Restore (the step-by-step production playbook, "Database rollback … restore dump") and its drill. The backup's sha256 is checked
// before anything is restored; the restored database is compared table by table (rows and a content
// checksum) with the source as the backup saw it. --drill restores into a scratch database and drops
// it; a real restore (--target-db, --confirm) builds the new database beside the old one and swaps
// names in one transaction, keeping the old database, so a failed restore loses nothing.
// This file is the step's command line; index.ts restores, compare.ts compares, database.ts creates,
// swaps and drops databases, and options.ts holds the options and their checks.
import * as os from "os";
import { locationOptions, numberOption } from "../lib/data-options";
import { StepCommand, StepError } from "../lib/step";
import { AWS_REGION } from "../../contract/patterns";
import type { RestoreOptions } from "./options";
import { withDatabaseTls } from "../lib/postgres/tls";

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
    keepForRehearsal: options.keepForRehearsal === true,
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
        "--preflight",
        "with --target-db: check everything a real restore needs (S3, the backup, pg_restore, the database, the disk) and change nothing",
      )
      .option("--region <region>", "AWS region of the bucket (default: AWS_REGION)")
      .option("--endpoint <url>", "S3-compatible endpoint (default: GREENLIGHT_S3_ENDPOINT)")
      .option(
        "--allow-other-database",
        "restore for real into a database other than the one backed up (another name or server)",
      )
      .option("--drill", "restore into a scratch database, compare, drop it")
      .option(
        "--keep-for-rehearsal",
        "with --drill: restore owners and grants, and leave the verified copy to the rehearse step (which drops it)",
      )
      .option("--jobs <n>", "pg_restore --jobs", String(Math.min(4, os.cpus().length)))
      .option("--spool-dir <dir>", "where the downloaded dump is kept while restoring", os.tmpdir())
      .option("--min-free-disk-percent <percent>", "free disk that must remain after the download", "15")
      .option("--compare-live", "compare with the live PGDATABASE instead of the backup's snapshot")
      .option("--maintenance-db <name>", "database used to create, rename and drop databases", "postgres")
      .option("--progress-seconds <seconds>", "seconds between progress lines on stderr", "5"),
  stopsCleanly: true,
  run: async (options, env, stop) => {
    const parsed = restoreOptions(options);
    if (options.region !== undefined && !AWS_REGION.test(String(options.region)))
      throw new StepError(
        `--region ${JSON.stringify(options.region)} is not an AWS region such as eu-central-1`,
        2,
      );
    // The stack's bucket region and endpoint, as a rollback passes them, win over the environment's.
    const s3Env = {
      ...env,
      ...(options.region !== undefined ? { AWS_REGION: String(options.region) } : {}),
      ...(options.endpoint !== undefined ? { GREENLIGHT_S3_ENDPOINT: String(options.endpoint) } : {}),
    };
    if (options.preflight === true) {
      const { preflightRestore } = await import("./preflight");
      return withDatabaseTls(s3Env, (tlsEnv) => preflightRestore(parsed, tlsEnv));
    }
    // Loaded only when the step runs: the S3 stack (AWS SDK) costs start-up time every other step skips.
    const { restore } = await import(".");
    return withDatabaseTls(s3Env, (tlsEnv) => restore(parsed, tlsEnv, stop));
  },
};
