import * as pulumi from "@pulumi/pulumi";
import { COMPONENT, STEP } from "../../contract/resources";
import { BUCKET_NAME } from "../../contract/patterns";
import { ArgChecker } from "../arg-checker";
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

export interface DatabaseBackupArgs {
  /** Stack name: a segment of every backup key. */
  stack: string;
  /** Release this backup precedes: in the key and in the triggers, so each release takes a new backup. */
  release: string;
  /** Bucket name; pass BackupBucket.bucketName so the backup waits for the bucket. */
  bucket: pulumi.Input<string>;
  /** Key prefix: backups are `<prefix>/<stack>/<release>/<timestamp>.dump` and `.manifest.json`. */
  prefix: string;
  /** Where pg_dump connects, as the role that takes backups (greenlight:dbAdminUser). */
  database: PgTarget;
  /** That role's password, a secret; unset for trust or peer authentication. */
  password?: pulumi.Input<string>;
  /** The bucket's S3 settings; the secret key is a secret. */
  s3: S3Target;
  /** Read the whole archive back with pg_restore and compare its tables (GREENLIGHT_VERIFY). Default true. */
  verify?: boolean;
  /** Refuse a dump smaller than this fraction of the database's previous backup; 0 disables. Default 0.1. */
  minSizeRatio?: number;
  /** Free disk, in percent, the drill's download must leave on its file system (the step-by-step production playbook: 15). */
  minFreeDiskPercent: number;
  /** Restore each backup into a scratch database and compare every table before the migration. */
  restoreDrill: boolean;
  /** A migration rehearsal follows the drill: the drill hands its verified copy over instead of dropping it. */
  rehearsal?: boolean;
  /** Where backup and drill run: here (default) or on a host that reaches the database (greenlight:dataHost). */
  place?: StepPlace;
}

/** What the backup step printed, as the stack outputs record it (empty during preview). */
export interface BackupSummary {
  key?: string;
  bytes?: number;
  sha256?: string;
  release?: string;
  tableCount?: number;
  finishedAt?: string;
}

/** The drill's verdict, as the stack outputs record it (empty during preview). */
export interface DrillSummary {
  dumpKey?: string;
  /** The copy the drill left for the rehearsal (which drops it). */
  keptDatabase?: string;
  matched?: boolean;
  tables?: number;
  seconds?: number;
}

/** Reads the manifest the backup step printed; undefined when it printed nothing (preview, mocks). */
export function backupSummary(stdout: string | undefined): BackupSummary | undefined {
  const manifest = lastJsonLine(stdout);
  if (!manifest) return undefined;
  return {
    key: text(manifest, "dumpKey"),
    bytes: num(manifest, "bytes"),
    sha256: text(manifest, "sha256"),
    release: text(manifest, "release"),
    tableCount: num(manifest, "tableCount"),
    finishedAt: text(manifest, "finishedAt"),
  };
}

/** Reads the drill report the restore step printed. */
export function drillSummary(stdout: string | undefined): DrillSummary | undefined {
  const report = lastJsonLine(stdout);
  if (!report) return undefined;
  const seconds = report.seconds as Record<string, unknown> | undefined;
  return {
    dumpKey: text(report, "dumpKey"),
    keptDatabase: text(report, "keptDatabase"),
    matched: typeof report.matched === "boolean" ? report.matched : undefined,
    tables: Array.isArray(report.tables) ? report.tables.length : undefined,
    seconds: num(seconds, "total"),
  };
}

/** The bucket a step's flags name, known only once the bucket exists: checked before it is quoted. */
export function requireBucketName(bucket: string): void {
  if (!BUCKET_NAME.test(bucket))
    throw new Error(`backup bucket ${JSON.stringify(bucket)} is not an S3 bucket name`);
}

interface BackupLine {
  bucket: string;
  prefix: string;
  stack: string;
  release: string;
  minSizeRatio: number;
  verify: boolean;
}

/** The backup step's flags; every value is pattern-checked before it is quoted. */
export function backupFlags(args: BackupLine): Record<string, FlagValue> {
  requireBucketName(args.bucket);
  return {
    bucket: args.bucket,
    prefix: args.prefix,
    stack: args.stack,
    release: args.release,
    "min-size-ratio": args.minSizeRatio,
    "no-verify": !args.verify,
  };
}

/** The backup step's command line here. */
export function backupCommandLine(args: BackupLine): string {
  return opsCommand("backup", backupFlags(args));
}

interface DrillLine {
  bucket: string;
  prefix: string;
  stack: string;
  release: string;
  key?: string;
  minFreeDiskPercent: number;
  /** Leave the verified copy to the rehearsal. */
  keepForRehearsal?: boolean;
}

