// Seed 004 copies backups to S3 and trusts them for restores; a backup that can be overwritten, read
// publicly or kept forever is not one. The bucket needs its companion resources, judged together.
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { RESOURCE } from "./lib/contract";
import { label } from "./lib/graph";

export interface BackupBucketHardenedConfig {
  /** Require object lock (bucket objectLockEnabled or a BucketObjectLockConfiguration); on in production. */
  requireObjectLock: boolean;
  /** Server-side encryption algorithms that count as "encryption on". */
  sseAlgorithms: string[];
}

const PUBLIC_ACCESS_FLAGS = [
  "blockPublicAcls",
  "blockPublicPolicy",
  "ignorePublicAcls",
  "restrictPublicBuckets",
] as const;

function record(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
}

function list(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.map(record) : [];
}

/** Whether a companion resource (versioning, encryption, …) configures this bucket. */
function configures(companion: PolicyResource, bucket: PolicyResource): boolean {
  if ((companion.propertyDependencies.bucket ?? []).includes(bucket)) return true;
  const target = companion.props.bucket;
  return typeof target === "string" && (target === bucket.props.bucket || target === bucket.props.id);
}

export const backupBucketHardened: StackValidationPolicy = {
  name: "backup-bucket-hardened",
  description:
    "Requires each S3 bucket to have versioning enabled, default encryption, all four public-access-block flags, a lifecycle configuration and, where configured, object lock.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      requireObjectLock: {
        type: "boolean",
        description: "Require object lock on the bucket (production keeps backups immutable).",
        default: false,
      },
      sseAlgorithms: {
        type: "array",
        items: { type: "string", enum: ["aws:kms", "aws:kms:dsse", "AES256"] },
        minItems: 1,
        description: "Default-encryption algorithms that count as encryption on.",
        default: ["aws:kms", "aws:kms:dsse", "AES256"],
      },
    },
  },
  remediationSteps:
    "Build the bucket with the BackupBucket component, which creates every companion resource.",
  validateStack: (args, reportViolation) => {
    const given = args.getConfig<Partial<BackupBucketHardenedConfig>>();
    const requireObjectLock = given.requireObjectLock ?? false;
    const sseAlgorithms = given.sseAlgorithms ?? ["aws:kms", "aws:kms:dsse", "AES256"];
    const byType = (type: string) => args.resources.filter((resource) => resource.type === type);
    const versionings = byType(RESOURCE.bucketVersioning);
    const encryptions = byType(RESOURCE.bucketEncryption);
    const accessBlocks = byType(RESOURCE.bucketPublicAccessBlock);
    const lifecycles = byType(RESOURCE.bucketLifecycle);
    const locks = byType(RESOURCE.bucketObjectLock);

    for (const bucket of byType(RESOURCE.bucket)) {
      const of = (companions: PolicyResource[]) =>
        companions.filter((companion) => configures(companion, bucket));
      const problems: string[] = [];

      const versioningOn = of(versionings).some(
        (versioning) => record(versioning.props.versioningConfiguration).status === "Enabled",
      );
      if (!versioningOn && record(bucket.props.versioning).enabled !== true) {
        problems.push(
          `versioning is not enabled (add a BucketVersioning with versioningConfiguration.status "Enabled")`,
        );
      }

      const encrypted = of(encryptions).some((encryption) =>
        list(encryption.props.rules).some((rule) =>
          sseAlgorithms.includes(String(record(rule.applyServerSideEncryptionByDefault).sseAlgorithm)),
        ),
      );
      if (!encrypted) {
        problems.push(
          `default encryption is missing (add a BucketServerSideEncryptionConfiguration using ${sseAlgorithms.join(" or ")})`,
        );
      }

      const blocks = of(accessBlocks);
      const missingFlags = PUBLIC_ACCESS_FLAGS.filter(
        (flag) => !blocks.some((block) => block.props[flag] === true),
      );
      if (blocks.length === 0) {
        problems.push(
          `no public access block (add a BucketPublicAccessBlock with ${PUBLIC_ACCESS_FLAGS.join(", ")} all true)`,
        );
      } else if (missingFlags.length > 0) {
        problems.push(`the public access block leaves ${missingFlags.join(", ")} off (set all four to true)`);
      }

      const lifecycleOn = of(lifecycles).some((lifecycle) =>
        list(lifecycle.props.rules).some((rule) => rule.status === "Enabled"),
      );
      if (!lifecycleOn) {
        problems.push(
          `no enabled lifecycle rule (add a BucketLifecycleConfiguration expiring old backups and noncurrent versions)`,
        );
      }

      if (requireObjectLock) {
        const lockConfigured = of(locks).some((lock) => lock.props.objectLockEnabled !== "Disabled");
        if (!lockConfigured && bucket.props.objectLockEnabled !== true) {
          problems.push(
            `object lock is off (create the bucket with objectLockEnabled: true and a BucketObjectLockConfiguration; greenlight:backupObjectLockDays ≥ 1)`,
          );
        }
      }

      for (const problem of problems) {
        reportViolation(`bucket ${label(bucket)}: ${problem}.`, bucket.urn);
      }
    }
  },
};
