// A hand-built resource graph in the shape the harness records and the components are specified to
// build (contract/resources.ts): one release with every checklist item in place. Tests break one
// thing at a time; the bench repeats it to 1,000 resources.
import { COMPONENT, LABEL, RESOURCE, STEP, STEP_ENV, StepName } from "../../../contract/resources";
import {
  RecordedResource,
  SECRET_PLACEHOLDER,
  SECRET_SIG,
  SECRET_SIG_KEY,
} from "../../../tools/harness/types";

export const DIGEST_IMAGE = `registry.example.com/shop@sha256:${"4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"}`;

/** A secret input as the harness records it. */
export function secretInput(): Record<string, unknown> {
  return { [SECRET_SIG_KEY]: SECRET_SIG, value: SECRET_PLACEHOLDER };
}

export interface ReleaseGraphOptions {
  stack?: string;
  release?: string;
  color?: "blue" | "green";
  /** Suffix that keeps names unique when graphs are repeated. */
  suffix?: string;
}

/** Builds RecordedResources with URNs, parents and dependencies filled in. */
export class GraphBuilder {
  readonly resources: RecordedResource[] = [];
  constructor(private readonly stack = "production") {}

  urnOf(type: string, name: string): string {
    return `urn:pulumi:${this.stack}::greenlight::${type}::${name}`;
  }

  add(
    type: string,
    name: string,
    options: {
      custom?: boolean;
      parent?: RecordedResource;
      dependsOn?: RecordedResource[];
      inputs?: Record<string, unknown>;
      propertyDependencies?: Record<string, RecordedResource[]>;
      protect?: boolean;
    } = {},
  ): RecordedResource {
    const propertyDependencies = Object.fromEntries(
      Object.entries(options.propertyDependencies ?? {}).map(([key, deps]) => [
        key,
        deps.map((dep) => dep.urn),
      ]),
    );
    const inputs = options.inputs ?? {};
    const custom = options.custom ?? !type.startsWith("greenlight:");
    const resource: RecordedResource = {
      urn: this.urnOf(type, name),
      type,
      name,
      custom,
      parent: options.parent?.urn,
      dependencies: [
        ...new Set([
          ...(options.dependsOn ?? []).map((dep) => dep.urn),
          ...Object.values(propertyDependencies).flat(),
        ]),
      ],
      propertyDependencies,
      inputs,
      // A provider echoes a custom resource's inputs in its outputs (stack policies see outputs); the
      // same object, so a test that breaks an input breaks what a stack policy sees too, unless it
      // gives the resource outputs of its own.
      ...(custom ? { outputs: inputs } : {}),
      protect: options.protect ?? false,
      retainOnDelete: false,
      deleteBeforeReplace: false,
      ignoreChanges: [],
      replaceOnChanges: [],
      additionalSecretOutputs: [],
    };
    this.resources.push(resource);
    return resource;
  }
}

