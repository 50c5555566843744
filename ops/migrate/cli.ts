// The run-once migration (the step-by-step production playbook, "Database Migration" and Gate #2). Before anything runs it finds
// the newest backup manifest of ITS release and re-hashes the dump: no verified backup, no migration.
// It holds a PostgreSQL advisory lock so two runs never overlap, records each run in
// greenlight.migrations, and runs the release's own migration command in a one-off container of the
// release image. DATABASE_URL (the migrator role) reaches the container by name only, never in argv.
// This file is the step's command line; index.ts runs it, container.ts is the container, options.ts
// holds its options and their checks.
import { locationOptions } from "../lib/data-options";
import { StepCommand, StepError } from "../lib/step";
import type { MigrateOptions } from "./options";
import { withDatabaseTls } from "../lib/postgres/tls";

/** Reads the CLI's options into MigrateOptions. */
export function migrateOptions(options: Record<string, unknown>): MigrateOptions {
  let command: unknown;
  try {
    command = JSON.parse(String(options.commandJson));
  } catch {
    throw new StepError(
      `--command-json ${JSON.stringify(options.commandJson)} is not JSON: give e.g. '["node","/app/migrate.js"]'`,
      2,
    );
  }
  if (!Array.isArray(command) || !command.every((word) => typeof word === "string"))
    throw new StepError(
      `--command-json must be a JSON list of strings, e.g. '["node","/app/migrate.js"]'`,
      2,
    );
  return {
    ...locationOptions(options),
    image: String(options.image),
    command: command as string[],
    network: String(options.network),
    timeoutSeconds: Number(options.timeoutSeconds),
    docker: String(options.docker),
  };
}

export const migrateCommand: StepCommand = {
  name: "migrate",
  description:
    "Run the release's migration in a one-off container of its image, after re-checking its verified backup, under an advisory lock",
  options: (command) =>
    command
      .requiredOption("--bucket <name>", "S3 bucket holding the backups")
      .requiredOption("--prefix <prefix>", "key prefix of the backups")
      .requiredOption("--stack <name>", "stack name")
      .requiredOption("--release <id>", "release being migrated (its backup must exist and verify)")
      .requiredOption("--image <ref>", "release image to run the migration in")
      .requiredOption(
        "--command-json <json>",
        'migration command, exec form, e.g. \'["node","/app/migrate.js"]\'',
      )
      .option("--network <name>", "Docker network of the container: host or a network name", "host")
      .option("--timeout-seconds <seconds>", "longest run, lock wait included", "900")
      .option("--docker <path>", "docker CLI", "docker"),
  stopsCleanly: true,
  run: async (options, env, stop) => {
    const parsed = migrateOptions(options);
    // Loaded only when the step runs (it re-hashes the backup in S3): --help and other steps skip the AWS SDK.
    const { migrate } = await import(".");
    return withDatabaseTls(env, (tlsEnv) => migrate(parsed, tlsEnv, stop));
  },
};
