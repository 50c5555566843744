// The run-once migration (seed 004, "Database Migration" and Gate #2). Before anything runs it finds
// the newest backup manifest of ITS release and re-hashes the dump: no verified backup, no migration.
// It holds a PostgreSQL advisory lock so two runs never overlap, records each run in
// greenlight.migrations, and runs the release's own migration command in a one-off container of the
// release image. DATABASE_URL (the migrator role) reaches the container by name only, never in argv.
// This file is the step's command line; migrate-run.ts runs it, migrate-container.ts is the container.
import { COMMAND_WORD, DOCKER_NETWORK, IMAGE_REF } from "../../contract/patterns";
import { BackupLocation, badOption, locationOptions, validateLocation } from "../lib/data-options";
import { StepCommand, StepError } from "../lib/step";

/** The advisory lock every greenlight migration of a database takes (two int4 keys: "gl", "migr"). */
export const MIGRATION_LOCK: readonly [number, number] = [0x676c, 0x6d696772];

/** Exit code when another migration held the lock for the whole timeout. */
export const EXIT_LOCK_TIMEOUT = 4;

export interface MigrateOptions extends BackupLocation {
  /** The release image the migration runs in. */
  image: string;
  /** The release's migration command, exec form: the first word is the container's entrypoint. */
  command: string[];
  /** Docker network of the one-off container: "host" or a network name. Default "host". */
  network: string;
  /** Longest the run may take, lock wait included, in seconds. Default 900. */
  timeoutSeconds: number;
  /** The docker CLI. Default "docker". */
  docker: string;
  now?: () => Date;
}

/** One run as greenlight.migrations records it. */
export interface MigrationRecord {
  id: number;
  release: string;
  image: string;
  backupKey: string;
  backupSha256: string;
  startedAt: string;
  finishedAt: string;
  outcome: "succeeded" | "failed";
  error: string | null;
  lockWaitSeconds: number;
  durationSeconds: number;
}

export function validateMigrateOptions(options: MigrateOptions): void {
  validateLocation(options);
  if (!IMAGE_REF.test(options.image))
    throw badOption(`--image ${JSON.stringify(options.image)} is not an image reference`);
  if (options.command.length === 0 || !options.command.every((word) => COMMAND_WORD.test(word)))
    throw badOption(
      `--command-json ${JSON.stringify(options.command)}: give a non-empty list of words without spaces, quotes or shell characters`,
    );
  if (!DOCKER_NETWORK.test(options.network))
    throw badOption(`--network ${JSON.stringify(options.network)}: use host or a Docker network name`);
  if (!(Number.isInteger(options.timeoutSeconds) && options.timeoutSeconds >= 1))
    throw badOption(`--timeout-seconds ${options.timeoutSeconds}: use a whole number of seconds ≥ 1`);
}

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
    return migrate(parsed, env, stop);
  },
};
