// The AWS provider (@pulumi/aws 7.48.0, hashicorp/terraform-provider-aws v6 bridged): what it stores
// after create and what a change does, for the inputs greenlight sets on the backup bucket, its
// hardening companions and its KMS key. Every value greenlight sets reads back as given (S3 returns the
// configuration it was put); sets compare in any order; the rest is computed. The exact upstream commit
// pulumi-aws 7.48.0 pins could not be resolved offline; the files are cited by path and attribute.
import { TypeRules, canonical, withDefaults } from "./rules";

const AWS = "hashicorp/terraform-provider-aws internal/service";
const VERSION = "hashicorp/terraform-provider-aws v6 (bridged by @pulumi/aws 7.48.0)";

export const bucket: TypeRules = {
  type: "aws:s3/bucket:Bucket",
  diff: "state",
  version: VERSION,
  properties: {
    bucket: {
      apply: "replace",
      computed: true,
      source: `${AWS}/s3/bucket.go (bucket: Optional, Computed, ForceNew)`,
    },
    forceDestroy: {
      apply: "state",
      default: () => false,
      source: `${AWS}/s3/bucket.go (force_destroy: Default false, read by Delete only)`,
    },
    objectLockEnabled: {
      apply: "replace",
      computed: true,
      source: `${AWS}/s3/bucket.go (object_lock_enabled: Optional, Computed, ForceNew)`,
    },
    tags: { apply: "update", source: `${AWS}/s3/bucket.go (tags: updated in place, tags_all computed)` },
  },
  computed: (name, inputs) => ({
    bucket: inputs.bucket ?? name,
    arn: `arn:aws:s3:::${String(inputs.bucket ?? name)}`,
  }),
};

export const bucketVersioning: TypeRules = {
  type: "aws:s3/bucketVersioning:BucketVersioning",
  diff: "state",
  version: VERSION,
  properties: {
    bucket: { apply: "replace", source: `${AWS}/s3/bucket_versioning.go (bucket: ForceNew)` },
    versioningConfiguration: {
      apply: "update",
      // mfa_delete is computed: AWS reports Disabled when it was never set.
      planned: (value) => withDefaults(value, { mfaDelete: "Disabled" }),
      stored: (value) => withDefaults(value, { mfaDelete: "Disabled" }),
      source: `${AWS}/s3/bucket_versioning.go (versioning_configuration: status updated with PutBucketVersioning; mfa_delete Optional, Computed)`,
    },
  },
};

export const bucketEncryption: TypeRules = {
  type: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  diff: "state",
  version: VERSION,
  properties: {
    bucket: {
      apply: "replace",
      source: `${AWS}/s3/bucket_server_side_encryption_configuration.go (bucket: ForceNew)`,
    },
    rules: {
      apply: "update",
      set: true,
      source: `${AWS}/s3/bucket_server_side_encryption_configuration.go (rule: TypeSet; Read flattens GetBucketEncryption as put; Update puts it again)`,
    },
  },
};

export const bucketPublicAccessBlock: TypeRules = {
  type: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  diff: "state",
  version: VERSION,
  properties: {
    bucket: { apply: "replace", source: `${AWS}/s3/bucket_public_access_block.go (bucket: ForceNew)` },
    blockPublicAcls: { apply: "update", source: `${AWS}/s3/bucket_public_access_block.go` },
    blockPublicPolicy: { apply: "update", source: `${AWS}/s3/bucket_public_access_block.go` },
    ignorePublicAcls: { apply: "update", source: `${AWS}/s3/bucket_public_access_block.go` },
    restrictPublicBuckets: { apply: "update", source: `${AWS}/s3/bucket_public_access_block.go` },
  },
};

/** A policy document as structure.NormalizeJsonString keeps it: parsed and written again, keys sorted. */
function normalizedPolicy(value: unknown): unknown {
  if (typeof value !== "string") return value;
  try {
    return canonical(JSON.parse(value));
  } catch {
    return value;
  }
}

