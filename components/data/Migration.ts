import * as pulumi from "@pulumi/pulumi";
import { COMPONENT, STEP } from "../../contract/resources";
import { COMMAND_WORD, DOCKER_NETWORK, isImageRef } from "../../contract/patterns";
import { ArgChecker } from "../arg-checker";
import { databaseUrl } from "../database-url";
import { DatabaseBackup, checkPgTarget, requireBucketName } from "./DatabaseBackup";
import {
  PgTarget,
  S3Target,
  lastJsonLine,
  num,
  opsCommand,
  stepEnvironment,
  text,
  stepCommand,
  StepResource,
  LOCAL,
  StepPlace,
  placedCommand,
  ONCE_PER_RELEASE,
} from "../step-command";
import type { FlagValue } from "../../ops/hosts/remote";

export interface MigrationArgs {
  /** Stack name: a segment of the backup keys the step looks under. */
  stack: string;
  /** Release being migrated: in the triggers, so each release migrates once. */
  release: string;
  /** The release's image; the migration runs in a one-off container of it. */
  image: string;
  /** The release's migration command, exec form; the first word becomes the container's entrypoint. */
  command: string[];
  /** Docker network of the one-off container: "host" or a network name. */
  network: string;
  /** Longest the migration may take, lock wait included, in seconds (≥ 10). */
  timeoutSeconds: number;
  /** Bucket name (BackupBucket.bucketName). */
  bucket: pulumi.Input<string>;
  /** Key prefix of the backups. */
  prefix: string;
  /** The verified backup of this same release; the migration depends on it (and on its drill). */
  backup: DatabaseBackup;
  /** Where the step takes its lock and records the run, as the admin role. */
  database: PgTarget;
  /** The admin role's password, a secret; unset for trust or peer authentication. */
  password?: pulumi.Input<string>;
  /** The migrator role the container connects as, and the host it reaches PostgreSQL at. */
  migrator: { role: string; password: pulumi.Input<string>; host: string };
  /** The bucket's S3 settings. */
  s3: S3Target;
  /** Where the migration runs: here (default) or on a host that reaches the database (greenlight:dataHost). */
  place?: StepPlace;
  /** On a host: that host's pull of `image`; the migration's `docker run` finds the image there, credentials used. */
  imagePulled?: pulumi.Resource;
}

/** The run as greenlight.migrations recorded it (empty during preview). */
export interface MigrationSummary {
  release?: string;
  outcome?: string;
  backupKey?: string;
  startedAt?: string;
  finishedAt?: string;
  durationSeconds?: number;
}

/** Reads the record the migrate step printed. */
export function migrationSummary(stdout: string | undefined): MigrationSummary | undefined {
  const record = lastJsonLine(stdout);
  if (!record) return undefined;
  return {
    release: text(record, "release"),
    outcome: text(record, "outcome"),
    backupKey: text(record, "backupKey"),
    startedAt: text(record, "startedAt"),
    finishedAt: text(record, "finishedAt"),
    durationSeconds: num(record, "durationSeconds"),
  };
}

/**
 * The migrator's DATABASE_URL: the app's database at the migrator's host, with the stack's sslmode and,
 * when the stack has a CA, sslrootcert where the step copies it into the one-off container.
 */
export function migratorDatabaseUrl(
  database: PgTarget,
  migrator: { role: string; host: string },
  password: string,
): string {
  return databaseUrl(
    {
      ...database,
      host: migrator.host,
      user: migrator.role,
      withRootCert: database.sslRootCert !== undefined,
    },
    password,
  );
}

type MigrateLine = Pick<
  MigrationArgs,
  "prefix" | "stack" | "release" | "image" | "command" | "network" | "timeoutSeconds"
> & { bucket: string };

/** The migrate step's command line here. */
export function migrateCommandLine(args: MigrateLine): string {
  return opsCommand("migrate", migrateFlags(args));
}

