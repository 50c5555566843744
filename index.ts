// greenlight: one release of a Dockerised web app on PostgreSQL, in the runbook's order.
// Reads top-down: config → data safety → color slots → gate → switch → exports. Wiring only.
import * as aws from "@pulumi/aws";
import { BackupBucket, s3ProviderArgs } from "./components/data/BackupBucket";
import { DatabaseBackup } from "./components/data/DatabaseBackup";
import { DatabaseRoles } from "./components/data/DatabaseRoles";
import { Migration } from "./components/data/Migration";
import { BlueGreenService } from "./components/release/BlueGreenService";
import { HealthGate } from "./components/release/HealthGate";
import { ReleaseRecord } from "./components/release/ReleaseRecord";
import { TrafficSwitch } from "./components/release/TrafficSwitch";
import { loadConfig } from "./config";

// 1. Configuration: one validated object; a bad stack file stops here, before any resource.
const config = loadConfig();
const active = config.colors[config.activeColor];

// The release record runs first: it re-checks an emergency override and is exported for stack history.
const record = new ReleaseRecord("release", {
  stack: config.stack,
  release: active.release,
  color: config.activeColor,
  image: active.image,
  schemaBreaking: config.migration.schemaBreaking,
  override: config.override,
});

// 2. Data safety: hardened bucket, least-privilege roles, verified backup, run-once migration.
const { database: db, backup: bk, secrets } = config;
const production = config.stack === "production"; // protects and retains the bucket, its key, roles, grants
const s3Provider = new aws.Provider("backup-s3", s3ProviderArgs(bk.s3, secrets.s3SecretAccessKey));
// A custom endpoint is an S3-compatible server (s3rver locally) without versioning/lifecycle/lock APIs.
const hardening = !bk.s3.endpoint;
const bucket = new BackupBucket("backups", { ...bk, production, hardening, provider: s3Provider });
const roles = new DatabaseRoles("roles", { ...db, database: db.name, passwords: secrets, production });
const dataStep = {
  stack: config.stack,
  release: active.release,
  bucket: bucket.bucketName,
  prefix: bk.prefix,
  database: { host: db.host, port: db.port, database: db.name, user: db.adminUser },
  password: secrets.dbAdminPassword,
  s3: { ...bk.s3, secretAccessKey: secrets.s3SecretAccessKey },
};
const { minFreeDiskPercent, restoreDrill } = bk;
const backup = new DatabaseBackup(
  "backup",
  { ...dataStep, minFreeDiskPercent, restoreDrill },
  { dependsOn: [record] },
);
const hostNetwork = config.app.networkMode === "host";
const migratorHost = hostNetwork ? db.host : db.appHost;
const migration = new Migration(
  "migration",
  {
    ...dataStep,
    ...config.migration,
    image: active.image,
    backup,
    network: hostNetwork ? "host" : "bridge",
    migrator: { role: db.migratorRole, password: secrets.migratorPassword, host: migratorHost },
  },
  { dependsOn: [record, roles] },
);

// 3. Color slots: the release goes to its color; the other color stays warm for a flip back.
const { app, traffic } = config;
const service = new BlueGreenService(
  "service",
  {
    app: app.name,
    stack: config.stack,
    colors: config.colors,
    targetColor: config.activeColor,
    replicas: app.replicas,
    appPort: app.port,
    networkMode: app.networkMode,
    memoryMb: app.memoryMb,
    cpus: app.cpus,
    healthPath: app.healthPath,
    // Docker's own healthcheck on the gate's timing (seed 001: 5 s interval, 3 s timeout, 5 attempts).
    healthcheck: {
      intervalSeconds: traffic.gate.intervalSeconds,
      timeoutSeconds: traffic.gate.timeoutSeconds,
      retries: traffic.gate.attempts,
      startPeriodSeconds: traffic.gate.intervalSeconds,
    },
    env: app.env,
    secretEnv: config.secrets.env,
    database: { ...config.database, host: config.database.appHost, user: config.database.appRole },
    databasePassword: config.secrets.appPassword,
    // The new release starts only on the migrated schema; the warm color does not wait.
    targetDependsOn: [migration],
  },
  { dependsOn: [record] },
);

// 4. Health gate and smoke tests on the target color, then the traffic switch and its guard.
const gate = new HealthGate(`gate-${config.activeColor}`, {
  slot: service.target,
  healthPath: app.healthPath,
  readinessPath: app.readinessPath,
  ...traffic.gate,
  smokeChecks: app.smokeChecks,
  webhookUrl: config.secrets.webhookUrl,
});
const trafficSwitch = new TrafficSwitch("switch", {
  activeColor: config.activeColor,
  release: active.release,
  image: active.image,
  gate,
  proxyPort: traffic.proxyPort,
  stateDir: traffic.stateDir,
  hostPorts: { blue: config.colors.blue.hostPort, green: config.colors.green.hostPort },
  replicas: app.replicas,
  healthPath: app.healthPath,
  maintenanceMode: traffic.maintenanceMode,
  warmupPaths: app.warmupPaths,
  guard: traffic.guard,
  webhookUrl: config.secrets.webhookUrl,
});

// 5. Exports: what `pulumi stack history` should show for this release.
export const stack = config.stack;
export const activeColor = config.activeColor;
export const activeRelease = active.release;
export const activeImage = active.image;
export const schemaBreaking = config.migration.schemaBreaking;
export const proxyUrl = trafficSwitch.proxyUrl;
export const gateReport = trafficSwitch.gateReport;
export const switchReport = trafficSwitch.report;
export const releaseRecord = record.record;
export const backupBucket = bucket.bucketName;
export const lastBackup = backup.manifest;
export const lastRestoreDrill = backup.drillReport;
export const migrationRecord = migration.record;
