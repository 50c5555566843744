// The composition root's argument mapping: pure functions from the validated stack config (and the
// resources a component waits for) to each component's arguments. index.ts creates the resources in
// the runbook's order; nothing here registers one.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { GreenlightConfig } from "./config";
import type { BackupBucketArgs } from "./components/data/BackupBucket";
import type { DatabaseBackup, DatabaseBackupArgs } from "./components/data/DatabaseBackup";
import type { DatabaseRolesArgs } from "./components/data/DatabaseRoles";
import type { Migration, MigrationArgs } from "./components/data/Migration";
import type { RehearsalArgs } from "./components/data/Rehearsal";
import type { BlueGreenServiceArgs } from "./components/release/BlueGreenService";
import type { ColorSlot } from "./components/release/ColorSlot";
import type { HealthGate, HealthGateArgs } from "./components/release/HealthGate";
import type { ReleaseRecordArgs } from "./components/release/ReleaseRecord";
import type { TrafficSwitchArgs } from "./components/release/TrafficSwitch";
import type { DockerHost, DockerHostArgs, OpsImageBuilt } from "./components/release/DockerHost";
import { spreadReplicas } from "./schema/placement";
import { LOCAL, StepPlace } from "./components/step-command";
import { proxyContainerName } from "./ops/hosts/remote";
import { isPrivateOrLoopback } from "./ops/proxy/config";

/** The release that serves after this update: the active color's settings. */
export function activeRelease(config: GreenlightConfig): GreenlightConfig["colors"]["blue"] {
  return config.colors[config.activeColor];
}

/**
 * The newest release: the latest color's. Backup and migration follow it, not the active color, so a
 * flip back to the warm color changes no input of theirs and runs neither (README, "Reading the plan").
 */
export function latestRelease(config: GreenlightConfig): GreenlightConfig["colors"]["blue"] {
  return config.colors[config.latestColor];
}

/** The release record: re-checks an emergency override and is exported for stack history. */
export function recordArgs(config: GreenlightConfig): ReleaseRecordArgs {
  const active = activeRelease(config);
  return {
    stack: config.stack,
    release: active.release,
    color: config.activeColor,
    image: active.image,
    schemaBreaking: config.migration.schemaBreaking,
    override: config.override,
    snapshot: {
      latestColor: config.latestColor,
      colors: {
        blue: { release: config.colors.blue.release, image: config.colors.blue.image },
        green: { release: config.colors.green.release, image: config.colors.green.image },
      },
    },
  };
}

/**
 * The backup bucket. A custom endpoint is an S3-compatible server (s3rver locally) without
 * versioning/lifecycle/lock APIs, so the hardening companions are left out there.
 */
export function bucketArgs(config: GreenlightConfig, provider: aws.Provider): BackupBucketArgs {
  const bk = config.backup;
  return { ...bk, protect: config.protect, hardening: !bk.s3.endpoint, provider };
}

/** The hosts' platforms, each once in the order the hosts name them: the ops image is built once for each. */
export function hostPlatforms(config: GreenlightConfig): string[] {
  return [...new Set(config.hosts.map((host) => host.platform))];
}

/**
 * Each Docker host of a stack with hosts: its SSH connection (its key pinned, the docker provider's
 * known_hosts file), the ops image built here for its platform, how its release images reach it, and
 * its proxy (listening where clients reach it, its share of each color's replicas; its runtime API and
 * access log only through SSH).
 */
