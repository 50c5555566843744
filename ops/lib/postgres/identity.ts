// Which database a backup is of. The manifest names the server (pg_control_system()'s system
// identifier, one per cluster and shared by its streaming replicas) and the database (name and oid),
// so a migration never relies on another database's backup and a restore into another database
// is a decision, not an accident.
import { Client } from "pg";
import { BackupManifest } from "../manifest";

export interface DatabaseIdentity {
  /** pg_control_system().system_identifier as text; null when the role may not read it. */
  systemIdentifier: string | null;
  database: string;
  databaseOid: number;
}

/** The server's system identifier, or null when the role lacks the right to read it. */
export async function serverIdentifier(client: Client): Promise<string | null> {
  try {
    const result = await client.query<{ id: string }>(
      "SELECT system_identifier::text AS id FROM pg_catalog.pg_control_system()",
    );
    return result.rows[0].id;
  } catch (error) {
    if ((error as { code?: string }).code === "42501") return null;
    throw error;
  }
}

/** The server and database a session is connected to. */
export async function databaseIdentity(client: Client): Promise<DatabaseIdentity> {
  const systemIdentifier = await serverIdentifier(client);
  const result = await client.query<{ database: string; oid: number }>(
    "SELECT d.datname AS database, d.oid::int AS oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()",
  );
  return { systemIdentifier, database: result.rows[0].database, databaseOid: result.rows[0].oid };
}

type ManifestIdentity = Pick<BackupManifest, "dumpKey" | "database" | "systemIdentifier" | "databaseOid">;

/** Why a backup is not of the database `database` on the server `systemIdentifier`, or undefined. */
export function otherDatabase(
  manifest: ManifestIdentity,
  here: { systemIdentifier: string | null; database: string },
): string | undefined {
  if (manifest.database !== here.database)
    return `backup ${manifest.dumpKey} is of database ${manifest.database}, not of ${here.database}`;
  const recorded = manifest.systemIdentifier;
  if (recorded && here.systemIdentifier !== null && recorded !== here.systemIdentifier)
    return `backup ${manifest.dumpKey} is of database ${manifest.database} on server ${recorded}, not on this server (${here.systemIdentifier})`;
  return undefined;
}

/**
 * A migration's precondition: the backup names its server and database, and they are this server
 * and this very database (same oid: not an earlier database of the same name). Undefined when so.
 */
export function backupMismatch(manifest: ManifestIdentity, here: DatabaseIdentity): string | undefined {
  if (manifest.systemIdentifier === undefined || manifest.databaseOid === undefined)
    return `backup ${manifest.dumpKey} does not say which server and database it is of (taken before backups recorded it)`;
  const other = otherDatabase(manifest, here);
  if (other) return other;
  if (manifest.databaseOid !== here.databaseOid)
    return `backup ${manifest.dumpKey} is of an earlier database named ${manifest.database} (oid ${manifest.databaseOid}, this one is ${here.databaseOid}: it was re-created or restored since)`;
  return undefined;
}
