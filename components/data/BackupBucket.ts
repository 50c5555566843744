import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { COMPONENT } from "../../contract/resources";
import { ArgChecker } from "../arg-checker";

export interface BackupBucketArgs {
  /** Bucket name: 3-63 lower-case letters, digits, '.' or '-'. */
  bucket: string;
  /** Key prefix the backups live under (`<prefix>/<stack>/<release>/…`); lifecycle rules apply to it. */
  prefix: string;
  /** Default server-side encryption: "aws:kms" (a key is created unless kmsKeyId is given) or "AES256". */
  encryption: "aws:kms" | "AES256";
  /** An existing KMS key id or ARN for aws:kms; unset: the component creates one with rotation on. */
  kmsKeyId?: string;
  /** Days a backup, and a noncurrent version, is kept before it expires (1-3650). */
  retentionDays: number;
  /** Days before backups move to colder storage, 0 = never; must be below retentionDays. */
  coldAfterDays: number;
  /** Object-lock retention in days, 0 = no object lock; at most retentionDays. */
  objectLockDays: number;
  /**
   * Object-lock mode. GOVERNANCE (default): whoever holds s3:BypassGovernanceRetention can shorten or
   * lift a lock. COMPLIANCE: no one can, the account's root included, until the retention ends.
   */
  objectLockMode?: "GOVERNANCE" | "COMPLIANCE";
  /** Protect and retain what the release cannot recreate (greenlight:protect): pulumi destroy cannot delete it. */
  protect: boolean;
  /**
   * Create the hardening companions (versioning, encryption, public-access block, lifecycle, object
   * lock). Default true. False only for an S3-compatible server that lacks those APIs (s3rver): the
   * bucket alone is created and the policy pack reports what is missing.
   */
  hardening?: boolean;
  /** AWS provider for every child: the local stack points it at an S3-compatible endpoint. */
  provider?: aws.Provider;
}

/** Days an object must stay in STANDARD before a lifecycle rule may move it to STANDARD_IA (AWS). */
export const STANDARD_IA_MIN_DAYS = 30;
/** Minimum storage duration GLACIER_IR bills for, in days (AWS). */
export const GLACIER_IR_MIN_STORAGE_DAYS = 90;

/**
 * The colder class backups move to. Both keep millisecond reads, so a rollback's restore never waits
 * for a Glacier retrieval: STANDARD_IA once AWS allows it (30 days), GLACIER_IR before that.
 */
export function coldStorageClass(coldAfterDays: number): "STANDARD_IA" | "GLACIER_IR" {
  return coldAfterDays >= STANDARD_IA_MIN_DAYS ? "STANDARD_IA" : "GLACIER_IR";
}

/** The lifecycle rule of the backup prefix: colder class, expiry, noncurrent versions, stale uploads. */
export function lifecycleRules(
  keyPrefix: string,
  retentionDays: number,
  coldAfterDays: number,
): aws.types.input.s3.BucketLifecycleConfigurationRule[] {
  const storageClass = coldStorageClass(coldAfterDays);
  return [
    {
      id: "greenlight-backups",
      status: "Enabled",
      filter: { prefix: `${keyPrefix}/` },
      ...(coldAfterDays > 0
        ? {
            transitions: [{ days: coldAfterDays, storageClass }],
            noncurrentVersionTransitions: [{ noncurrentDays: coldAfterDays, storageClass }],
          }
        : {}),
      expiration: { days: retentionDays },
      noncurrentVersionExpiration: { noncurrentDays: retentionDays },
      // A failed backup aborts its multipart upload; this catches one whose process died first.
      abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
    },
  ];
}

/** Cost notes for the chosen lifecycle (logged as warnings, never silently changed). */
export function lifecycleNotes(retentionDays: number, coldAfterDays: number): string[] {
  if (coldAfterDays === 0 || coldStorageClass(coldAfterDays) !== "GLACIER_IR") return [];
  const stored = retentionDays - coldAfterDays;
  return stored < GLACIER_IR_MIN_STORAGE_DAYS
    ? [
        `backups move to GLACIER_IR after ${coldAfterDays} days but expire ${stored} days later; GLACIER_IR bills at least ${GLACIER_IR_MIN_STORAGE_DAYS} days, so a colder class may cost more than keeping them in STANDARD (set backupColdAfterDays to 0 or ≥ ${STANDARD_IA_MIN_DAYS})`,
      ]
    : [];
}

/**
 * The bucket policy refusing every request not made over TLS (aws:SecureTransport false), to the
 * bucket and to its objects, whoever makes it: a credential used over plain HTTP gets nothing.
 */
