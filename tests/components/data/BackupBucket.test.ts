import { strict as assert } from "assert";
import {
  coldStorageClass,
  lifecycleNotes,
  lifecycleRules,
  s3ProviderArgs,
} from "../../../components/data/BackupBucket";
import { COMPONENT, RESOURCE } from "../../../contract/resources";
import { RecordedResource } from "../../../tools/harness/run";
import { fixture, isSecretMarker, named, ofType, program } from "./support";

/** The companions of the bucket: each must name the bucket through its id (a property dependency). */
const COMPANIONS = [
  RESOURCE.bucketVersioning,
  RESOURCE.bucketEncryption,
  RESOURCE.bucketPublicAccessBlock,
  RESOURCE.bucketLifecycle,
  RESOURCE.bucketObjectLock,
  RESOURCE.bucketPolicy,
];

function onlyOne(resources: RecordedResource[], type: string): RecordedResource {
  const found = ofType(resources, type);
  assert.equal(found.length, 1, `one ${type}`);
  return found[0];
}

describe("BackupBucket: pure parts", () => {
  it("moves backups to a colder class AWS allows at that age, keeping millisecond reads", () => {
    assert.equal(coldStorageClass(7), "GLACIER_IR", "STANDARD_IA needs 30 days in STANDARD first");
    assert.equal(coldStorageClass(29), "GLACIER_IR");
    assert.equal(coldStorageClass(30), "STANDARD_IA");
  });

  it("expires current and noncurrent versions, transitions both, and aborts stale multipart uploads", () => {
    assert.deepEqual(lifecycleRules("db", 35, 7), [
      {
        id: "greenlight-backups",
        status: "Enabled",
        filter: { prefix: "db/" },
        transitions: [{ days: 7, storageClass: "GLACIER_IR" }],
        noncurrentVersionTransitions: [{ noncurrentDays: 7, storageClass: "GLACIER_IR" }],
        expiration: { days: 35 },
        noncurrentVersionExpiration: { noncurrentDays: 35 },
        abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
      },
    ]);
    const never = lifecycleRules("greenlight", 7, 0)[0];
    assert.equal(never.transitions, undefined, "coldAfterDays 0: no transition");
    assert.deepEqual(never.expiration, { days: 7 });
  });

  it("warns when GLACIER_IR's 90-day minimum would outlast the retention", () => {
    assert.match(lifecycleNotes(35, 7)[0], /GLACIER_IR bills at least 90 days/);
    assert.deepEqual(lifecycleNotes(400, 7), []);
    assert.deepEqual(lifecycleNotes(400, 45), [], "STANDARD_IA");
    assert.deepEqual(lifecycleNotes(35, 0), []);
  });

  it("points the provider at an S3-compatible endpoint path-style, without AWS account checks", () => {
    const local = s3ProviderArgs({
      endpoint: "http://127.0.0.1:4569",
      region: "us-east-1",
      accessKeyId: "S3RVER",
    });
    assert.deepEqual(local, {
      region: "us-east-1",
      endpoints: [{ s3: "http://127.0.0.1:4569" }],
      s3UsePathStyle: true,
      skipCredentialsValidation: true,
      skipRegionValidation: true,
      skipRequestingAccountId: true,
      skipMetadataApiCheck: true,
      accessKey: "S3RVER",
    });
    assert.deepEqual(s3ProviderArgs({ region: "eu-central-1" }), { region: "eu-central-1" });
  });
});

