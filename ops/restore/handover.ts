// The hand-over phase of a drill that a rehearsal follows: instead of dropping the verified copy, the
// drill leaves it for the rehearse step with the source database's owner, grants and settings (the
// migration runs there with the rights it has in production) and a marker naming it a rehearsal copy.
// A copy left by an update that stopped between the two steps carries the marker, so the next drill
// or rehearsal of the same database and stack finds and drops it.
import { Client } from "pg";
import { quoteIdent, quoteLiteral } from "../lib/postgres";
import { carryProperties, databaseProperties, derivedDatabaseName, dropDatabase } from "./database";

/** The tag of a rehearsal copy's name: `<source>_rehearse_<timestamp>`. */
export const REHEARSAL_COPY_TAG = "rehearse";

/** The name a rehearsal copy of `source` made at `at` gets. */
export function rehearsalCopyName(source: string, at: Date): string {
  return derivedDatabaseName(source, REHEARSAL_COPY_TAG, at);
}

function markerPrefix(source: string, stack: string): string {
  return `greenlight rehearsal copy of ${source} (stack ${stack})`;
}

/** The comment a rehearsal copy carries: what it is a copy of, for which stack and release, since when. */
export function rehearsalMarker(source: string, stack: string, release: string, at: Date): string {
  return `${markerPrefix(source, stack)} for release ${release}, made ${at.toISOString()}; the rehearse step drops it`;
}

/** Marks a copy as a rehearsal copy (at creation, so even a copy left by a crash is recognised). */
export async function markRehearsalCopy(admin: Client, copy: string, marker: string): Promise<void> {
  await admin.query(`COMMENT ON DATABASE ${quoteIdent(copy)} IS ${quoteLiteral(marker)}`);
}

/**
 * Phase "hand-over": the copy gets the source database's owner, connection limit, grants and
 * settings (per database and per role), so the release's migration meets the rights it meets in
 * production; the marker stays its comment.
 */
export async function handOverForRehearsal(
  admin: Client,
  copy: string,
  source: string,
  marker: string,
): Promise<void> {
  const properties = await databaseProperties(admin, source);
  if (properties) await carryProperties(admin, { ...properties, isTemplate: false }, copy);
  await markRehearsalCopy(admin, copy, marker);
}

/** Rehearsal copies of `source` for `stack` that are still there, oldest first. */
export async function rehearsalCopies(admin: Client, source: string, stack: string): Promise<string[]> {
  const result = await admin.query<{ datname: string }>(
    `SELECT datname FROM pg_database
      WHERE starts_with(coalesce(shobj_description(oid, 'pg_database'), ''), $1)
      ORDER BY datname`,
    [markerPrefix(source, stack) + " "],
  );
  return result.rows.map((row) => row.datname);
}

/** Drops rehearsal copies an interrupted update left (all but `keep`); returns their names. */
export async function dropLeftoverCopies(
  admin: Client,
  source: string,
  stack: string,
  keep?: string,
): Promise<string[]> {
  const leftovers = (await rehearsalCopies(admin, source, stack)).filter((name) => name !== keep);
  for (const name of leftovers) await dropDatabase(admin, name);
  return leftovers;
}
