// The backup manifest: written beside each dump only once the dump is complete and verified, so the
// migration's precondition, the restore step and the rollback tool can trust what they find.
import type { S3Client } from "@aws-sdk/client-s3";
import { z } from "zod";
import { EXIT } from "../../contract/exit-codes";
import { manifestKeyFor, parseBackupKey, releasePrefix } from "./backup-key";
import { S3Settings, describeBucket, getText, hashObject, listKeys, s3Call } from "./s3";
import { StepError, progress } from "./step";

const tableSchema = z.object({
  schema: z.string(),
  name: z.string(),
  rows: z.number().int().nonnegative(),
  checksum: z.string().regex(/^-?\d+$/),
  method: z.enum(["record", "text"]),
});

const decimal = z.string().regex(/^-?\d+$/);
const sequencePosition = { lastValue: decimal, isCalled: z.boolean() };

const sequenceSchema = z.object({
  schema: z.string(),
  name: z.string(),
  ...sequencePosition,
  /** A second read, after pg_dump had read the sequence, when it moved meanwhile. */
  after: z.object(sequencePosition).optional(),
});

const materializedViewSchema = z.object({
  schema: z.string(),
  name: z.string(),
  populated: z.boolean(),
  rows: z.number().int().nonnegative().nullable(),
  checksum: decimal.nullable(),
  method: z.enum(["record", "text"]).nullable(),
});

export const manifestSchema = z.object({
  format: z.literal(1),
  stack: z.string(),
  release: z.string(),
  database: z.string(),
  /** The server the database lives on: pg_control_system().system_identifier; null when unreadable. */
  systemIdentifier: z.string().regex(/^\d+$/).nullable().optional(),
  /** The database's oid, so an earlier database of the same name is told apart. */
  databaseOid: z.number().int().positive().optional(),
  dumpKey: z.string(),
  bytes: z.number().int().positive(),
  sha256: z.string().regex(/^[a-f0-9]{64}$/),
  serverVersion: z.string(),
  pgDumpVersion: z.string(),
  tableCount: z.number().int().nonnegative(),
  /** Each table's rows and checksum, taken in the dump's own snapshot. */
  tables: z.array(tableSchema),
  /** Every sequence's position around the moment pg_dump read it (absent in older manifests). */
  sequences: z.array(sequenceSchema).optional(),
  /** Count and checksum of the large objects, in the snapshot. */
  largeObjects: z.object({ count: z.number().int().nonnegative(), checksum: decimal }).optional(),
  /** Every materialized view, populated or not, with a populated one's rows and checksum. */
  materializedViews: z.array(materializedViewSchema).optional(),
  startedAt: z.string(),
  finishedAt: z.string(),
  /** Where the backup's time went: pg_dump's run, the snapshot's checksum pass beside it, the whole step. */
  seconds: z.object({ dump: z.number(), checksums: z.number(), total: z.number() }).optional(),
  /** pg_restore read the whole archive, its table list matched the database, sizes were plausible. */
  verified: z.boolean(),
  checks: z.array(z.string()),
});

export type BackupManifest = z.infer<typeof manifestSchema>;

/** Exit code of a step that refuses because no trustworthy backup exists. */
export const EXIT_NO_VERIFIED_BACKUP = EXIT.noVerifiedBackup;

/** A manifest found in the bucket. */
export interface FoundManifest {
  key: string;
  manifest: BackupManifest;
}

/** Manifest keys under a prefix, newest first (keys end in a sortable UTC timestamp). */
export function newestFirst(keys: string[]): string[] {
  return keys
    .map((key) => ({ key, parts: parseBackupKey(key) }))
    .filter((entry) => entry.parts?.kind === "manifest")
    .sort((a, b) => (b.parts?.timestamp ?? "").localeCompare(a.parts?.timestamp ?? ""))
    .map((entry) => entry.key);
}

/** Reads and validates one manifest; a malformed one is an error naming the key. */
export async function readManifest(client: S3Client, bucket: string, key: string): Promise<BackupManifest> {
  const text = await getText(client, bucket, key);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new StepError(`manifest s3://${bucket}/${key} is not JSON: delete it or restore it from a version`);
  }
  const result = manifestSchema.safeParse(parsed);
  if (!result.success)
    throw new StepError(
      `manifest s3://${bucket}/${key} is malformed (${result.error.issues[0]?.path.join(".")}: ${result.error.issues[0]?.message})`,
    );
  if (manifestKeyFor(result.data.dumpKey) !== key)
    throw new StepError(
      `manifest s3://${bucket}/${key} names dump ${result.data.dumpKey}, which is not beside it`,
    );
  return result.data;
}