/** One well-formed release: every policy passes on it in production at an open window. */
export function releaseGraph(
  options: ReleaseGraphOptions = {},
  builder = new GraphBuilder(options.stack),
): RecordedResource[] {
  const release = options.release ?? "2026.11.20-2";
  const color = options.color ?? "blue";
  const suffix = options.suffix ?? "";
  const n = (name: string) => `${name}${suffix}`;
  const before = builder.resources.length;
  /** A greenlight step: a command running the ops CLI, its GREENLIGHT_STEP first in its environment. */
  const step = (
    name: string,
    stepName: StepName,
    options: {
      parent: RecordedResource;
      dependsOn?: RecordedResource[];
      environment: Record<string, unknown>;
    },
  ) =>
    builder.add(RESOURCE.command, n(name), {
      parent: options.parent,
      dependsOn: options.dependsOn,
      inputs: {
        create: `node bin/greenlight-ops.js ${stepName}`,
        environment: { [STEP_ENV.step]: stepName, ...options.environment },
      },
    });

  const recordComponent = builder.add(COMPONENT.releaseRecord, n("release"));
  const record = step("release-record", STEP.record, {
    parent: recordComponent,
    environment: { [STEP_ENV.release]: release },
  });

  // Everything waits for the record, as index.ts wires it: the bucket and its key, the roles, every step.
  const bucketComponent = builder.add(COMPONENT.backupBucket, n("backups"), { dependsOn: [record] });
  const kms = builder.add(RESOURCE.kmsKey, n("backups-key"), {
    parent: bucketComponent,
    inputs: { enableKeyRotation: true },
  });
  const bucket = builder.add(RESOURCE.bucket, n("backups-bucket"), {
    parent: bucketComponent,
    protect: true,
    inputs: { bucket: `example-shop-backups${suffix}`, objectLockEnabled: true, forceDestroy: false },
  });
  const onBucket = { parent: bucketComponent, propertyDependencies: { bucket: [bucket] } };
  builder.add(RESOURCE.bucketVersioning, n("backups-versioning"), {
    ...onBucket,
    inputs: { bucket: "backups-bucket-id", versioningConfiguration: { status: "Enabled" } },
  });
  builder.add(RESOURCE.bucketEncryption, n("backups-encryption"), {
    parent: bucketComponent,
    propertyDependencies: { bucket: [bucket], rules: [kms] },
    inputs: {
      bucket: "backups-bucket-id",
      rules: [
        {
          applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: "arn:key" },
          bucketKeyEnabled: true,
        },
      ],
    },
  });
  builder.add(RESOURCE.bucketPublicAccessBlock, n("backups-public-access"), {
    ...onBucket,
    inputs: {
      bucket: "backups-bucket-id",
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    },
  });
  builder.add(RESOURCE.bucketLifecycle, n("backups-lifecycle"), {
    ...onBucket,
    inputs: {
      bucket: "backups-bucket-id",
      rules: [
        {
          id: "expire",
          status: "Enabled",
          expiration: { days: 35 },
          noncurrentVersionExpiration: { noncurrentDays: 35 },
        },
      ],
    },
  });
  builder.add(RESOURCE.bucketObjectLock, n("backups-object-lock"), {
    ...onBucket,
    inputs: {
      bucket: "backups-bucket-id",
      objectLockEnabled: "Enabled",
      rule: { defaultRetention: { mode: "GOVERNANCE", days: 30 } },
    },
  });
  builder.add(RESOURCE.bucketPolicy, n("backups-tls-only"), {
    ...onBucket,
    inputs: {
      bucket: "backups-bucket-id",
      policy: {
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: ["arn:aws:s3:::example-shop-backups", "arn:aws:s3:::example-shop-backups/*"],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          },
        ],
      },
    },
  });

  const roles = builder.add(COMPONENT.databaseRoles, n("roles"), { dependsOn: [record] });
  const migrator = builder.add(RESOURCE.pgRole, n("roles-migrator"), {
    parent: roles,
    protect: true,
    inputs: { name: "shop_migrator", login: true, password: secretInput() },
  });
  builder.add(RESOURCE.pgRole, n("roles-app"), {
    parent: roles,
    protect: true,
    inputs: { name: "shop_app", login: true, password: secretInput() },
  });
  builder.add(RESOURCE.pgGrant, n("roles-app-tables"), {
    parent: roles,
    protect: true,
    dependsOn: [migrator],
    inputs: {
      database: "shop",
      role: "shop_app",
      objectType: "table",
      privileges: ["SELECT", "INSERT", "UPDATE", "DELETE"],
    },
  });

  const backupComponent = builder.add(COMPONENT.databaseBackup, n("backup"), { dependsOn: [record] });
  const backup = step("backup-run", STEP.backup, {
    parent: backupComponent,
    dependsOn: [record, bucket],
    environment: {
      [STEP_ENV.release]: release,
      [STEP_ENV.verify]: "true",
      PGHOST: "db.prod.internal",
      PGUSER: "greenlight_admin",
      PGPASSWORD: secretInput(),
    },
  });

  const migrationComponent = builder.add(COMPONENT.migration, n("migration"), {
    dependsOn: [backupComponent],
  });
  step("migration-run", STEP.migrate, {
    parent: migrationComponent,
    dependsOn: [backup],
    environment: { [STEP_ENV.release]: release, GREENLIGHT_IMAGE: DIGEST_IMAGE, DATABASE_URL: secretInput() },
  });

  const service = builder.add(COMPONENT.blueGreenService, n("service"), { dependsOn: [record] });
  const slot = builder.add(COMPONENT.colorSlot, n(`service-${color}`), { parent: service });
  const containers = [0, 1].map((replica) =>
    builder.add(RESOURCE.container, n(`service-${color}-${replica}`), {
      parent: slot,
      inputs: {
        image: DIGEST_IMAGE,
        memory: 1024,
        cpus: "2",
        labels: [
          { label: LABEL.app, value: "shop" },
          { label: LABEL.color, value: color },
          { label: LABEL.release, value: release },
        ],
        healthcheck: {
          tests: ["CMD", "/usr/bin/node", "-e", "probe"],
          interval: "5s",
          timeout: "3s",
          retries: 5,
        },
        envs: ["CORS_ORIGIN=https://shop.example.com", secretInput()],
      },
    }),
  );

  const gateComponent = builder.add(COMPONENT.healthGate, n(`gate-${color}`), { dependsOn: containers });
  const gate = step(`gate-${color}-run`, STEP.healthGate, {
    parent: gateComponent,
    dependsOn: containers,
    environment: { [STEP_ENV.color]: color, [STEP_ENV.readiness]: "true" },
  });
  const switchComponent = builder.add(COMPONENT.trafficSwitch, n("switch"), { dependsOn: [gateComponent] });
  step("switch-run", STEP.switch, {
    parent: switchComponent,
    dependsOn: [gate],
    environment: { [STEP_ENV.color]: color, [STEP_ENV.release]: release },
  });
  return builder.resources.slice(before);
}

/** Finds a resource by name in a graph; throws so a test never asserts on nothing. */
export function byName(resources: RecordedResource[], name: string): RecordedResource {
  const found = resources.find((resource) => resource.name === name);
  if (!found)
    throw new Error(
      `no resource named ${name} in the graph (names: ${resources.map((r) => r.name).join(", ")})`,
    );
  return found;
}

/** The environment of a step command in a graph, for a test to tamper with. */
export function stepEnvironment(resource: RecordedResource): Record<string, unknown> {
  return resource.inputs.environment as Record<string, unknown>;
}

/** Synthetic graph of at least `count` resources: whole releases, each with its own names and release id. */
export function syntheticGraph(count: number, stack = "production"): RecordedResource[] {
  const builder = new GraphBuilder(stack);
  for (let index = 0; builder.resources.length < count; index++) {
    releaseGraph(
      { stack, release: `2026.11.${String(index).padStart(3, "0")}`, suffix: `-${index}` },
      builder,
    );
  }
  return builder.resources;
}
