// The validated, decoded config keys (rules.ts's Decoded) as the program reads them: StackSettings, with
// the defaults that depend on other keys (role names from the app's name, the database's TLS mode from
// the stack and host, the state folder from the stack) filled in.
import { Decoded } from "./rules";
import { parseSmokeCheck } from "./smoke";
import { defaultSslMode } from "./transport";
import { SmokeCheck, StackSettings, otherColor } from "./types";

/** StackSettings from decoded keys; the app's environment comes split into plain and secret values. */
export function settingsFrom(
  c: Decoded,
  stack: string,
  envPlain: Record<string, string>,
  envSecret: Record<string, string>,
): StackSettings {
  const roleBase = c.appName.replace(/-/g, "_");
  return {
    stack,
    app: {
      name: c.appName,
      port: c.appPort,
      healthPath: c.healthPath,
      readinessPath: c.readinessPath,
      replicas: c.replicas,
      memoryMb: c.memoryMb,
      cpus: c.cpus,
      networkMode: c.dockerNetworkMode,
      env: envPlain,
      requiredEnv: c.requiredEnv,
      smokeChecks: c.smokeChecks.map((line) => parseSmokeCheck(line) as SmokeCheck),
      warmupPaths: c.warmupPaths,
    },
    colors: {
      blue: { color: "blue", release: c.blueRelease, image: c.blueImage, hostPort: c.bluePort },
      green: { color: "green", release: c.greenRelease, image: c.greenImage, hostPort: c.greenPort },
    },
    activeColor: c.activeColor,
    idleColor: otherColor(c.activeColor),
    latestColor: c.latestColor,
    database: {
      host: c.dbHost,
      appHost: c.dbAppHost ?? c.dbHost,
      port: c.dbPort,
      name: c.dbName,
      adminUser: c.dbAdminUser,
      migratorRole: c.migratorRole ?? `${roleBase}_migrator`,
      appRole: c.appRole ?? `${roleBase}_app`,
      sslmode: c.dbSslMode ?? defaultSslMode(stack, c.dbHost),
      sslRootCert: c.dbSslRootCert,
    },
    backup: {
      bucket: c.backupBucket,
      prefix: c.backupPrefix,
      retentionDays: c.backupRetentionDays,
      coldAfterDays: c.backupColdAfterDays,
      encryption: c.backupEncryption,
      kmsKeyId: c.backupKmsKeyId,
      objectLockDays: c.backupObjectLockDays,
      objectLockMode: c.backupObjectLockMode ?? "GOVERNANCE",
      minFreeDiskPercent: c.backupMinFreeDiskPercent,
      restoreDrill: c.restoreDrill,
      s3: { endpoint: c.s3Endpoint, region: c.s3Region, accessKeyId: c.s3AccessKeyId },
    },
    migration: {
      command: c.migrationCommand,
      timeoutSeconds: c.migrationTimeoutSeconds,
      schemaBreaking: c.schemaBreaking,
      maxSeconds: c.maxMigrationSeconds,
      largeTableMb: c.migrationLargeTableMb,
    },
    hosts: (c.hosts ?? []).map(({ privateAddress: _retired, ...host }) => host),
    dataHost: c.dataHost,
    protect: c.protect,
    requireDigest: c.requireDigest,
    imageDelivery: c.imageDelivery,
    opsBaseImage: c.opsBaseImage,
    registry:
      c.registryServer !== undefined && c.registryUser !== undefined
        ? { server: c.registryServer, username: c.registryUser }
        : undefined,
    traffic: {
      proxyPort: c.proxyPort,
      listenAddress: c.proxyListenAddress,
      stateDir: c.stateDir ?? `.greenlight/${stack}`,
      maintenanceMode: c.maintenanceMode,
      gate: {
        intervalSeconds: c.gateIntervalSeconds,
        timeoutSeconds: c.gateTimeoutSeconds,
        attempts: c.gateAttempts,
        deadlineSeconds: c.gateDeadlineSeconds,
      },
      guard: {
        errorRatePercent: c.guardErrorRatePercent,
        p95Ms: c.guardP95Ms,
        durationSeconds: c.guardDurationSeconds,
        minRequests: c.guardMinRequests,
      },
      promote: c.promote,
      steps: c.trafficSteps,
      stepSeconds: c.trafficStepSeconds,
      canaryMargins: {
        errorRatePoints: c.canaryErrorRatePoints,
        p95Percent: c.canaryP95MarginPercent,
        p95FloorMs: c.canaryP95FloorMs,
      },
      expandContractSafe: c.expandContractSafe,
      ...(c.previewPort !== undefined ? { previewPort: c.previewPort } : {}),
    },
    override:
      c.overrideReason !== undefined &&
      c.overrideApprover !== undefined &&
      c.overrideTicket !== undefined &&
      c.overrideExpiresAt !== undefined
        ? {
            reason: c.overrideReason,
            approver: c.overrideApprover,
            ticket: c.overrideTicket,
            expiresAt: new Date(Date.parse(c.overrideExpiresAt)).toISOString(),
          }
        : undefined,
    secrets: {
      dbAdminPassword: c.dbAdminPassword,
      migratorPassword: c.migratorPassword,
      appPassword: c.appPassword,
      s3SecretAccessKey: c.s3SecretAccessKey,
      webhookUrl: c.webhookUrl,
      sshPrivateKey: c.sshPrivateKey,
      registryPassword: c.registryPassword,
      env: envSecret,
    },
  };
}
