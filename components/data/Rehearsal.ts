import * as pulumi from "@pulumi/pulumi";
import { COMPONENT, STEP } from "../../contract/resources";
import { COMMAND_WORD, DOCKER_NETWORK, IMAGE_REF } from "../../contract/patterns";
import { ArgChecker } from "../arg-checker";
import { checkPgTarget, requireBucketName } from "./DatabaseBackup";
import { MigrationArgs, migratorDatabaseUrl } from "./Migration";
import {
  LOCAL,
  ONCE_PER_RELEASE,
  StepResource,
  lastJsonLine,
  num,
  placedCommand,
  stepCommand,
  stepEnvironment,
  text,
} from "../step-command";
import type { FlagValue } from "../../ops/hosts/remote";

/**
 * The migration's own arguments (the same image, command, network, migrator role, place and pull), run on
 * the drill's copy: the bucket is read only when no copy was handed over, and the admin role creates,
 * reads and drops the copy.
 */
export interface RehearsalArgs extends MigrationArgs {
  /** What the release declares (greenlight:schemaBreaking): declared additive and rehearsed breaking is refused. */
  declared: "additive" | "breaking";
  /** A longer rehearsal is refused unless maintenanceMode is on or read-only, in seconds. */
  maxMigrationSeconds: number;
  maintenanceMode: "off" | "on" | "read-only";
  /** Locks on tables at least this large are reported, in MB. */
  largeTableMb: number;
  /** Free disk a restore of the copy (when none was handed over) must leave, in percent. */
  minFreeDiskPercent: number;
  /** Where the rehearsal's refusals and lock warnings are posted (a secret). */
  webhookUrl?: pulumi.Input<string>;
}

/** The rehearsal's verdict as the stack outputs record it (empty during preview). */
export interface RehearsalSummary {
  release?: string;
  classification?: "additive" | "breaking";
  declared?: string;
  verdict?: string;
  /** "<change> <object> <name>" of each breaking change. */
  breakingChanges?: string[];
  changes?: number;
  durationMs?: number;
  /** The migration's outcome on the copy: succeeded, failed, or skipped (nothing was pending). */
  migration?: string;
  /** ACCESS EXCLUSIVE locks on large tables, in words. */
  warnings?: string[];
  locks?: unknown[];
}

/** Reads the report the rehearse step printed; undefined when it printed nothing (preview, mocks). */
export function rehearsalSummary(stdout: string | undefined): RehearsalSummary | undefined {
  const report = lastJsonLine(stdout);
  if (!report) return undefined;
  const changes = Array.isArray(report.changes) ? (report.changes as Record<string, unknown>[]) : [];
  const classification = text(report, "classification");
  return {
    release: text(report, "release"),
    classification:
      classification === "additive" || classification === "breaking" ? classification : undefined,
    declared: text(report, "declared"),
    verdict: text(report, "verdict"),
    breakingChanges: changes
      .filter((change) => change.effect === "breaking")
      .map((change) => `${String(change.change)} ${String(change.object)} ${String(change.name)}`),
    changes: changes.length,
    durationMs: num(report, "durationMs"),
    migration:
      typeof report.migration === "object" && report.migration !== null
        ? text(report.migration as Record<string, unknown>, "outcome")
        : undefined,
    warnings: Array.isArray(report.warnings) ? report.warnings.map(String) : [],
    locks: Array.isArray(report.locks) ? report.locks : [],
  };
}

type RehearseLine = Pick<
  RehearsalArgs,
  | "stack"
  | "release"
  | "image"
  | "command"
  | "network"
  | "timeoutSeconds"
  | "prefix"
  | "declared"
  | "maxMigrationSeconds"
  | "maintenanceMode"
  | "largeTableMb"
  | "minFreeDiskPercent"
> & { bucket: string; copy?: string; key?: string };

/** The rehearse step's flags; every value is pattern-checked before it is quoted. */
export function rehearseFlags(args: RehearseLine): Record<string, FlagValue> {
  requireBucketName(args.bucket);
  if (args.copy !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(args.copy))
    throw new Error(`rehearsal copy ${JSON.stringify(args.copy)} is not a database name`);
  if (args.key !== undefined && !/^[A-Za-z0-9._/-]+\.dump$/.test(args.key))
    throw new Error(`backup key ${JSON.stringify(args.key)} is not a dump key`);
  return {
    bucket: args.bucket,
    prefix: args.prefix,
    stack: args.stack,
    release: args.release,
    image: args.image,
    "command-json": JSON.stringify(args.command),
    network: args.network,
    "timeout-seconds": args.timeoutSeconds,
    copy: args.copy,
    key: args.key,
    declared: args.declared,
    "max-migration-seconds": args.maxMigrationSeconds,
    maintenance: args.maintenanceMode,
    "large-table-mb": args.largeTableMb,
    "min-free-disk-percent": args.minFreeDiskPercent,
  };
}