export function hostArgs(
  config: GreenlightConfig,
  opsImages: Record<string, OpsImageBuilt>,
  knownHostsFile: string,
): DockerHostArgs[] {
  const { app, traffic, hosts } = config;
  if (hosts.length === 0) return [];
  if (config.secrets.sshPrivateKey === undefined)
    throw new Error(
      "greenlight:sshPrivateKey is not set: the hosts' SSH key is needed with greenlight:hosts",
    );
  const shares = spreadReplicas(app.replicas, hosts);
  return shares.map(({ host, replicas }) => ({
    host,
    app: app.name,
    stack: config.stack,
    privateKey: config.secrets.sshPrivateKey as pulumi.Output<string>,
    opsImage: opsImages[host.platform],
    delivery: config.imageDelivery,
    knownHostsFile,
    images: { blue: config.colors.blue.image, green: config.colors.green.image },
    registry:
      config.registry && config.secrets.registryPassword
        ? { ...config.registry, password: config.secrets.registryPassword }
        : undefined,
    proxy: {
      listenAddress: traffic.listenAddress,
      proxyPort: traffic.proxyPort,
      upstreamHost: host.replicaAddress,
      hostPorts: { blue: config.colors.blue.hostPort, green: config.colors.green.hostPort },
      replicas,
      healthPath: app.healthPath,
      checkIntervalMs: 1000,
      maintenance: traffic.maintenanceMode,
      ...(traffic.previewPort !== undefined
        ? { preview: { address: previewAddress(host.replicaAddress), port: traffic.previewPort } }
        : {}),
    },
  }));
}

/** Where the data steps run: on greenlight:dataHost when set, else here. */
export function dataPlace(config: GreenlightConfig, hosts: DockerHost[]): StepPlace {
  if (config.dataHost === undefined) return LOCAL;
  const host = hosts.find((candidate) => candidate.name === config.dataHost);
  if (!host) throw new Error(`greenlight:dataHost ${config.dataHost} is not one of greenlight:hosts`);
  return { kind: "host", host: host.connection, image: host.opsImage };
}

/**
 * The data host's pull (or delivery) of the latest release's image: the migration runs that image there,
 * so it waits for the host's engine to have it; undefined without a data host.
 */
export function dataHostPull(config: GreenlightConfig, hosts: DockerHost[]): pulumi.Resource | undefined {
  return hosts.find((candidate) => candidate.name === config.dataHost)?.pulls[config.latestColor];
}

/** The image the migration runs: on a data host, the name that host's engine knows it by. */
function migrationImage(config: GreenlightConfig, hosts: DockerHost[]): string {
  const dataHost = hosts.find((candidate) => candidate.name === config.dataHost);
  return dataHost ? dataHost.hostImages[config.latestColor] : latestRelease(config).image;
}

/** The least-privilege database roles. */
export function rolesArgs(config: GreenlightConfig): DatabaseRolesArgs {
  const { database: db, secrets } = config;
  return { ...db, database: db.name, passwords: secrets, protect: config.protect };
}

/** What the backup and the migration share: the release, the bucket and the admin connection. */
function dataStep(config: GreenlightConfig, bucket: pulumi.Input<string>) {
  const { database: db, backup: bk, secrets } = config;
  return {
    stack: config.stack,
    release: latestRelease(config).release,
    bucket,
    prefix: bk.prefix,
    database: {
      host: db.host,
      port: db.port,
      database: db.name,
      user: db.adminUser,
      sslmode: db.sslmode,
      sslRootCert: db.sslRootCert,
    },
    password: secrets.dbAdminPassword,
    s3: { ...bk.s3, secretAccessKey: secrets.s3SecretAccessKey },
  };
}

/** The verified pre-migration backup (and its restore drill). */
export function backupArgs(
  config: GreenlightConfig,
  bucket: pulumi.Input<string>,
  place: StepPlace = LOCAL,
): DatabaseBackupArgs {
  const { minFreeDiskPercent, restoreDrill } = config.backup;
  // Every stack with a drill rehearses its migrations on the drill's copy.
  return { ...dataStep(config, bucket), minFreeDiskPercent, restoreDrill, rehearsal: restoreDrill, place };
}

