// How backups are named in the bucket, so the backup step, the migration's precondition check, the
// restore step and the rollback tool all find the same objects:
//   <prefix>/<stack>/<release>/<timestamp>.dump           the pg_dump -Fc archive
//   <prefix>/<stack>/<release>/<timestamp>.manifest.json  what was dumped, its size, sha256, verification
// <timestamp> is UTC, compact ISO-8601 (20261123T184500Z), so keys sort by time.
import { KEY_PREFIX, RELEASE_ID, STACK_NAME } from "../../contract/patterns";

const KEY = /^(.+)\/([A-Za-z0-9._-]{1,64})\/([A-Za-z0-9._-]{1,64})\/(\d{8}T\d{6}Z)\.(dump|manifest\.json)$/;

/** A backup object's key, split into its parts. */
export interface BackupKeyParts {
  prefix: string;
  stack: string;
  release: string;
  timestamp: string;
  kind: "dump" | "manifest";
}

/** Formats an instant as the compact UTC timestamp used in keys. */
export function keyTimestamp(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}Z$/, "Z");
}

/** The folder holding every backup of one release. */
export function releasePrefix(prefix: string, stack: string, release: string): string {
  if (!KEY_PREFIX.test(prefix))
    throw new Error(`backup prefix ${JSON.stringify(prefix)}: use path segments of letters, digits, . _ -`);
  if (!STACK_NAME.test(stack)) throw new Error(`stack ${JSON.stringify(stack)}: use letters, digits, . _ -`);
  if (!RELEASE_ID.test(release))
    throw new Error(`release ${JSON.stringify(release)}: use 1-64 letters, digits, . _ -`);
  return `${prefix}/${stack}/${release}/`;
}

/** The key of the dump taken for a release at an instant. */
export function dumpKey(prefix: string, stack: string, release: string, at: Date): string {
  return `${releasePrefix(prefix, stack, release)}${keyTimestamp(at)}.dump`;
}

/** The manifest that sits beside a dump. */
export function manifestKeyFor(dump: string): string {
  if (!dump.endsWith(".dump")) throw new Error(`${dump}: a backup dump key ends in .dump`);
  return `${dump.slice(0, -".dump".length)}.manifest.json`;
}

/** Splits a backup key into its parts, or returns undefined when it is not one. */
export function parseBackupKey(key: string): BackupKeyParts | undefined {
  const match = KEY.exec(key);
  if (!match) return undefined;
  const [, prefix, stack, release, timestamp, suffix] = match;
  return { prefix, stack, release, timestamp, kind: suffix === "dump" ? "dump" : "manifest" };
}
