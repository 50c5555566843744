// greenlight: one release of a Dockerised web app on PostgreSQL, in the runbook's order.
// Reads top-down: config → data safety → color slots → gate → switch → exports. Wiring only: the
// argument mapping from config to each component is in args.ts.
import * as aws from "@pulumi/aws";
import { BackupBucket, s3ProviderArgs } from "./components/data/BackupBucket";
import { DatabaseBackup } from "./components/data/DatabaseBackup";
import { DatabaseRoles } from "./components/data/DatabaseRoles";
import { Migration } from "./components/data/Migration";
import { Rehearsal, recordWithSchema } from "./components/data/Rehearsal";
import { BlueGreenService } from "./components/release/BlueGreenService";
import { HealthGate } from "./components/release/HealthGate";
import { ReleaseRecord } from "./components/release/ReleaseRecord";
import { TrafficSwitch } from "./components/release/TrafficSwitch";
import { DockerHost } from "./components/release/DockerHost";
import { stageOpsImage } from "./components/release/ops-image";
import { stageKnownHosts } from "./components/release/known-hosts";
import * as args from "./args";
import { loadConfig } from "./config";

// 1. Configuration: one validated object; a bad stack file stops here, before any resource.
const config = loadConfig();
const active = args.activeRelease(config);

// The release record runs first: it re-checks an emergency override and is exported for stack history.
const record = new ReleaseRecord("release", args.recordArgs(config));

// Docker hosts (stacks with hosts): each host's pinned SSH key checked, a docker provider over SSH, the
// ops image built there at this program's version, and a traffic proxy per host; one host at a time, so
// fronts restart one by one.
const hosts: DockerHost[] = [];
if (config.hosts.length > 0) {
  const opsImage = { ...stageOpsImage(), base: config.opsBaseImage };
  const knownHosts = stageKnownHosts(config.stack, config.hosts);
  for (const host of args.hostArgs(config, opsImage, knownHosts))
    hosts.push(
      new DockerHost(`host-${host.host.name}`, {
        ...host,
        after: [record, ...hosts.slice(-1)],
        hostKeyCheck: { after: [record], every: record.record },
      }),
    );
}
const dataPlace = args.dataPlace(config, hosts);

// 2. Data safety: hardened bucket, least-privilege roles, verified backup, run-once migration.
const s3Provider = new aws.Provider(
  "backup-s3",
  s3ProviderArgs(config.backup.s3, config.secrets.s3SecretAccessKey),
);
// Everything waits for the release record: outside the window nothing changes, not even the bucket.
const bucket = new BackupBucket("backups", args.bucketArgs(config, s3Provider), { dependsOn: [record] });
const roles = new DatabaseRoles("roles", args.rolesArgs(config), { dependsOn: [record] });
// The backup waits for the whole bucket component: encryption, object lock and public-access block too.
const backup = new DatabaseBackup("backup", args.backupArgs(config, bucket.bucketName, dataPlace), {
  dependsOn: [record, bucket],
});
// The migration rehearsed on the drill's copy first (stacks with a drill): it must pass before the migration.
const rehearsal = backup.drill
  ? new Rehearsal(
      "rehearsal",
      args.rehearsalArgs(config, bucket.bucketName, backup, dataPlace, args.dataHostPull(config, hosts)),
      { dependsOn: [record, roles] },
    )
  : undefined;
const migration = new Migration(
  "migration",
  args.migrationArgs(config, bucket.bucketName, backup, dataPlace, args.dataHostPull(config, hosts)),
  {
    dependsOn: [record, roles, ...(rehearsal ? [rehearsal] : [])],
  },
);

// 3. Color slots: the release goes to its color; the other color stays warm for a flip back.
// Both colors connect as the app role: the warm one too waits for the roles.
const service = new BlueGreenService("service", args.serviceArgs(config, migration, hosts), {
  dependsOn: [record, roles],
});

// 4. Health gate and smoke tests on the target color, then the traffic switch and its guard.
const gate = new HealthGate(`gate-${config.activeColor}`, args.gateArgs(config, service.target));
const trafficSwitch = new TrafficSwitch("switch", args.switchArgs(config, gate, hosts));

// 5. Exports: what `pulumi stack history` should show for this release.
export const stack = config.stack;
export const activeColor = config.activeColor;
export const activeRelease = active.release;
export const activeImage = active.image;
export const schemaBreaking = config.migration.schemaBreaking;
export const proxyUrl = trafficSwitch.proxyUrl;
export const gateReport = trafficSwitch.gateReport;
export const switchReport = trafficSwitch.report;
export const releaseRecord = recordWithSchema(record.record, rehearsal?.report);
export const backupBucket = bucket.bucketName;
export const lastBackup = backup.manifest;
export const lastRestoreDrill = backup.drillReport;
export const migrationRecord = migration.record;
// The rehearsal's classification, changes, duration and locks: the rollback and policies read it.
export const schemaCompatibility = rehearsal?.report;
