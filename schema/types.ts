import type { SslMode } from "../contract/database-tls";

/** The two color slots of a blue/green service. */
export type Color = "blue" | "green";

export const COLORS: readonly Color[] = ["blue", "green"];

/** The other color. */
export function otherColor(color: Color): Color {
  return color === "blue" ? "green" : "blue";
}

/** One smoke check against the target color. */
export interface SmokeCheck {
  /** URL path requested with GET. */
  path: string;
  /** Expected HTTP status. */
  status: number;
  /** Text the body must contain, if any. */
  text?: string;
  /** Slowest acceptable answer, in milliseconds. */
  maxMs: number;
}

/** What one color runs. */
export interface ColorSettings {
  color: Color;
  release: string;
  image: string;
  /** First host port; replica i listens on hostPort + i. */
  hostPort: number;
}

/** A Docker host of a stack with hosts, reached over SSH. */
export interface HostSettings {
  /** Short name (web-1): in resource names and the switch's report. */
  name: string;
  /** Where the runner reaches it over SSH. */
  address: string;
  user: string;
  port: number;
  /** Its SSH key, pinned ("<type> <base64>"): every SSH connection to it verifies it. */
  hostKey: string;
  /** Where its replicas publish their ports and its proxy reaches them. */
  replicaAddress: string;
  /** Platform its engine runs (linux/amd64 or linux/arm64): the ops image is built for it. */
  platform: "linux/amd64" | "linux/arm64";
}

/** An emergency override of the deployment window. */
export interface Override {
  reason: string;
  approver: string;
  ticket: string;
  /** ISO-8601 instant. */
  expiresAt: string;
}

/** A validated stack configuration with secrets still in plain form (config.ts wraps them). */
export interface StackSettings {
  stack: string;
  app: {
    name: string;
    port: number;
    healthPath: string;
    readinessPath: string;
    replicas: number;
    memoryMb: number;
    cpus: string;
    networkMode: "bridge" | "host";
    /** Plain environment variables (greenlight-env: keys that are not secret). */
    env: Record<string, string>;
    requiredEnv: string[];
    smokeChecks: SmokeCheck[];
    warmupPaths: string[];
  };
  colors: Record<Color, ColorSettings>;
  /** The color that serves after this update. */
  activeColor: Color;
  /** The other color, warm for a flip back. */
  idleColor: Color;
  /** The color that received the newest release: backup and migration follow its release and image. */
  latestColor: Color;
  database: {
    host: string;
    appHost: string;
    port: number;
    name: string;
    adminUser: string;
    migratorRole: string;
    appRole: string;
    /** libpq sslmode of every connection: the data steps', the roles provider's and the app's. */
    sslmode: SslMode;
    /** The CA certificate(s) that signed the server's certificate, as PEM text. */
    sslRootCert?: string;
  };
  backup: {
    bucket: string;
    prefix: string;
    retentionDays: number;
    coldAfterDays: number;
    encryption: "aws:kms" | "AES256";
    kmsKeyId?: string;
    objectLockDays: number;
    objectLockMode: "GOVERNANCE" | "COMPLIANCE";
    minFreeDiskPercent: number;
    restoreDrill: boolean;
    s3: { endpoint?: string; region: string; accessKeyId?: string };
  };
  migration: {
    command: string[];
    timeoutSeconds: number;
    schemaBreaking: boolean;
    /** A longer rehearsal is refused unless maintenance mode is on or read-only. */
    maxSeconds: number;
    /** Locks on tables at least this large (MB) are reported by the rehearsal. */
    largeTableMb: number;
  };
  /** The Docker hosts (empty: this machine, no SSH). */
  hosts: HostSettings[];
  /** Protect and retain the stateful resources (bucket, key, roles, grants). */
  protect: boolean;
  /** Both colors' images pinned by digest. */
  requireDigest: boolean;
  /** The host that runs the data steps (unset: the runner). */
  dataHost?: string;
  /** How images reach the hosts: pulled from a registry, or sent from the runner over SSH. */
  imageDelivery: "registry" | "ssh";
  /** Base image of the ops image (built where Pulumi runs). */
  opsBaseImage: string;
  /** The registry the hosts pull release images from, and its user (the password is in secrets). */
  registry?: { server: string; username: string };
  traffic: {
    proxyPort: number;
    /** Address the proxy listens on. */
    listenAddress: string;
    stateDir: string;
    maintenanceMode: "off" | "on" | "read-only";
    gate: { intervalSeconds: number; timeoutSeconds: number; attempts: number; deadlineSeconds: number };
    guard: { errorRatePercent: number; p95Ms: number; durationSeconds: number; minRequests: number };
    /** false: the new color is previewed only, users stay on the old one (greenlight:promote). */
    promote: boolean;
    /** Canary steps in percent, ending at 100; empty: one move. */
    steps: number[];
    stepSeconds: number;
    /** How far the new color may be from the old at a canary step (greenlight:canary* keys). */
    canaryMargins: { errorRatePoints: number; p95Percent: number; p95FloorMs: number };
    /** Port of each proxy's preview front; none: no preview front. */
    previewPort?: number;
    /** The release is declared expand/contract-safe (greenlight:expandContractSafe). */
    expandContractSafe: boolean;
  };
  override?: Override;
  secrets: {
    dbAdminPassword?: string;
    migratorPassword: string;
    appPassword: string;
    s3SecretAccessKey?: string;
    webhookUrl?: string;
    sshPrivateKey?: string;
    /** Password of the registry the hosts pull from. */
    registryPassword?: string;
    /** Secret environment variables (greenlight-env: keys set with --secret). */
    env: Record<string, string>;
  };
}

/** Environment variables greenlight itself gives every app container. */
export const COMPUTED_ENV = ["PORT", "DATABASE_URL", "RELEASE_ID", "APP_COLOR"] as const;