export function tlsOnlyPolicy(bucketArn: pulumi.Input<string>): aws.types.input.s3.PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucketArn, pulumi.interpolate`${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ],
  };
}

/** AWS provider settings; with an endpoint, path-style S3 at that URL without AWS account checks. */
export function s3ProviderArgs(
  s3: { endpoint?: string; region: string; accessKeyId?: string },
  secretAccessKey?: pulumi.Input<string>,
): aws.ProviderArgs {
  const credentials = {
    ...(s3.accessKeyId ? { accessKey: s3.accessKeyId } : {}),
    ...(secretAccessKey !== undefined ? { secretKey: pulumi.secret(secretAccessKey) } : {}),
  };
  if (!s3.endpoint) return { region: s3.region, ...credentials };
  return {
    region: s3.region,
    endpoints: [{ s3: s3.endpoint }],
    s3UsePathStyle: true,
    skipCredentialsValidation: true,
    skipRegionValidation: true,
    skipRequestingAccountId: true,
    skipMetadataApiCheck: true,
    ...credentials,
  };
}

/**
 * The bucket that holds the database backups (the step-by-step production playbook: "Replicate off-site"), hardened: versioning,
 * default encryption, all four public-access blocks, lifecycle (colder class, expiry, noncurrent
 * versions) and, when configured, object lock so a backup cannot be deleted or overwritten in time.
 */
export class BackupBucket extends pulumi.ComponentResource {
  readonly bucket: aws.s3.Bucket;
  /** The bucket's name once it exists: pass it on so the backup waits for the bucket. */
  readonly bucketName: pulumi.Output<string>;
  readonly bucketArn: pulumi.Output<string>;
  /** The KMS key the component created, if it created one. */
  readonly kmsKey?: aws.kms.Key;

  constructor(name: string, args: BackupBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT.backupBucket, name, {}, opts);
    const check = new ArgChecker("BackupBucket", name);
    check.bucket("bucket", args.bucket);
    check.keyPrefix("prefix", args.prefix);
    check.require(
      args.encryption === "aws:kms" || args.encryption === "AES256",
      "encryption",
      args.encryption,
      "aws:kms or AES256",
    );
    check.require(
      args.kmsKeyId === undefined || args.encryption === "aws:kms",
      "kmsKeyId",
      args.kmsKeyId,
      "no key with AES256 (set encryption to aws:kms to use a KMS key)",
    );
    check.integer("retentionDays", args.retentionDays, 1, 3650, "whole days");
    check.integer("coldAfterDays", args.coldAfterDays, 0, 3650, "whole days");
    check.integer("objectLockDays", args.objectLockDays, 0, 3650, "whole days");
    check.require(
      !(args.coldAfterDays > 0 && args.coldAfterDays >= args.retentionDays),
      "coldAfterDays",
      args.coldAfterDays,
      `0 or fewer days than retentionDays (${args.retentionDays})`,
    );
    check.require(
      args.objectLockDays <= args.retentionDays,
      "objectLockDays",
      args.objectLockDays,
      `at most retentionDays (${args.retentionDays}): locked backups cannot expire`,
    );
    const objectLockMode = args.objectLockMode ?? "GOVERNANCE";
    check.require(
      objectLockMode === "GOVERNANCE" || objectLockMode === "COMPLIANCE",
      "objectLockMode",
      objectLockMode,
      "GOVERNANCE or COMPLIANCE",
    );
    const hardening = args.hardening ?? true;
    check.require(
      !(args.protect && !hardening),
      "hardening",
      false,
      "true when the bucket is protected (only a local S3-compatible server may skip it)",
    );

    const child = { parent: this, provider: args.provider };
    const keep = { protect: args.protect, retainOnDelete: args.protect };
    if (hardening && args.encryption === "aws:kms" && args.kmsKeyId === undefined) {
      this.kmsKey = new aws.kms.Key(
        `${name}-key`,
        {
          description: `greenlight database backups in ${args.bucket}`,
          enableKeyRotation: true,
          deletionWindowInDays: 30,
        },
        { ...child, ...keep },
      );
    }
    const lock = args.objectLockDays > 0;
    this.bucket = new aws.s3.Bucket(
      `${name}-bucket`,
      {
        bucket: args.bucket,
        forceDestroy: false,
        ...(lock ? { objectLockEnabled: true } : {}),
        tags: { "greenlight:purpose": "database-backups" },
      },
      // Deleted before its key: a destroy that fails on the non-empty bucket never schedules the key's
      // deletion (the engine deletes dependents first and stops at the failure), so backups stay readable.
      { ...child, ...keep, dependsOn: this.kmsKey ? [this.kmsKey] : [] },
    );
    this.bucketName = this.bucket.bucket;
    this.bucketArn = this.bucket.arn;

    if (hardening) {
      const bucket = this.bucket.id;
      const versioning = new aws.s3.BucketVersioning(
        `${name}-versioning`,
        { bucket, versioningConfiguration: { status: "Enabled" } },
        child,
      );
      const kms = args.encryption === "aws:kms";
      new aws.s3.BucketServerSideEncryptionConfiguration(
        `${name}-encryption`,
        {
          bucket,
          rules: [
            {
              applyServerSideEncryptionByDefault: {
                sseAlgorithm: args.encryption,
                ...(kms ? { kmsMasterKeyId: args.kmsKeyId ?? this.kmsKey?.arn } : {}),
              },
              bucketKeyEnabled: kms,
            },
          ],
        },
        child,
      );
      new aws.s3.BucketPublicAccessBlock(
        `${name}-public-access`,
        {
          bucket,
          blockPublicAcls: true,
          blockPublicPolicy: true,
          ignorePublicAcls: true,
          restrictPublicBuckets: true,
        },
        child,
      );
      new aws.s3.BucketLifecycleConfiguration(
        `${name}-lifecycle`,
        { bucket, rules: lifecycleRules(args.prefix, args.retentionDays, args.coldAfterDays) },
        { ...child, dependsOn: [versioning] },
      );
      for (const note of lifecycleNotes(args.retentionDays, args.coldAfterDays)) pulumi.log.warn(note, this);
      // Not public (it only denies), so the public-access block's BlockPublicPolicy lets it in.
      new aws.s3.BucketPolicy(`${name}-tls-only`, { bucket, policy: tlsOnlyPolicy(this.bucket.arn) }, child);
      if (lock) {
        new aws.s3.BucketObjectLockConfiguration(
          `${name}-object-lock`,
          {
            bucket,
            objectLockEnabled: "Enabled",
            rule: { defaultRetention: { mode: objectLockMode, days: args.objectLockDays } },
          },
          { ...child, dependsOn: [versioning] },
        );
      }
    }
    this.registerOutputs({ bucketName: this.bucketName, bucketArn: this.bucketArn });
  }
}
