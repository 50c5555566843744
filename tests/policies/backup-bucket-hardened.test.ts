import { strict as assert } from "assert";
import { backupBucketHardened } from "../../policies/backup-bucket-hardened";
import type { RecordedResource } from "../../tools/harness/types";
import { policyResources, stackViolations, violationsAfter } from "./support/args";
import { byName, releaseGraph } from "./support/release-graph";

const PRODUCTION = { requireObjectLock: true };

const check = (
  change: (graph: RecordedResource[]) => RecordedResource[] | void,
  config: Record<string, unknown> = PRODUCTION,
) => violationsAfter(backupBucketHardened, change, { config });
const without = (name: string) => (graph: RecordedResource[]) =>
  graph.filter((resource) => resource.name !== name);
const BUCKET_URN = byName(releaseGraph(), "backups-bucket").urn;

describe("policies/backup-bucket-hardened", () => {
  it("passes a bucket with versioning, encryption, public-access block, lifecycle and object lock", async () => {
    assert.deepEqual(await check(() => undefined), []);
  });

  it("fails without versioning, on the bucket's URN", async () => {
    assert.deepEqual(await check(without("backups-versioning")), [
      {
        message:
          'bucket backups-bucket (aws:s3/bucket:Bucket): versioning is not enabled (add a BucketVersioning with versioningConfiguration.status "Enabled").',
        urn: BUCKET_URN,
      },
    ]);
  });

  it("fails suspended versioning", async () => {
    const violations = await check((graph) => {
      byName(graph, "backups-versioning").inputs.versioningConfiguration = { status: "Suspended" };
    });
    assert.match(violations[0].message, /versioning is not enabled/);
  });

  it("fails without default encryption, or with an algorithm not allowed", async () => {
    assert.match(
      (await check(without("backups-encryption")))[0].message,
      /default encryption is missing \(add a BucketServerSideEncryptionConfiguration using aws:kms or aws:kms:dsse or AES256\)/,
    );
    const aesOnly = await check(() => undefined, { ...PRODUCTION, sseAlgorithms: ["AES256"] });
    assert.match(
      aesOnly[0].message,
      /default encryption is missing \(add a BucketServerSideEncryptionConfiguration using AES256\)/,
    );
  });

  it("fails a public access block that leaves a flag off, naming it", async () => {
    const violations = await check((graph) => {
      byName(graph, "backups-public-access").inputs.restrictPublicBuckets = false;
    });
    assert.match(
      violations[0].message,
      /the public access block leaves restrictPublicBuckets off \(set all four to true\)/,
    );
    assert.match(
      (await check(without("backups-public-access")))[0].message,
      /no public access block \(add a BucketPublicAccessBlock with blockPublicAcls, blockPublicPolicy, ignorePublicAcls, restrictPublicBuckets all true\)/,
    );
  });

  it("fails without an enabled lifecycle rule", async () => {
    const violations = await check((graph) => {
      (byName(graph, "backups-lifecycle").inputs.rules as Record<string, unknown>[])[0].status = "Disabled";
    });
    assert.match(violations[0].message, /no enabled lifecycle rule/);
  });

  it("fails without a bucket policy refusing requests made without TLS, or with one that refuses less", async () => {
    const missing = await check(without("backups-tls-only"));
    assert.deepEqual(
      missing.map((violation) => violation.message),
      [
        'bucket backups-bucket (aws:s3/bucket:Bucket): no bucket policy refuses requests without TLS (add a BucketPolicy denying s3:* on the bucket and its objects when aws:SecureTransport is "false").',
      ],
    );
    type Statement = Record<string, unknown>;
    const weakened = (change: (statement: Statement) => void) =>
      check((graph) => {
        const policy = byName(graph, "backups-tls-only").inputs.policy as { Statement: Statement[] };
        change(policy.Statement[0]);
      });
    for (const change of [
      (statement: Statement) => (statement.Effect = "Allow"),
      (statement: Statement) => (statement.Action = "s3:GetObject"),
      (statement: Statement) => (statement.Condition = { Bool: { "aws:SecureTransport": "true" } }),
      (statement: Statement) => (statement.Resource = ["arn:aws:s3:::example-shop-backups"]),
      (statement: Statement) => (statement.Principal = { AWS: "arn:aws:iam::111122223333:root" }),
    ])
      assert.match(
        (await weakened(change))[0]?.message ?? "",
        /no bucket policy refuses requests without TLS/,
      );
    // As JSON text it counts the same; ARNs computed from the bucket, unknown in a preview, count as given.
    assert.deepEqual(
      await check((graph) => {
        const resource = byName(graph, "backups-tls-only");
        resource.inputs.policy = JSON.stringify(resource.inputs.policy);
      }),
      [],
    );
    assert.deepEqual(
      await check((graph) => {
        const policy = byName(graph, "backups-tls-only").inputs.policy as { Statement: Statement[] };
        policy.Statement[0].Resource = [undefined, undefined];
      }),
      [],
    );
  });

  it("requires object lock only where configured", async () => {
    const unlocked = (graph: RecordedResource[]) => {
      byName(graph, "backups-bucket").inputs.objectLockEnabled = false;
      return graph.filter((resource) => resource.name !== "backups-object-lock");
    };
    assert.match(
      (await check(unlocked))[0].message,
      /object lock is off .*greenlight:backupObjectLockDays ≥ 1/,
    );
    assert.deepEqual(await check(unlocked, { requireObjectLock: false }), []);
    const bucketFlagOnly = await check((graph) =>
      graph.filter((resource) => resource.name !== "backups-object-lock"),
    );
    assert.deepEqual(bucketFlagOnly, [], "the bucket's objectLockEnabled counts");
  });

  it("matches companions by the bucket name when there is no dependency", async () => {
    const violations = await check((graph) => {
      for (const resource of graph) {
        if (
          resource.name.startsWith("backups-") &&
          resource.name !== "backups-bucket" &&
          resource.name !== "backups-key"
        ) {
          resource.propertyDependencies = {};
          resource.dependencies = [];
          resource.inputs.bucket = "example-shop-backups";
        }
      }
    });
    assert.deepEqual(violations, []);
  });

  it("does not let one bucket's companions vouch for another", async () => {
    const graph = releaseGraph();
    const second = releaseGraph({ suffix: "-2" }).filter((resource) => resource.name === "backups-bucket-2");
    const violations = await stackViolations(backupBucketHardened, policyResources([...graph, ...second]), {
      config: PRODUCTION,
    });
    // Versioning, encryption, public-access block, lifecycle and the TLS-only policy: all the first's.
    assert.equal(violations.length, 5, violations.map((violation) => violation.message).join("\n"));
    assert.ok(violations.every((violation) => violation.urn === second[0].urn));
  });
});
