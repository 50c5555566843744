// The contract between the program's components and the policy pack: type tokens and the environment
// variables every greenlight step command carries. Pure data: components and policies both import it,
// neither imports the other.

/** Component type tokens: greenlight:<area>:<Name>. */
export const COMPONENT = {
  backupBucket: "greenlight:data:BackupBucket",
  databaseRoles: "greenlight:data:DatabaseRoles",
  databaseBackup: "greenlight:data:DatabaseBackup",
  migration: "greenlight:data:Migration",
  rehearsal: "greenlight:data:Rehearsal",
  blueGreenService: "greenlight:release:BlueGreenService",
  colorSlot: "greenlight:release:ColorSlot",
  healthGate: "greenlight:release:HealthGate",
  trafficSwitch: "greenlight:release:TrafficSwitch",
  releaseRecord: "greenlight:release:ReleaseRecord",
  dockerHost: "greenlight:release:DockerHost",
  opsImage: "greenlight:release:OpsImage",
} as const;

/** Provider resource types the components create. */
export const RESOURCE = {
  command: "command:local:Command",
  /** A step that runs on a host over SSH (stacks with hosts). */
  remoteCommand: "command:remote:Command",
  container: "docker:index/container:Container",
  image: "docker:index/image:Image",
  remoteImage: "docker:index/remoteImage:RemoteImage",
  dockerProvider: "pulumi:providers:docker",
  network: "docker:index/network:Network",
  volume: "docker:index/volume:Volume",
  bucket: "aws:s3/bucket:Bucket",
  bucketVersioning: "aws:s3/bucketVersioning:BucketVersioning",
  bucketEncryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  bucketPublicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  bucketLifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
  bucketObjectLock: "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
  bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
  kmsKey: "aws:kms/key:Key",
  pgRole: "postgresql:index/role:Role",
  pgGrant: "postgresql:index/grant:Grant",
  pgDefaultPrivileges: "postgresql:index/defaultPrivileges:DefaultPrivileges",
  pgSchema: "postgresql:index/schema:Schema",
} as const;

/** Whether a resource type is a step command, local or on a host. */
export function isCommandType(type: string): boolean {
  return type === RESOURCE.command || type === RESOURCE.remoteCommand;
}

/**
 * Every greenlight step is a `command:local:Command` whose `environment` carries these plain
 * (non-secret) variables, so a policy can tell what the command does without parsing its command line.
 */
export const STEP_ENV = {
  /** Which step: one of STEP. */
  step: "GREENLIGHT_STEP",
  /** Release id the step works for. */
  release: "GREENLIGHT_RELEASE",
  /** Color the step targets (health gate, switch, slot). */
  color: "GREENLIGHT_COLOR",
  /** "true" when a backup is verified (pg_restore --list, checksum) and, for a migration, required. */
  verify: "GREENLIGHT_VERIFY",
  /** "true" when the health gate also checks the readiness path. */
  readiness: "GREENLIGHT_CHECK_READINESS",
  /** The release record: "true" when the release's schema change is declared breaking. */
  schemaBreaking: "GREENLIGHT_SCHEMA_BREAKING",
  /** The switch: its canary steps ("10,50,100"; unset: one move). */
  trafficSteps: "GREENLIGHT_TRAFFIC_STEPS",
  /** The switch: "true" when it only previews its color (greenlight:promote false). */
  preview: "GREENLIGHT_PREVIEW",
  /** The switch: "true" when the release is declared expand/contract-safe (both schemas serve at once). */
  expandContractSafe: "GREENLIGHT_EXPAND_CONTRACT_SAFE",
  /** Emergency override fields on the release record. */
  overrideReason: "GREENLIGHT_OVERRIDE_REASON",
  overrideApprover: "GREENLIGHT_OVERRIDE_APPROVER",
  overrideTicket: "GREENLIGHT_OVERRIDE_TICKET",
  overrideExpiresAt: "GREENLIGHT_OVERRIDE_EXPIRES_AT",
} as const;

/** Values of GREENLIGHT_STEP. */
export const STEP = {
  record: "record",
  /** The check of a host's pinned SSH key, before anything reaches the host. */
  hostKey: "host-key",
  /** An image sent from the runner to a host over SSH (the ops image; releases with ssh delivery). */
  deliver: "deliver",
  backup: "backup",
  restoreDrill: "restore-drill",
  rehearse: "rehearse",
  migrate: "migrate",
  healthGate: "health-gate",
  switch: "switch",
} as const;

export type StepName = (typeof STEP)[keyof typeof STEP];

/** Labels every app container carries. */
export const LABEL = {
  app: "greenlight.app",
  color: "greenlight.color",
  release: "greenlight.release",
  stack: "greenlight.stack",
  /** The Docker host a replica runs on (stacks with hosts). */
  host: "greenlight.host",
} as const;

/**
 * The `update` command of a step that runs once per release (backup, drill, migration): an update of any
 * input but its triggers (a new SSH key, a rotated password, a new ops image) prints the step's last
 * report again instead of running the step, so nothing reruns and its outputs stay as they were. It needs
 * `addPreviousOutputInEnv` (pulumi/pulumi-command provider/pkg/provider/local/commandOutputs.go:88-91,
 * remote/commandOutputs.go:51-60: the previous stdout as PULUMI_COMMAND_STDOUT).
 */
export const KEEP_REPORT_COMMAND = `printf '%s\\n' "$PULUMI_COMMAND_STDOUT"`;
