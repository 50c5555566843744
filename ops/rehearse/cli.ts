// The migration rehearsal (the step-by-step production playbook's "Dry-run migration in staging one
// last time", on the restore drill's verified copy of production): the release's own migration in a
// one-off container of its image, as the migrator role, against the copy; the schema classified from
// the catalog before and after, locks sampled while it runs; a failure or a refusal stops the update
// before production's migration. This file is the step's command line; index.ts rehearses.
import * as os from "os";
import { locationOptions, numberOption } from "../lib/data-options";
import { withDatabaseTls } from "../lib/postgres/tls";
import { StepCommand } from "../lib/step";
import { migrateOptions } from "../migrate/cli";
import type { MaintenanceMode, RehearseOptions } from "./options";

/** Reads the CLI's options into RehearseOptions. */
export function rehearseOptions(options: Record<string, unknown>): RehearseOptions {
  const text = (name: string) => (options[name] === undefined ? undefined : String(options[name]));
  return {
    ...migrateOptions(options),
    ...locationOptions(options),
    copy: text("copy"),
    key: text("key"),
    declared: String(options.declared) as RehearseOptions["declared"],
    maxMigrationSeconds: numberOption(options, "maxMigrationSeconds", "--max-migration-seconds"),
    maintenanceMode: String(options.maintenance) as MaintenanceMode,
    largeTableMb: numberOption(options, "largeTableMb", "--large-table-mb"),
    lockSampleMs: numberOption(options, "lockSampleMs", "--lock-sample-ms"),
    jobs: numberOption(options, "jobs", "--jobs"),
    spoolDir: String(options.spoolDir),
    minFreeDiskPercent: numberOption(options, "minFreeDiskPercent", "--min-free-disk-percent"),
    maintenanceDb: String(options.maintenanceDb),
    progressSeconds: numberOption(options, "progressSeconds", "--progress-seconds"),
  };
}

export const rehearseCommand: StepCommand = {
  name: "rehearse",
  description:
    "Rehearse the release's migration on the drill's verified copy: classify the schema change, sample its locks, refuse before production is touched",
  options: (command) =>
    command
      .requiredOption("--bucket <name>", "S3 bucket holding the backups")
      .requiredOption("--prefix <prefix>", "key prefix of the backups")
      .requiredOption("--stack <name>", "stack name")
      .requiredOption("--release <id>", "release whose migration to rehearse")
      .requiredOption("--image <ref>", "release image to run the migration in")
      .requiredOption(
        "--command-json <json>",
        'migration command, exec form, e.g. \'["node","/app/migrate.js"]\'',
      )
      .option(
        "--copy <database>",
        "the copy the drill left (--keep-for-rehearsal); else the backup is restored",
      )
      .option(
        "--key <key>",
        "the dump to restore when no copy was handed over (default: the release's newest)",
      )
      .option("--declared <effect>", "what the release declares: additive or breaking", "additive")
      .option("--max-migration-seconds <seconds>", "longest migration without maintenance mode", "120")
      .option("--maintenance <mode>", "the release's maintenance mode: off, on or read-only", "off")
      .option("--large-table-mb <mb>", "report locks on tables at least this large", "100")
      .option("--lock-sample-ms <ms>", "milliseconds between samples of pg_locks", "50")
      .option("--network <name>", "Docker network of the container: host or a network name", "host")
      .option("--timeout-seconds <seconds>", "longest run of the migration container", "900")
      .option("--docker <path>", "docker CLI", "docker")
      .option(
        "--jobs <n>",
        "pg_restore --jobs when the copy must be restored",
        String(Math.min(4, os.cpus().length)),
      )
      .option("--spool-dir <dir>", "where a downloaded dump is kept while restoring", os.tmpdir())
      .option("--min-free-disk-percent <percent>", "free disk that must remain after a download", "15")
      .option("--maintenance-db <name>", "database used to create and drop databases", "postgres")
      .option("--progress-seconds <seconds>", "seconds between progress lines on stderr", "5"),
  stopsCleanly: true,
  run: async (options, env, stop) => {
    const parsed = rehearseOptions(options);
    // Loaded only when the step runs: the restore it may need loads the AWS SDK.
    const { rehearse } = await import(".");
    return withDatabaseTls(env, (tlsEnv) => rehearse(parsed, tlsEnv, stop));
  },
};