/** The migration rehearsal on the drill's copy: the migration's image, command, role and network. */
export function rehearsalArgs(
  config: GreenlightConfig,
  bucket: pulumi.Input<string>,
  backup: DatabaseBackup,
  place: StepPlace = LOCAL,
  hosts: DockerHost[] = [],
): RehearsalArgs {
  // The migration's image and the data host's delivery or pull of it.
  const migration = migrationArgs(config, bucket, backup, place, hosts);
  const { schemaBreaking, maxSeconds, largeTableMb } = config.migration;
  return {
    ...migration,
    declared: schemaBreaking ? "breaking" : "additive",
    maxMigrationSeconds: maxSeconds,
    maintenanceMode: config.traffic.maintenanceMode,
    largeTableMb,
    minFreeDiskPercent: config.backup.minFreeDiskPercent,
    webhookUrl: config.secrets.webhookUrl,
  };
}

/** The run-once migration, after `backup`, as the migrator role from the app's network. */
export function migrationArgs(
  config: GreenlightConfig,
  bucket: pulumi.Input<string>,
  backup: DatabaseBackup,
  place: StepPlace = LOCAL,
  hosts: DockerHost[] = [],
): MigrationArgs {
  const { database: db, secrets } = config;
  const hostNetwork = config.app.networkMode === "host";
  return {
    ...dataStep(config, bucket),
    ...config.migration,
    image: migrationImage(config, hosts),
    backup,
    place,
    imagePulled: dataHostPull(config, hosts),
    network: hostNetwork ? "host" : "bridge",
    migrator: {
      role: db.migratorRole,
      password: secrets.migratorPassword,
      host: hostNetwork ? db.host : db.appHost,
    },
  };
}

/** Both color slots; the latest color's containers start only after `migration` of its release. */
export function serviceArgs(
  config: GreenlightConfig,
  migration: Migration,
  hosts: DockerHost[] = [],
): BlueGreenServiceArgs {
  const { app, traffic } = config;
  return {
    app: app.name,
    stack: config.stack,
    colors: config.colors,
    targetColor: config.activeColor,
    latestColor: config.latestColor,
    replicas: app.replicas,
    appPort: app.port,
    networkMode: app.networkMode,
    memoryMb: app.memoryMb,
    cpus: app.cpus,
    healthPath: app.healthPath,
    // Docker's own healthcheck on the gate's timing (the blue-green deployment procedures: 5 s interval, 3 s timeout, 5 attempts).
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
    // The newest release starts only on the migrated schema; the other color does not wait.
    latestDependsOn: [migration],
    // On hosts: each host runs its share of each color, through its own docker provider.
    hosts:
      hosts.length > 0
        ? spreadReplicas(app.replicas, hosts).map(({ host, replicas }) => ({ host, replicas }))
        : undefined,
  };
}

/** The health gate and smoke tests on the target color's slot. */
export function gateArgs(config: GreenlightConfig, slot: ColorSlot): HealthGateArgs {
  const { app, traffic } = config;
  return {
    slot,
    healthPath: app.healthPath,
    readinessPath: app.readinessPath,
    ...traffic.gate,
    smokeChecks: app.smokeChecks,
    webhookUrl: config.secrets.webhookUrl,
  };
}

/** Where a host's preview front listens: its replicas' address when private or loopback, else loopback. */
function previewAddress(replicaAddress: string): string {
  return isPrivateOrLoopback(replicaAddress) ? replicaAddress : "127.0.0.1";
}

/** The traffic switch to the active color once `gate` passed, and its guard. */
export function switchArgs(
  config: GreenlightConfig,
  gate: HealthGate,
  hosts: DockerHost[] = [],
): TrafficSwitchArgs {
  const { app, traffic } = config;
  const active = activeRelease(config);
  return {
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
    listenAddress: traffic.listenAddress,
    hosts:
      hosts.length > 0 ? { all: hosts, container: proxyContainerName(app.name, config.stack) } : undefined,
    promote: traffic.promote,
    expandContractSafe: traffic.expandContractSafe,
    ...(traffic.steps.length > 0
      ? { steps: traffic.steps, stepSeconds: traffic.stepSeconds, canaryMargins: traffic.canaryMargins }
      : {}),
    ...(traffic.previewPort !== undefined ? { previewPort: traffic.previewPort } : {}),
  };
}
