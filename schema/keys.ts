import * as fs from "fs";
import { z } from "zod";
import { MAX_OVERRIDE_HOURS } from "../contract/override";
import { SSL_MODES } from "../contract/database-tls";
import { caBundle, parseCaCertificates } from "./database-ca";
import { canonicalDockerCpus, dockerCpusReadBack } from "../contract/docker";
import * as p from "../contract/patterns";
import { HOST_KEY, parseHostKey } from "../contract/host-key";

/** The Pulumi config types a project may declare in Pulumi.yaml. */
export type PulumiConfigType = "string" | "integer" | "boolean" | "array";

/** One key of the `greenlight:` config namespace. */
export interface ConfigKey {
  /** How the key is declared in Pulumi.yaml and how its string value is decoded. */
  type: PulumiConfigType;
  /** One line for Pulumi.yaml and the README reference. */
  description: string;
  /** Validates the decoded value; carries the default, if any. */
  schema: z.ZodType;
  /** The value must be set with `pulumi config set --secret`. */
  secret?: boolean;
  /** The README's "default" column when the default is computed rather than fixed. */
  defaultText?: string;
  /** For an array: its items are objects (structured config, `pulumi config set --path`), not strings. */
  items?: "object";
  /** For an array of scalars: the items' declared type (default string). */
  itemType?: "integer";
}

const text = (pattern: RegExp, expected: string) => z.string().regex(pattern, `expected ${expected}`);
const int = (min: number, max: number, unit: string) =>
  z
    .number()
    .int(`expected a whole number of ${unit}`)
    .min(min, `expected at least ${min} ${unit}`)
    .max(max, `expected at most ${max} ${unit}`);
const port = () => int(1, 65535, "(a TCP port)");
const seconds = (min: number, max: number) => int(min, max, "seconds");
const releaseId = () =>
  text(p.RELEASE_ID, "a release id of 1-64 letters, digits, '.', '_' or '-' (no spaces or shell characters)");
const imageRef = () =>
  text(p.IMAGE_REF, "a Docker image reference such as registry.example.com/shop@sha256:<64 hex digits>");
const urlPath = () => text(p.URL_PATH, "an absolute URL path such as /health (letters, digits, . _ ~ - /)");
const identifier = () => text(p.SQL_IDENTIFIER, "a lower-case PostgreSQL identifier ([a-z_][a-z0-9_]*)");
const secretText = () => z.string().min(1, "expected a non-empty secret");

/**
 * CA certificates as PEM text, or the path of a PEM file (relative to the project directory, where
 * Pulumi runs the program): decoded to the certificates' PEM, each one parsed. Expiry is judged by a
 * cross-key rule, at the instant the config is judged.
 */
const caCertificates = () =>
  z.string().transform((value, context) => {
    let pem = value;
    if (!value.includes("-----BEGIN")) {
      if (!p.FS_PATH.test(value) || !fs.existsSync(value) || !fs.statSync(value).isFile()) {
        context.addIssue({
          code: "custom",
          message: `expected PEM text or the path of a PEM file relative to the project directory; no file ${value}`,
        });
        return z.NEVER;
      }
      pem = fs.readFileSync(value, "utf8");
    }
    const certificates = parseCaCertificates(pem);
    if (typeof certificates === "string") {
      context.addIssue({ code: "custom", message: certificates });
      return z.NEVER;
    }
    return caBundle(certificates);
  });
const HOST_KEY_EXPECTED =
  "the host's SSH key, pinned: '<type> <base64>' of its ed25519 or ECDSA key, from ssh-keyscan -t ed25519 <address> checked against the host's own /etc/ssh/ssh_host_ed25519_key.pub (RUNBOOK.md, Before the first release)";

/** One Docker host of a stack with hosts (greenlight:hosts). */
const dockerHost = z.object(
  {
    name: text(p.HOST_NAME, "a host name of lower-case letters, digits and '-' (e.g. web-1)"),
    address: text(p.HOST, "the address the runner reaches the host at over SSH (name or IP)"),
    user: text(p.SSH_USER, "an SSH user such as root or deploy").default("root"),
    port: port().default(22),
    hostKey: z
      .string({ message: `expected ${HOST_KEY_EXPECTED}` })
      .regex(HOST_KEY, `expected ${HOST_KEY_EXPECTED}`)
      .refine(
        (value) => {
          try {
            parseHostKey(value);
            return true;
          } catch {
            return false;
          }
        },
        { message: "expected a host key whose base64 body is a key of the type it names" },
      ),
    // Retired: the proxies' runtime API no longer listens on a private address (the switch goes over SSH).
    privateAddress: z
      .never({
        message:
          "expected no privateAddress: nothing listens on the private network any more (the switch reaches every proxy over SSH); remove it",
      })
      .optional(),
    replicaAddress: text(p.HOST, "the address the host's replicas publish on (default 127.0.0.1)").default(
      "127.0.0.1",
    ),
    platform: z
      .enum(["linux/amd64", "linux/arm64"], { message: "expected linux/amd64 or linux/arm64" })
      .default("linux/amd64"),
  },
  { message: "expected a host: {name, address, hostKey[, user, port, replicaAddress, platform]}" },
);