export const bucketPolicy: TypeRules = {
  type: "aws:s3/bucketPolicy:BucketPolicy",
  diff: "state",
  version: VERSION,
  properties: {
    bucket: { apply: "replace", source: `${AWS}/s3/bucket_policy.go (bucket: Required, ForceNew)` },
    policy: {
      apply: "update",
      stores: "the document normalised (structure.NormalizeJsonString); an equivalent policy is no change",
      planned: normalizedPolicy,
      stored: normalizedPolicy,
      source: `${AWS}/s3/bucket_policy.go (policy: StateFunc NormalizeJsonString, DiffSuppressFunc SuppressEquivalentPolicyDiffs; Update: PutBucketPolicy)`,
    },
  },
};

export const bucketLifecycle: TypeRules = {
  type: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
  diff: "state",
  version: VERSION,
  properties: {
    bucket: {
      apply: "replace",
      source: `${AWS}/s3/bucket_lifecycle_configuration_fw.go (bucket: RequiresReplace)`,
    },
    // Computed fields AWS fills in (expired_object_delete_marker, newer_noncurrent_versions, the rule's
    // legacy prefix) are Optional+Computed with UseStateForUnknown: an unset value keeps the stored one.
    rules: {
      apply: "update",
      source: `${AWS}/s3/bucket_lifecycle_configuration_fw.go (rule list; Create flattens GetBucketLifecycleConfiguration; computed fields use the state)`,
    },
  },
  computed: () => ({ transitionDefaultMinimumObjectSize: "all_storage_classes_128K" }),
};

export const bucketObjectLock: TypeRules = {
  type: "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
  diff: "state",
  version: VERSION,
  properties: {
    bucket: { apply: "replace", source: `${AWS}/s3/bucket_object_lock_configuration.go (bucket: ForceNew)` },
    objectLockEnabled: {
      apply: "replace",
      default: () => "Enabled",
      source: `${AWS}/s3/bucket_object_lock_configuration.go (object_lock_enabled: Default Enabled, ForceNew)`,
    },
    rule: {
      apply: "update",
      source: `${AWS}/s3/bucket_object_lock_configuration.go (rule: PutObjectLockConfiguration)`,
    },
  },
};

export const kmsKey: TypeRules = {
  type: "aws:kms/key:Key",
  diff: "state",
  version: VERSION,
  properties: {
    description: {
      apply: "update",
      computed: true,
      source: `${AWS}/kms/key.go (description: Optional, Computed; UpdateKeyDescription)`,
    },
    enableKeyRotation: {
      apply: "update",
      default: () => false,
      source: `${AWS}/kms/key.go (enable_key_rotation: Default false; EnableKeyRotation)`,
    },
    deletionWindowInDays: {
      apply: "state",
      source: `${AWS}/kms/key.go (deletion_window_in_days: read by Delete only, ScheduleKeyDeletion)`,
      note: "used when the key is deleted: the key is scheduled for deletion after this many days",
    },
  },
  computed: (name) => ({
    arn: `arn:aws:kms:us-east-1:000000000000:key/${name}`,
    keyId: `${name}-key-id`,
    keyUsage: "ENCRYPT_DECRYPT",
    customerMasterKeySpec: "SYMMETRIC_DEFAULT",
    isEnabled: true,
  }),
};

/** The AWS provider's configuration, diffed by the bridge's DiffConfig (old inputs against new). */
export const awsProvider: TypeRules = {
  type: "pulumi:providers:aws",
  diff: "inputs",
  version: "pulumi/pulumi-terraform-bridge@59de6c661",
  properties: Object.fromEntries(
    [
      "region",
      "endpoints",
      "s3UsePathStyle",
      "skipCredentialsValidation",
      "skipMetadataApiCheck",
      "skipRegionValidation",
      "skipRequestingAccountId",
      "accessKey",
      "secretKey",
      "version",
    ].map((key) => [
      key,
      {
        apply: "update" as const,
        source:
          "pulumi/pulumi-terraform-bridge pkg/tfbridge/provider.go:796-880 (DiffConfig: a change updates the provider)",
      },
    ]),
  ),
};