/** The drill's flags: the backup just taken (by key once known), into a scratch database. */
export function drillFlags(args: DrillLine): Record<string, FlagValue> {
  requireBucketName(args.bucket);
  if (args.key !== undefined && !/^[A-Za-z0-9._/-]+\.dump$/.test(args.key))
    throw new Error(`backup key ${JSON.stringify(args.key)} is not a dump key`);
  return {
    bucket: args.bucket,
    prefix: args.prefix,
    stack: args.stack,
    release: args.release,
    key: args.key,
    drill: true,
    "keep-for-rehearsal": args.keepForRehearsal === true,
    "min-free-disk-percent": args.minFreeDiskPercent,
  };
}

/** The drill's command line here. */
export function drillCommandLine(args: DrillLine): string {
  return opsCommand("restore", drillFlags(args));
}

/** Checks the connection target shared by the backup and the migration. */
export function checkPgTarget(check: ArgChecker, database: PgTarget): void {
  check.host("database.host", database.host);
  check.port("database.port", database.port);
  check.sqlIdentifier("database.database", database.database);
  check.sqlIdentifier("database.user", database.user);
}

/**
 * The verified pre-migration backup (the step-by-step production playbook, Gate #1): `greenlight-ops backup` streams pg_dump -Fc
 * to the bucket with a sha256 and writes the manifest only when every check passed; with the drill
 * on, `greenlight-ops restore --drill` then restores it into a scratch database and compares every
 * table. Both re-run for every release (triggers), and the manifest lands in the stack outputs.
 */
export class DatabaseBackup extends pulumi.ComponentResource {
  readonly run: StepResource;
  readonly drill?: StepResource;
  /** The release this backup precedes: a migration checks it is its own. */
  readonly release: string;
  /** Key, size and sha256 of the backup (undefined during preview). */
  readonly manifest: pulumi.Output<BackupSummary | undefined>;
  /** The drill's verdict, when the drill is on (undefined during preview). */
  readonly drillReport: pulumi.Output<DrillSummary | undefined>;

  constructor(name: string, args: DatabaseBackupArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT.databaseBackup, name, {}, opts);
    const check = new ArgChecker("DatabaseBackup", name);
    check.stack("stack", args.stack);
    check.release("release", args.release);
    check.keyPrefix("prefix", args.prefix);
    checkPgTarget(check, args.database);
    const minSizeRatio = args.minSizeRatio ?? 0.1;
    check.require(
      minSizeRatio >= 0 && minSizeRatio < 1,
      "minSizeRatio",
      minSizeRatio,
      "a fraction from 0 to below 1",
    );
    check.integer("minFreeDiskPercent", args.minFreeDiskPercent, 0, 90, "percent");
    const verify = args.verify ?? true;
    this.release = args.release;

    const where = { prefix: args.prefix, stack: args.stack, release: args.release };
    const place = args.place ?? LOCAL;
    const onHost = place.kind === "host" ? place.host : undefined;
    const environment = (step: string) =>
      stepEnvironment({ step, release: args.release, verify }, args.database, args.password, args.s3);
    this.run = stepCommand(
      `${name}-run`,
      {
        create: placedCommand(
          place,
          "backup",
          pulumi
            .output(args.bucket)
            .apply((bucket) => backupFlags({ bucket, ...where, minSizeRatio, verify })),
          { envNames: Object.keys(environment(STEP.backup)) },
        ),
        environment: environment(STEP.backup),
        ...ONCE_PER_RELEASE,
        // A new release, bucket or database takes a new backup; nothing else reruns it.
        triggers: [
          args.release,
          args.stack,
          args.bucket,
          args.prefix,
          args.database.host,
          args.database.database,
        ],
      },
      { parent: this },
      onHost,
    );
    // The manifest holds names, sizes and hashes only; the command's stdout is secret because its
    // environment is, and the stack outputs must show which backup belongs to which release.
    this.manifest = pulumi.unsecret(this.run.stdout).apply(backupSummary);

    if (args.restoreDrill) {
      const key = this.manifest.apply((manifest) => manifest?.key);
      this.drill = stepCommand(
        `${name}-restore-drill`,
        {
          create: placedCommand(
            place,
            "restore",
            pulumi.all([args.bucket, key]).apply(([bucket, dumpKey]) =>
              drillFlags({
                bucket,
                ...where,
                key: dumpKey,
                minFreeDiskPercent: args.minFreeDiskPercent,
                keepForRehearsal: args.rehearsal,
              }),
            ),
            { envNames: Object.keys(environment(STEP.restoreDrill)) },
          ),
          environment: environment(STEP.restoreDrill),
          ...ONCE_PER_RELEASE,
          triggers: [args.release, key],
        },
        { parent: this, dependsOn: [this.run] },
        onHost,
      );
      this.drillReport = pulumi.unsecret(this.drill.stdout).apply(drillSummary);
    } else {
      this.drillReport = pulumi.output(undefined);
    }
    this.registerOutputs({ manifest: this.manifest, drillReport: this.drillReport });
  }
}