/**
 * Every key greenlight reads from the `greenlight:` namespace. Pulumi.yaml's `config:` block and the
 * README's configuration reference are generated from this table (`npm run gen:config`) and a test
 * checks that they agree. Environment variables for the app live in the `greenlight-env:` namespace.
 */
export const CONFIG_KEYS = {
  appName: {
    type: "string",
    description: "Name of the application; used in container, network and backup names.",
    schema: text(p.APP_NAME, "a lower-case name of letters, digits and '-', starting with a letter"),
  },
  appPort: {
    type: "integer",
    description: "Port the application listens on inside its container.",
    schema: port().default(3000),
  },
  healthPath: {
    type: "string",
    description: "Liveness path that must answer 200 (Docker healthcheck and health gate).",
    schema: urlPath().default("/health"),
  },
  readinessPath: {
    type: "string",
    description: "Readiness path that must answer 200 once the app can serve (checks its database).",
    schema: urlPath().default("/health/ready"),
  },
  replicas: {
    type: "integer",
    description: "Containers per color.",
    schema: int(1, 16, "replicas").default(1),
  },
  memoryMb: {
    type: "integer",
    description: "Memory limit per container, in MB.",
    schema: int(16, 262144, "MB").default(512),
  },
  cpus: {
    type: "string",
    description: "CPU limit per container, in CPUs (for example 0.5).",
    schema: z
      .string()
      .regex(/^(?:\d{1,3})(?:\.\d{1,3})?$/, "expected a number of CPUs such as 0.5 or 2")
      .refine((value) => Number(value) > 0, "expected more than 0 CPUs")
      // The docker provider reads some values back as another number (0.05 → "0.1"): every update would replace.
      .superRefine((value, context) => {
        if (!/^\d+(\.\d+)?$/.test(value) || canonicalDockerCpus(value) !== undefined) return;
        context.addIssue({
          code: "custom",
          message: `expected a number of CPUs the docker provider reads back unchanged: it stores ${value} as ${dockerCpusReadBack(value)}, so every update would replace the containers; use a value such as 0.1 or 1.5`,
        });
      })
      .default("1"),
  },
  requiredEnv: {
    type: "array",
    description: "Environment variable names that must be set for the app before anything deploys.",
    schema: z.array(text(p.ENV_NAME, "an environment variable name ([A-Z_][A-Z0-9_]*)")).default([]),
  },
  secretEnv: {
    type: "array",
    description:
      "Names of greenlight-env: variables that are secrets: read with requireSecret, and set with --secret.",
    schema: z.array(text(p.ENV_NAME, "an environment variable name ([A-Z_][A-Z0-9_]*)")).default([]),
  },
  smokeChecks: {
    type: "array",
    description: "Smoke checks run against the target color: '<path> <status> [text=\"…\"] [maxMs=<n>]'.",
    schema: z.array(z.string()).default(["/ 200"]),
  },
  warmupPaths: {
    type: "array",
    description: "Paths requested through the proxy right after the switch to warm caches.",
    schema: z.array(urlPath()).default([]),
  },
  activeColor: {
    type: "string",
    description: "The color that serves traffic after this update: blue or green.",
    schema: z.enum(["blue", "green"], { message: "expected blue or green" }),
  },
  latestColor: {
    type: "string",
    description:
      "The color that received the newest release: its release is the one backed up and migrated. A flip back leaves it.",
    schema: z.enum(["blue", "green"], { message: "expected blue or green" }),
  },
  blueRelease: {
    type: "string",
    description: "Release id deployed to the blue color.",
    schema: releaseId(),
  },
  blueImage: {
    type: "string",
    description:
      "Image of the blue color; pinned by digest (name@sha256:…) where greenlight:requireDigest is true.",
    schema: imageRef(),
  },
  bluePort: {
    type: "integer",
    description: "First host port of the blue color's containers (replica i listens on bluePort+i).",
    schema: port().default(8081),
  },
  greenRelease: {
    type: "string",
    description: "Release id deployed to the green color.",
    schema: releaseId(),
  },
  greenImage: {
    type: "string",
    description:
      "Image of the green color; pinned by digest (name@sha256:…) where greenlight:requireDigest is true.",
    schema: imageRef(),
  },
  greenPort: {
    type: "integer",
    description: "First host port of the green color's containers (replica i listens on greenPort+i).",
    schema: port().default(8091),
  },
  dockerNetworkMode: {
    type: "string",
    description:
      "bridge: containers on a shared Docker network with ports published on 127.0.0.1; host: host network.",
    schema: z.enum(["bridge", "host"], { message: "expected bridge or host" }).default("bridge"),
  },
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
  hosts: {
    type: "array",
    items: "object",
    description:
      "Docker hosts the app runs on, over SSH: [{name, address, hostKey, user, port, replicaAddress, platform}]; hostKey pins the host's SSH key; unset: this machine.",
    schema: z
      .array(dockerHost)
      .min(1, "expected at least one host, or leave greenlight:hosts unset for this machine")
      .max(32, "expected at most 32 hosts")
      .optional(),
    defaultText: "this machine (no SSH)",
  },
  sshPrivateKey: {
    type: "string",
    description: "Private key of the hosts' SSH user (secret): the remote steps connect with it.",
    schema: secretText().optional(),
    secret: true,
  },
  dataHost: {
    type: "string",
    description:
      "Name of the host that runs backup, drill and migration (it reaches the database); unset: the runner.",
    schema: text(p.HOST_NAME, "the name of one of greenlight:hosts").optional(),
    defaultText: "the runner",
  },
  imageDelivery: {
    type: "string",
    description:
      "How images reach the hosts: registry (each host pulls the release image) or ssh (the runner sends each image a host lacks over SSH, checked by image id; hosts need no registry).",
    schema: z.enum(["registry", "ssh"], { message: "expected registry or ssh" }).default("registry"),
  },
  opsBaseImage: {
    type: "string",
    description:
      "Base image of the ops image, built once where Pulumi runs for the hosts' platform (node 22 with Debian's haproxy and PostgreSQL client).",
    schema: imageRef().default("node:22-bookworm-slim"),
  },
  proxyListenAddress: {
    type: "string",
    description: "Address the traffic proxy listens on (0.0.0.0 on hosts behind DNS or a load balancer).",
    schema: text(p.HOST, "an IP address or host name such as 127.0.0.1 or 0.0.0.0").default("127.0.0.1"),
  },
  proxyPort: {
    type: "integer",
    description: "Port the traffic proxy listens on, at greenlight:proxyListenAddress.",
    schema: port().default(8080),
  },
  stateDir: {
    type: "string",
    description: "Directory for the proxy's configuration, state file, socket and access log.",
    schema: text(p.FS_PATH, "a directory path of letters, digits and . _ - /").optional(),
    defaultText: ".greenlight/<stack>",
  },
  gateIntervalSeconds: {
    type: "integer",
    description: "Seconds between health-gate probes.",
    schema: seconds(1, 300).default(5),
  },
  gateTimeoutSeconds: {
    type: "integer",
    description: "Timeout of one health-gate probe, in seconds.",
    schema: seconds(1, 120).default(3),
  },
  gateAttempts: {
    type: "integer",
    description: "Consecutive 200 answers /health and /health/ready must give.",
    schema: int(1, 100, "attempts").default(5),
  },
  gateDeadlineSeconds: {
    type: "integer",
    description: "Longest the health gate waits for those consecutive answers.",
    schema: seconds(5, 3600).default(120),
  },
  guardErrorRatePercent: {
    type: "integer",
    description: "Post-switch guard: revert when the 5xx/connection-error rate exceeds this percent.",
    schema: int(1, 100, "percent").default(5),
  },
  guardP95Ms: {
    type: "integer",
    description: "Post-switch guard: revert when p95 latency exceeds this many milliseconds.",
    schema: int(1, 600000, "milliseconds").default(2000),
  },
  guardDurationSeconds: {
    type: "integer",
    description: "How long the post-switch guard watches the new color.",
    schema: seconds(1, 86400).default(300),
  },
  guardMinRequests: {
    type: "integer",
    description: "Requests the guard needs before it judges a window.",
    schema: int(1, 1000000, "requests").default(20),
  },
  promote: {
    type: "boolean",
    description:
      "The new color takes the traffic in this update; false: it comes up migrated, gated and smoke-tested on the preview front only (npm run promote moves the users).",
    schema: z.boolean().default(true),
  },
  trafficSteps: {
    type: "array",
    itemType: "integer",
    description:
      "Canary steps: percentages of new requests on the new color, ascending, ending at 100 (e.g. [10, 50, 100]); empty: one move.",
    schema: z.array(text(/^\d{1,3}$/, "a whole percentage from 1 to 100").transform(Number)).default([]),
  },
  trafficStepSeconds: {
    type: "integer",
    description: "How long each canary step below 100 % is judged against the old color.",
    schema: seconds(5, 3600).default(60),
  },
  canaryErrorRatePoints: {
    type: "integer",
    description:
      "Canary steps: error-rate points the new color may be above the old one over a step's window (1: 1.4 % against 0.5 % passes).",
    schema: int(0, 100, "percentage points").default(1),
  },
  canaryP95MarginPercent: {
    type: "integer",
    description: "Canary steps: percent the new color's p95 may be above the old one's over a step's window.",
    schema: int(0, 1000, "percent").default(50),
  },
  canaryP95FloorMs: {
    type: "integer",
    description:
      "Canary steps: a p95 difference below this many milliseconds never fails a step, whatever the ratio (timer noise).",
    schema: int(0, 60000, "milliseconds").default(25),
  },
  expandContractSafe: {
    type: "boolean",
    description:
      "The release's schema change is expand/contract-safe: old and new code both run on the new schema, so a schema-breaking release may still canary or preview.",
    schema: z.boolean().default(false),
  },
  previewPort: {
    type: "integer",
    description:
      "Port of each proxy's preview front (the not-yet-promoted color only), on loopback or the host's private address.",
    schema: port().optional(),
  },
  maintenanceMode: {
    type: "string",
    description: "off, on (503 page for every request) or read-only (only GET and HEAD pass).",
    schema: z.enum(["off", "on", "read-only"], { message: "expected off, on or read-only" }).default("off"),
  },
  webhookUrl: {
    type: "string",
    description: "Slack-compatible webhook for gate failures, switches and reverts (secret).",
    schema: secretText().optional(),
    secret: true,
  },
  overrideReason: {
    type: "string",
    description: "Emergency override: why this release may leave the deployment window.",
    schema: z
      .string()
      .min(10, "expected a reason of at least 10 characters")
      .max(500, "expected a reason of at most 500 characters")
      .optional(),
  },
  overrideApprover: {
    type: "string",
    description: "Emergency override: the on-call approver.",
    schema: text(p.HANDLE, "an approver handle (letters, digits, . _ @ + -)").optional(),
  },
  overrideTicket: {
    type: "string",
    description: "Emergency override: the incident or change ticket.",
    schema: text(p.TICKET, "a ticket reference such as INC-1234").optional(),
  },
  overrideExpiresAt: {
    type: "string",
    description: `Emergency override: ISO-8601 expiry with a zone, at most ${MAX_OVERRIDE_HOURS} h ahead.`,
    schema: z.iso
      .datetime({ offset: true, message: "expected an ISO-8601 time with a zone, e.g. 2026-11-24T18:00:00Z" })
      .optional(),
  },
  registryServer: {
    type: "string",
    description:
      "Registry the hosts pull release images from (with registryUser and registryPassword); unset: images the hosts pull without credentials.",
    schema: text(
      /^[a-z0-9][a-z0-9.-]*(:\d{1,5})?$/,
      "a registry address such as registry.example.com",
    ).optional(),
  },
  registryUser: {
    type: "string",
    description: "User the hosts log in to greenlight:registryServer as.",
    schema: text(p.HANDLE, "a registry user name (letters, digits, . _ @ + -)").optional(),
  },
  registryPassword: {
    type: "string",
    description: "Password or token of greenlight:registryUser (secret): every host's pulls use it.",
    schema: secretText().optional(),
    secret: true,
  },
} satisfies Record<string, ConfigKey>;

export type ConfigKeyName = keyof typeof CONFIG_KEYS;

/** The project's config namespace. */
export const NAMESPACE = "greenlight";

/** The namespace whose keys become the app's environment variables. */
export const ENV_NAMESPACE = "greenlight-env";

/** Keys greenlight no longer reads, each with why and what to do (a stack still setting one is refused). */
export const RETIRED_KEYS: Record<string, string> = {
  proxyAdminPort:
    "expected no proxyAdminPort: the proxies' runtime API no longer listens on TCP (the switch reaches each proxy's UNIX socket over SSH); remove the key",
  proxyLogPort:
    "expected no proxyLogPort: the guard reads each proxy's access log over SSH, no UDP port listens; remove the key",
};
