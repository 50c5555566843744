// The database, its roles, the backups, the restore drill and the migration.
// Keys of the `greenlight:` config namespace; schema/keys/index.ts merges every table.
import { z } from "zod";
import { SSL_MODES } from "../../contract/database-tls";
import * as p from "../../contract/patterns";
import { ConfigKey, text, int, port, seconds, identifier, secretText, caCertificates } from "./types";

/** The database, its roles, the backups, the drill and the migration. */
export const DATA_KEYS = {
  dbHost: {
    type: "string",
    description: "PostgreSQL host for backups, migrations and role management.",
    schema: text(p.HOST, "a host name or IP address").default("127.0.0.1"),
  },
  dbAppHost: {
    type: "string",
    description: "PostgreSQL host as the app containers reach it.",
    schema: text(p.HOST, "a host name or IP address").optional(),
    defaultText: "dbHost",
  },
  dbPort: {
    type: "integer",
    description: "PostgreSQL port.",
    schema: port().default(5432),
  },
  dbName: {
    type: "string",
    description: "The application's database.",
    schema: identifier(),
  },
  dbAdminUser: {
    type: "string",
    description: "Role that takes backups and manages the migrator and app roles.",
    schema: identifier().default("postgres"),
  },
  dbAdminPassword: {
    type: "string",
    description: "Password of dbAdminUser (secret; leave unset for peer/trust authentication).",
    schema: secretText().optional(),
    secret: true,
  },
  dbSslMode: {
    type: "string",
    description:
      "TLS of every connection to PostgreSQL (libpq sslmode): disable, allow, prefer, require, verify-ca or verify-full.",
    schema: z.enum(SSL_MODES, { message: `expected a libpq sslmode: ${SSL_MODES.join(", ")}` }).optional(),
    defaultText: "verify-full on production; require elsewhere (disable on local with a loopback dbHost)",
  },
  dbSslRootCert: {
    type: "string",
    description:
      "CA certificate(s) that signed the database server's certificate: PEM text, or a PEM file's path relative to the project.",
    schema: caCertificates().optional(),
  },
  migratorRole: {
    type: "string",
    description: "Role that owns the schema and runs migrations.",
    schema: identifier().optional(),
    defaultText: "<appName>_migrator",
  },
  migratorPassword: {
    type: "string",
    description: "Password of the migrator role (secret).",
    schema: secretText(),
    secret: true,
  },
  appRole: {
    type: "string",
    description: "Role the app connects as: data access only, no DDL.",
    schema: identifier().optional(),
    defaultText: "<appName>_app",
  },
  appPassword: {
    type: "string",
    description: "Password of the app role (secret).",
    schema: secretText(),
    secret: true,
  },
  backupBucket: {
    type: "string",
    description: "S3 bucket that holds database backups.",
    schema: text(p.BUCKET_NAME, "an S3 bucket name (3-63 lower-case letters, digits, '.' or '-')"),
  },
  backupPrefix: {
    type: "string",
    description: "Key prefix; backups are stored as <prefix>/<stack>/<release>/<timestamp>.dump.",
    schema: text(p.KEY_PREFIX, "a key prefix of path segments (letters, digits, . _ -)").default(
      "greenlight",
    ),
  },
  backupRetentionDays: {
    type: "integer",
    description: "Days a backup (and a noncurrent version) is kept before it expires.",
    schema: int(1, 3650, "days").default(35),
  },
  backupColdAfterDays: {
    type: "integer",
    description: "Days before a backup moves to colder storage (0: never).",
    schema: int(0, 3650, "days").default(7),
  },
  backupEncryption: {
    type: "string",
    description: "Server-side encryption of the bucket: aws:kms or AES256.",
    schema: z.enum(["aws:kms", "AES256"], { message: "expected aws:kms or AES256" }).default("aws:kms"),
  },
  backupKmsKeyId: {
    type: "string",
    description: "KMS key for aws:kms encryption; when unset greenlight creates one.",
    schema: text(/^[A-Za-z0-9:/_-]{1,2048}$/, "a KMS key id or ARN").optional(),
  },
  backupObjectLockDays: {
    type: "integer",
    description:
      "Object-lock retention in days, in backupObjectLockMode; 0 disables it. Production needs at least 1.",
    schema: int(0, 3650, "days").default(0),
  },
  backupObjectLockMode: {
    type: "string",
    description:
      "Object-lock mode: GOVERNANCE (s3:BypassGovernanceRetention can lift it) or COMPLIANCE (no one can, until it ends).",
    schema: z.enum(["GOVERNANCE", "COMPLIANCE"], { message: "expected GOVERNANCE or COMPLIANCE" }).optional(),
    defaultText: "GOVERNANCE (with backupObjectLockDays)",
  },
  backupMinFreeDiskPercent: {
    type: "integer",
    description: "Free disk, in percent, that must remain when a backup needs a temporary file.",
    schema: int(0, 90, "percent").default(15),
  },
  restoreDrill: {
    type: "boolean",
    description: "Restore each backup into a scratch database and compare every table before migrating.",
    schema: z.boolean().default(true),
  },
  protect: {
    type: "boolean",
    description:
      "Protect and retain the backup bucket, its KMS key, the database roles and grants (pulumi destroy cannot delete them); needs the bucket's hardening.",
    schema: z.boolean().default(false),
  },
  requireDigest: {
    type: "boolean",
    description:
      "Both colors' images must be pinned by digest (name@sha256:…); npm run release refuses a tag.",
    schema: z.boolean().default(false),
  },
  s3Endpoint: {
    type: "string",
    description: "Custom S3-compatible endpoint (path-style); unset for AWS S3.",
    schema: z
      .string()
      .regex(
        /^https?:\/\/[A-Za-z0-9.-]+(?::\d{1,5})?\/?$/,
        "expected an http(s) URL such as http://127.0.0.1:4569",
      )
      .optional(),
  },
  s3Region: {
    type: "string",
    description: "AWS region of the backup bucket.",
    schema: text(p.AWS_REGION, "an AWS region such as eu-central-1").default("us-east-1"),
  },
  s3AccessKeyId: {
    type: "string",
    description: "Access key for the S3 endpoint; unset to use the AWS default credential chain.",
    schema: text(/^[A-Za-z0-9]{2,128}$/, "an access key id").optional(),
  },
  s3SecretAccessKey: {
    type: "string",
    description: "Secret key matching s3AccessKeyId (secret).",
    schema: secretText().optional(),
    secret: true,
  },
  migrationCommand: {
    type: "array",
    description: "The release's migration command, exec form, run in a one-off container of its image.",
    schema: z
      .array(text(p.COMMAND_WORD, "command words without spaces, quotes or shell characters"))
      .min(1, "expected at least the program to run")
      .default(["node", "/app/migrate.js"]),
  },
  migrationTimeoutSeconds: {
    type: "integer",
    description: "Longest a migration may run (including the wait for the migration lock).",
    schema: seconds(10, 86400).default(900),
  },
  schemaBreaking: {
    type: "boolean",
    description:
      "Declares the latest release's schema change breaking; its migration rehearsal refuses a breaking change declared false.",
    schema: z.boolean().default(false),
  },
  maxMigrationSeconds: {
    type: "integer",
    description:
      "A rehearsed migration longer than this is refused unless greenlight:maintenanceMode is on or read-only.",
    schema: seconds(1, 86400).default(120),
  },
  migrationLargeTableMb: {
    type: "integer",
    description:
      "Tables at least this large (MB, indexes included) whose locks the migration rehearsal reports; ACCESS EXCLUSIVE on one is a warning.",
    schema: int(0, 100000000, "MB").default(100),
  },
} satisfies Record<string, ConfigKey>;