/** The folder holding every backup of a stack, validated the way releasePrefix validates. */
export function stackPrefix(prefix: string, stack: string): string {
  releasePrefix(prefix, stack, "any-release");
  return `${prefix}/${stack}/`;
}

/** Manifest keys of a stack (every release) or of one release, newest first. */
export async function manifestKeys(
  client: S3Client,
  settings: S3Settings,
  where: { bucket: string; prefix: string; stack: string; release?: string },
): Promise<string[]> {
  const prefix = where.release
    ? releasePrefix(where.prefix, where.stack, where.release)
    : stackPrefix(where.prefix, where.stack);
  const keys = await s3Call(settings, where.bucket, "listing backups", () =>
    listKeys(client, where.bucket, prefix),
  );
  return newestFirst(keys).filter((key) => parseBackupKey(key)?.stack === where.stack);
}

/**
 * The backup a release's migration or restore relies on: the newest manifest of the release (or the
 * one named by `key`), which must say verified. Refuses (exit 3) when there is none.
 */
export async function findReleaseBackup(
  client: S3Client,
  settings: S3Settings,
  where: { bucket: string; prefix: string; stack: string; release: string; key?: string },
): Promise<FoundManifest> {
  const location = `${describeBucket(settings, where.bucket)} under ${releasePrefix(where.prefix, where.stack, where.release)}`;
  let key: string;
  if (where.key) {
    const parts = parseBackupKey(where.key);
    if (!parts)
      throw new StepError(
        `--key ${where.key} is not a backup key (<prefix>/<stack>/<release>/<timestamp>.dump)`,
        2,
      );
    if (parts.release !== where.release || parts.stack !== where.stack || parts.prefix !== where.prefix)
      throw new StepError(
        `--key ${where.key} belongs to ${parts.prefix}/${parts.stack}/${parts.release}, not ${releasePrefix(where.prefix, where.stack, where.release)}`,
        2,
      );
    key = parts.kind === "dump" ? manifestKeyFor(where.key) : where.key;
  } else {
    const keys = await manifestKeys(client, settings, where);
    if (keys.length === 0)
      throw new StepError(
        `no backup of release ${where.release} in ${location}: take one first (the DatabaseBackup step) — no verified backup, no migration or restore`,
        EXIT_NO_VERIFIED_BACKUP,
      );
    key = keys[0];
  }
  const manifest = await s3Call(settings, where.bucket, `reading ${key}`, () =>
    readManifest(client, where.bucket, key),
  );
  if (!manifest.verified)
    throw new StepError(
      `the newest backup of release ${where.release} (${manifest.dumpKey}) is not verified: take a verified backup first`,
      EXIT_NO_VERIFIED_BACKUP,
    );
  return { key, manifest };
}

/**
 * Re-hashes the stored dump and compares it with the manifest; a changed, truncated or missing object
 * refuses with exit 3. Streams: nothing is written to disk.
 */
export async function verifyStoredDump(
  client: S3Client,
  settings: S3Settings,
  bucket: string,
  manifest: BackupManifest,
  step: string,
  signal?: AbortSignal,
): Promise<void> {
  const started = Date.now();
  const stored = await s3Call(settings, bucket, `re-hashing ${manifest.dumpKey}`, () =>
    hashObject(client, bucket, manifest.dumpKey, { signal }),
  ).catch((error: StepError) => {
    if (/NoSuchKey|NotFound/.test(error.message))
      throw new StepError(
        `backup dump ${manifest.dumpKey} is missing although its manifest exists: take a new backup`,
        EXIT_NO_VERIFIED_BACKUP,
      );
    throw error;
  });
  checkDigest(manifest, stored);
  progress(
    step,
    `backup ${manifest.dumpKey}: sha256 matches (${stored.bytes} bytes, ${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );
}

/** Compares a stored object's size and sha256 with its manifest. */
export function checkDigest(manifest: BackupManifest, stored: { bytes: number; sha256: string }): void {
  if (stored.bytes !== manifest.bytes || stored.sha256 !== manifest.sha256) {
    throw new StepError(
      `backup ${manifest.dumpKey} does not match its manifest (stored ${stored.bytes} bytes sha256 ${stored.sha256.slice(0, 12)}…, ` +
        `manifest ${manifest.bytes} bytes sha256 ${manifest.sha256.slice(0, 12)}…): the object changed after the backup; do not use it, take a new backup`,
      EXIT_NO_VERIFIED_BACKUP,
    );
  }
}