/** The migrate step's flags; every value is pattern-checked before it is quoted. */
export function migrateFlags(args: MigrateLine): Record<string, FlagValue> {
  requireBucketName(args.bucket);
  return {
    bucket: args.bucket,
    prefix: args.prefix,
    stack: args.stack,
    release: args.release,
    image: args.image,
    "command-json": JSON.stringify(args.command),
    network: args.network,
    "timeout-seconds": args.timeoutSeconds,
  };
}

/**
 * The run-once migration (the step-by-step production playbook, "Database Migration", Gate #2): `greenlight-ops migrate` checks the
 * newest backup of ITS release (verified, sha256 re-hashed), takes the migration advisory lock, runs
 * the release's migration command in a one-off container of the release image and records the run in
 * greenlight.migrations. The command depends on the backup component (backup and drill), so the graph
 * and the step both say: no verified backup, no migration.
 */
export class Migration extends pulumi.ComponentResource {
  readonly run: StepResource;
  /** The recorded run: release, outcome, backup key, start and end (undefined during preview). */
  readonly record: pulumi.Output<MigrationSummary | undefined>;

  constructor(name: string, args: MigrationArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT.migration, name, {}, opts);
    const check = new ArgChecker("Migration", name);
    check.stack("stack", args.stack);
    check.release("release", args.release);
    check.require(isImageRef(args.image), "image", args.image, "a Docker image reference or image id");
    check.require(
      args.command.length > 0 && args.command.every((word) => COMMAND_WORD.test(word)),
      "command",
      args.command,
      "a non-empty list of words without spaces, quotes or shell characters",
    );
    check.require(
      DOCKER_NETWORK.test(args.network),
      "network",
      args.network,
      "host or a Docker network name",
    );
    check.require(
      Number.isInteger(args.timeoutSeconds) && args.timeoutSeconds >= 10,
      "timeoutSeconds",
      args.timeoutSeconds,
      "whole seconds, at least 10",
    );
    check.keyPrefix("prefix", args.prefix);
    check.require(
      args.backup.release === args.release,
      "backup",
      args.backup.release,
      `the backup of release ${args.release} (a migration needs a backup of its own release)`,
    );
    checkPgTarget(check, args.database);
    check.require(
      (args.place ?? LOCAL).kind === "local" || args.imagePulled !== undefined,
      "imagePulled",
      args.imagePulled,
      "the data host's pull of the release image (DockerHost.pulls) when the migration runs on a host",
    );
    check.sqlIdentifier("migrator.role", args.migrator.role);
    check.host("migrator.host", args.migrator.host);

    const migratorUrl = pulumi
      .output(args.migrator.password)
      .apply((password) => migratorDatabaseUrl(args.database, args.migrator, password));
    const place = args.place ?? LOCAL;
    const environment = stepEnvironment(
      { step: STEP.migrate, release: args.release, verify: true },
      args.database,
      args.password,
      args.s3,
      { GREENLIGHT_IMAGE: args.image, DATABASE_URL: pulumi.secret(migratorUrl) },
    );
    this.run = stepCommand(
      `${name}-run`,
      {
        create: placedCommand(
          place,
          "migrate",
          pulumi.output(args.bucket).apply((bucket) =>
            migrateFlags({
              bucket,
              prefix: args.prefix,
              stack: args.stack,
              release: args.release,
              image: args.image,
              command: args.command,
              network: args.network,
              timeoutSeconds: args.timeoutSeconds,
            }),
          ),
          // On a host, migrate starts the release's one-off container through that host's Docker, and
          // must be able to kill it at the deadline while it holds the migration lock: the step
          // container needs the socket. The release's own container gets neither socket nor admin secrets.
          { envNames: Object.keys(environment), dockerSocket: true },
        ),
        environment,
        ...ONCE_PER_RELEASE,
        // Each release (or a new image of it) migrates once; nothing else reruns it.
        triggers: [args.release, args.image],
      },
      { parent: this, dependsOn: [args.backup, ...(args.imagePulled ? [args.imagePulled] : [])] },
      place.kind === "host" ? place.host : undefined,
    );
    // The record holds names, times and an outcome only; stdout is secret because the environment is.
    this.record = pulumi.unsecret(this.run.stdout).apply(migrationSummary);
    this.registerOutputs({ record: this.record });
  }
}