/**
 * The migration rehearsal (the step-by-step production playbook: "Dry-run migration in staging
 * database one last time"): `greenlight-ops rehearse` runs the release's migration on the copy the
 * restore drill verified and handed over, classifies the schema change from the catalog and samples its
 * locks; a failure or a refusal fails the update here, before the Migration, which depends on this
 * component. Its report is the stack output `schemaCompatibility`.
 */
export class Rehearsal extends pulumi.ComponentResource {
  readonly run: StepResource;
  /** Classification, changes, duration and locks (undefined during preview). */
  readonly report: pulumi.Output<RehearsalSummary | undefined>;

  constructor(name: string, args: RehearsalArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT.rehearsal, name, {}, opts);
    const check = new ArgChecker("Rehearsal", name);
    check.stack("stack", args.stack);
    check.release("release", args.release);
    check.require(IMAGE_REF.test(args.image), "image", args.image, "a Docker image reference");
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
    check.integer("timeoutSeconds", args.timeoutSeconds, 10, 86400, "seconds");
    check.integer("maxMigrationSeconds", args.maxMigrationSeconds, 1, 86400, "seconds");
    check.require(
      ["additive", "breaking"].includes(args.declared),
      "declared",
      args.declared,
      "additive or breaking",
    );
    check.require(
      ["off", "on", "read-only"].includes(args.maintenanceMode),
      "maintenanceMode",
      args.maintenanceMode,
      "off, on or read-only",
    );
    check.require(args.largeTableMb >= 0, "largeTableMb", args.largeTableMb, "a size in MB ≥ 0");
    check.integer("minFreeDiskPercent", args.minFreeDiskPercent, 0, 90, "percent");
    check.keyPrefix("prefix", args.prefix);
    check.require(
      args.backup.release === args.release && args.backup.drill !== undefined,
      "backup",
      args.backup.release,
      `the backup of release ${args.release} with its restore drill on (the rehearsal runs on the drill's copy)`,
    );
    checkPgTarget(check, args.database);
    check.require(
      (args.place ?? LOCAL).kind === "local" || args.imagePulled !== undefined,
      "imagePulled",
      args.imagePulled,
      "the data host's pull of the release image (DockerHost.pulls) when the rehearsal runs on a host",
    );
    check.sqlIdentifier("migrator.role", args.migrator.role);
    check.host("migrator.host", args.migrator.host);

    // The migration's own DATABASE_URL (sslmode, sslrootcert): the step points it at the copy.
    const migratorUrl = pulumi
      .output(args.migrator.password)
      .apply((password) => migratorDatabaseUrl(args.database, args.migrator, password));
    const environment = stepEnvironment(
      { step: STEP.rehearse, release: args.release, verify: true },
      args.database,
      args.password,
      args.s3,
      {
        GREENLIGHT_IMAGE: args.image,
        DATABASE_URL: pulumi.secret(migratorUrl),
        ...(args.webhookUrl !== undefined ? { GREENLIGHT_WEBHOOK_URL: pulumi.secret(args.webhookUrl) } : {}),
      },
    );
    const drill = args.backup.drillReport;
    const place = args.place ?? LOCAL;
    this.run = stepCommand(
      `${name}-run`,
      {
        create: placedCommand(
          place,
          "rehearse",
          pulumi
            .all([args.bucket, drill])
            .apply(([bucket, report]) =>
              rehearseFlags({ ...args, bucket, copy: report?.keptDatabase, key: report?.dumpKey }),
            ),
          // On a host, the rehearsal starts the release's one-off container through that host's Docker.
          { envNames: Object.keys(environment), dockerSocket: true },
        ),
        environment,
        // Once per release, as the migration: another change (a rotated password) reprints the report.
        ...ONCE_PER_RELEASE,
        // Every drill hands over a new copy: the rehearsal runs again with it.
        triggers: [args.release, args.image, drill.apply((report) => report?.keptDatabase ?? "")],
      },
      { parent: this, dependsOn: [args.backup, ...(args.imagePulled ? [args.imagePulled] : [])] },
      place.kind === "host" ? place.host : undefined,
    );
    // Names, sizes and times only; stdout is secret because the environment is.
    this.report = pulumi.unsecret(this.run.stdout).apply(rehearsalSummary);
    this.registerOutputs({ report: this.report });
  }
}

/** The release record with the rehearsal's classification: what `pulumi stack history` keeps of a release. */
export function recordWithSchema(
  record: pulumi.Output<Record<string, unknown> | undefined>,
  report: pulumi.Output<RehearsalSummary | undefined> | undefined,
): pulumi.Output<Record<string, unknown> | undefined> {
  if (!report) return record;
  return pulumi.all([record, report]).apply(([recorded, rehearsal]) =>
    recorded === undefined
      ? undefined
      : {
          ...recorded,
          schemaCompatibility: rehearsal
            ? {
                release: rehearsal.release,
                classification: rehearsal.classification,
                declared: rehearsal.declared,
              }
            : null,
        },
  );
}