describe("BackupBucket in the real program (mocks)", function () {
  this.timeout(120_000);

  it("production: versioned, KMS-encrypted, fully blocked, lifecycled, object-locked, protected and retained", async () => {
    const { resources } = await program("production");
    const component = named(resources, "backups");
    assert.equal(component.type, COMPONENT.backupBucket);
    const bucket = onlyOne(resources, RESOURCE.bucket);
    assert.equal(bucket.name, "backups-bucket");
    assert.equal(bucket.parent, component.urn);
    assert.equal(bucket.inputs.bucket, "example-shop-backups-production");
    assert.equal(bucket.inputs.objectLockEnabled, true);
    assert.equal(bucket.inputs.forceDestroy, false);
    assert.equal(bucket.protect, true);
    assert.equal(bucket.retainOnDelete, true);

    const key = onlyOne(resources, RESOURCE.kmsKey);
    assert.equal(key.inputs.enableKeyRotation, true);
    assert.equal(key.protect, true, "losing the key loses every backup");
    assert.equal(key.retainOnDelete, true);

    for (const type of COMPANIONS) {
      const companion = onlyOne(resources, type);
      assert.equal(companion.parent, component.urn, `${companion.name} is a child`);
      assert.match(companion.name, /^backups-/);
      assert.deepEqual(
        companion.propertyDependencies.bucket,
        [bucket.urn],
        `${companion.name} configures the bucket`,
      );
    }
    assert.deepEqual(onlyOne(resources, RESOURCE.bucketVersioning).inputs.versioningConfiguration, {
      status: "Enabled",
    });
    const encryption = onlyOne(resources, RESOURCE.bucketEncryption);
    assert.deepEqual(encryption.inputs.rules, [
      {
        applyServerSideEncryptionByDefault: {
          sseAlgorithm: "aws:kms",
          kmsMasterKeyId: "arn:aws:kms:us-east-1:000000000000:key/backups-key",
        },
        bucketKeyEnabled: true,
      },
    ]);
    assert.ok(encryption.dependencies.includes(key.urn));
    const block = onlyOne(resources, RESOURCE.bucketPublicAccessBlock).inputs;
    for (const flag of ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"])
      assert.equal(block[flag], true, flag);
    assert.deepEqual(onlyOne(resources, RESOURCE.bucketLifecycle).inputs.rules, lifecycleRules("db", 90, 30));
    const lock = onlyOne(resources, RESOURCE.bucketObjectLock);
    assert.equal(lock.inputs.objectLockEnabled, "Enabled");
    // COMPLIANCE in production (greenlight:backupObjectLockMode): no credential can lift it.
    assert.deepEqual(lock.inputs.rule, { defaultRetention: { mode: "COMPLIANCE", days: 30 } });
    const policy = onlyOne(resources, RESOURCE.bucketPolicy).inputs.policy as {
      Statement: Record<string, unknown>[];
    };
    assert.equal(policy.Statement.length, 1);
    assert.deepEqual(
      { ...policy.Statement[0], Resource: undefined },
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: undefined,
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    );
    const [bucketArn, objectsArn] = policy.Statement[0].Resource as string[];
    assert.match(bucketArn, /^arn:aws:s3:::/);
    assert.equal(objectsArn, `${bucketArn}/*`, "the objects too, not only the bucket");
    assert.equal(named(resources, "backup-s3").type, "pulumi:providers:aws");
    assert.equal(bucket.provider, named(resources, "backup-s3").urn);
  });

  it("staging: hardened without object lock, not protected (the caller says it is not production)", async () => {
    const { resources } = await program("staging");
    const bucket = onlyOne(resources, RESOURCE.bucket);
    assert.equal(bucket.protect, false);
    assert.equal(bucket.retainOnDelete, false);
    assert.equal(bucket.inputs.objectLockEnabled, undefined);
    assert.equal(resources.filter((resource) => resource.type === RESOURCE.bucketObjectLock).length, 0);
    assert.equal(ofType(resources, RESOURCE.bucketVersioning).length, 1);
    assert.equal(ofType(resources, RESOURCE.bucketPolicy).length, 1, "TLS only on every hardened bucket");
  });

  it("local: an explicit provider at the S3-compatible endpoint, the bucket alone (s3rver has no hardening APIs)", async () => {
    const { resources } = await program("local");
    const provider = named(resources, "backup-s3");
    // Provider inputs reach the engine JSON-encoded.
    assert.deepEqual(JSON.parse(String(provider.inputs.endpoints)), [{ s3: "http://127.0.0.1:4569" }]);
    assert.equal(provider.inputs.s3UsePathStyle, "true");
    assert.equal(provider.inputs.skipCredentialsValidation, "true");
    assert.equal(provider.inputs.skipRequestingAccountId, "true");
    assert.ok(isSecretMarker(provider.inputs.accessKey), "the AWS provider keeps its access key secret too");
    assert.ok(isSecretMarker(provider.inputs.secretKey), "the S3 secret key is a secret");
    const bucket = onlyOne(resources, RESOURCE.bucket);
    assert.equal(bucket.provider, provider.urn);
    assert.equal(bucket.inputs.bucket, "shop-backups-local");
    for (const type of [...COMPANIONS, RESOURCE.kmsKey])
      assert.equal(resources.filter((resource) => resource.type === type).length, 0, `no ${type}`);
  });

  it("AES256 creates no KMS key; a given key id is used instead of a created one", async () => {
    const aes = await program("staging", { "greenlight:backupEncryption": "AES256" });
    assert.equal(aes.resources.filter((resource) => resource.type === RESOURCE.kmsKey).length, 0);
    assert.deepEqual(onlyOne(aes.resources, RESOURCE.bucketEncryption).inputs.rules, [
      { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: false },
    ]);
    const given = await fixture("valid");
    assert.ok(given.ok, given.ok ? "" : given.message);
    assert.equal(given.resources.filter((resource) => resource.type === RESOURCE.kmsKey).length, 0);
    const rule = (
      onlyOne(given.resources, RESOURCE.bucketEncryption).inputs.rules as Record<string, unknown>[]
    )[0];
    assert.deepEqual(rule.applyServerSideEncryptionByDefault, {
      sseAlgorithm: "aws:kms",
      kmsMasterKeyId: "arn:aws:kms:eu-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    });
    const lifecycle = onlyOne(given.resources, RESOURCE.bucketLifecycle).inputs.rules as Record<
      string,
      unknown
    >[];
    assert.deepEqual(lifecycle[0].transitions, [{ days: 45, storageClass: "STANDARD_IA" }]);
  });

  for (const [testCase, message] of [
    ["bad-bucket", /BackupBucket backups: args\.bucket "Fixture_Backups" is invalid/],
    ["bad-prefix", /BackupBucket backups: args\.prefix "db backups" is invalid/],
    ["kms-with-aes", /args\.kmsKeyId .* expected no key with AES256/],
    [
      "cold-after-retention",
      /args\.coldAfterDays 400 is invalid: expected 0 or fewer days than retentionDays \(400\)/,
    ],
    ["lock-after-retention", /args\.objectLockDays 401 is invalid: expected at most retentionDays/],
    ["protected-unhardened", /args\.hardening false is invalid: expected true when the bucket is protected/],
  ] as const) {
    it(`refuses ${testCase} before registering anything`, async () => {
      const run = await fixture(testCase);
      assert.equal(run.ok, false);
      assert.match(run.ok ? "" : run.message, message);
      assert.equal(run.resources.filter((resource) => resource.type === RESOURCE.bucket).length, 0);
    });
  }
});
