// The databases a restore works with: the scratch or new database it restores into (named after the
// base database, a tag and the time, created with the base database's encoding, locale provider,
// locales and tablespace), and the swap that puts a restored database in the target's place with
// everything else pg_dump --create would carry: owner, comment, connection limit, template flag,
// grants and settings.
import { Client } from "pg";
import { keyTimestamp } from "../lib/backup-key";
import { alterSettingSql } from "../lib/postgres/settings";
import { quoteIdent, quoteLiteral } from "../lib/postgres";
import { StepError, StopRequest } from "../lib/step";
import { Stop, pause, throwIfStopped } from "../lib/stop";

/** A database name `<base>_<tag>_<timestamp>` of at most 63 characters. */
export function derivedDatabaseName(base: string, tag: string, at: Date): string {
  const suffix = `_${tag}_${keyTimestamp(at).toLowerCase()}`;
  return `${base.slice(0, 63 - suffix.length)}${suffix}`;
}

/** A database's own properties, as pg_database holds them (the columns differ from 15 to 17). */
export interface DatabaseProperties {
  oid: number;
  encoding: string;
  /** "libc", "icu" or "builtin"; undefined before PostgreSQL 15, which has libc only. */
  localeProvider?: "libc" | "icu" | "builtin";
  collate: string;
  ctype: string;
  /** The ICU or builtin locale (daticulocale in 15 and 16, datlocale from 17). */
  locale: string | null;
  /** ICU tailoring rules (16 and later). */
  icuRules: string | null;
  /** The collation version recorded when the database was created (15 and later). */
  collationVersion: string | null;
  owner: string;
  tablespace: string;
  connectionLimit: number;
  isTemplate: boolean;
  allowConnections: boolean;
  comment: string | null;
  /** Whether grants differ from the owner's defaults (datacl is set). */
  hasAcl: boolean;
}

const PROVIDERS: Record<string, DatabaseProperties["localeProvider"]> = {
  c: "libc",
  i: "icu",
  b: "builtin",
};

export async function databaseProperties(
  admin: Client,
  name: string,
): Promise<DatabaseProperties | undefined> {
  const result = await admin.query<{
    row: Record<string, unknown>;
    encoding: string;
    owner: string;
    tablespace: string;
    comment: string | null;
  }>(
    `SELECT to_jsonb(d) AS row, pg_encoding_to_char(d.encoding) AS encoding, pg_get_userbyid(d.datdba) AS owner,
            t.spcname AS tablespace, shobj_description(d.oid, 'pg_database') AS comment
       FROM pg_database d JOIN pg_tablespace t ON t.oid = d.dattablespace WHERE d.datname = $1`,
    [name],
  );
  const found = result.rows[0];
  if (!found) return undefined;
  const row = found.row;
  const text = (column: string) => (typeof row[column] === "string" ? (row[column] as string) : null);
  return {
    oid: Number(row.oid),
    encoding: found.encoding,
    localeProvider: PROVIDERS[text("datlocprovider") ?? ""],
    collate: text("datcollate") ?? "",
    ctype: text("datctype") ?? "",
    locale: text("datlocale") ?? text("daticulocale"),
    icuRules: text("daticurules"),
    collationVersion: text("datcollversion"),
    owner: found.owner,
    tablespace: found.tablespace,
    connectionLimit: Number(row.datconnlimit),
    isTemplate: row.datistemplate === true,
    allowConnections: row.datallowconn !== false,
    comment: found.comment,
    hasAcl: row.datacl !== null && row.datacl !== undefined,
  };
}

/**
 * CREATE DATABASE as pg_dump --create writes it: template0, the encoding, locale provider, locales,
 * ICU rules and tablespace of `like`. The collation version is not carried (pg_dump carries it only
 * for pg_upgrade): the new database's indexes are built with this server's library, so the server
 * records that library's version.
 */
export function createDatabaseSql(name: string, like: DatabaseProperties | undefined): string {
  const parts = [`CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0`];
  if (like) {
    parts.push(`ENCODING ${quoteLiteral(like.encoding)}`);
    if (like.localeProvider) parts.push(`LOCALE_PROVIDER ${like.localeProvider}`);
    parts.push(`LC_COLLATE ${quoteLiteral(like.collate)}`, `LC_CTYPE ${quoteLiteral(like.ctype)}`);
    if (like.locale !== null && like.localeProvider === "icu")
      parts.push(`ICU_LOCALE ${quoteLiteral(like.locale)}`);
    if (like.locale !== null && like.localeProvider === "builtin")
      parts.push(`BUILTIN_LOCALE ${quoteLiteral(like.locale)}`);
    if (like.icuRules !== null) parts.push(`ICU_RULES ${quoteLiteral(like.icuRules)}`);
    if (like.tablespace !== "pg_default") parts.push(`TABLESPACE ${quoteIdent(like.tablespace)}`);
  }
  return parts.join(" ");
}

/** Creates an empty database like `like` (see createDatabaseSql); plain when `like` does not exist. */
export async function createDatabaseLike(
  admin: Client,
  name: string,
  like: string | undefined,
): Promise<void> {
  const properties = like ? await databaseProperties(admin, like) : undefined;
  await admin.query(createDatabaseSql(name, properties));
}

export async function databaseExists(admin: Client, name: string): Promise<boolean> {
  return (await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name])).rowCount === 1;
}

export async function dropDatabase(admin: Client, name: string): Promise<void> {
  await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
}

/** Ends every other session on a database (after ALLOW_CONNECTIONS false), waiting up to 30 s. */
async function endSessions(admin: Client, database: string, stop: StopRequest): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    throwIfStopped(stop);
    const sessions = await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
      [database],
    );
    if (sessions.rowCount === 0) return;
    if (Date.now() > deadline)
      throw new StepError(
        `sessions on ${database} did not end within 30 s: stop the clients (maintenance mode) and retry`,
      );
    await pause(200, stop);
  }
}

/** Gives `target` what pg_dump --create carries besides the CREATE itself, taken from `old`. */
export async function carryProperties(admin: Client, old: DatabaseProperties, target: string): Promise<void> {
  const database = quoteIdent(target);
  await admin.query(`ALTER DATABASE ${database} OWNER TO ${quoteIdent(old.owner)}`);
  await admin.query(
    `COMMENT ON DATABASE ${database} IS ${old.comment === null ? "NULL" : quoteLiteral(old.comment)}`,
  );
  await admin.query(`ALTER DATABASE ${database} CONNECTION LIMIT ${old.connectionLimit}`);
  if (old.isTemplate) await admin.query(`ALTER DATABASE ${database} IS_TEMPLATE true`);
  if (old.hasAcl) {
    await admin.query(`REVOKE ALL ON DATABASE ${database} FROM PUBLIC`);
    const grants = await admin.query<{ grantee: string | null; privilege: string; grantable: boolean }>(
      `SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END AS grantee, a.privilege_type AS privilege, a.is_grantable AS grantable
         FROM pg_database d, aclexplode(d.datacl) a WHERE d.oid = $1`,
      [old.oid],
    );
    for (const grant of grants.rows) {
      const grantee = grant.grantee === null ? "PUBLIC" : quoteIdent(grant.grantee);
      await admin.query(
        `GRANT ${grant.privilege} ON DATABASE ${database} TO ${grantee}${grant.grantable ? " WITH GRANT OPTION" : ""}`,
      );
    }
  }
  const settings = await admin.query<{ role: string | null; setting: string }>(
    "SELECT CASE WHEN setrole = 0 THEN NULL ELSE pg_get_userbyid(setrole) END AS role, unnest(setconfig) AS setting FROM pg_db_role_setting WHERE setdatabase = $1",
    [old.oid],
  );
  for (const { role, setting } of settings.rows) {
    const scope = role === null ? `DATABASE ${database}` : `ROLE ${quoteIdent(role)} IN DATABASE ${database}`;
    await admin.query(alterSettingSql(scope, setting));
  }
}

/**
 * Swaps the restored database in under the target's name in one transaction and carries over what
 * lives outside a dump (carryProperties). The old one is kept under `previous`.
 */
export async function swapIn(
  admin: Client,
  restored: string,
  target: string,
  previous: string,
  stop: StopRequest = new Stop(),
): Promise<string | null> {
  const old = await databaseProperties(admin, target);
  if (!old) {
    await admin.query(`ALTER DATABASE ${quoteIdent(restored)} RENAME TO ${quoteIdent(target)}`);
    return null;
  }
  await admin.query(`ALTER DATABASE ${quoteIdent(target)} ALLOW_CONNECTIONS false`);
  try {
    await endSessions(admin, target, stop);
    await admin.query("BEGIN");
    await admin.query(`ALTER DATABASE ${quoteIdent(target)} RENAME TO ${quoteIdent(previous)}`);
    await admin.query(`ALTER DATABASE ${quoteIdent(restored)} RENAME TO ${quoteIdent(target)}`);
    await carryProperties(admin, old, target);
    await admin.query("COMMIT");
  } catch (error) {
    await admin.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    // Whichever name the old database ends up with, it accepts connections as it did before.
    for (const name of [target, previous]) {
      if (await databaseExists(admin, name).catch(() => false))
        await admin
          .query(`ALTER DATABASE ${quoteIdent(name)} ALLOW_CONNECTIONS ${old.allowConnections}`)
          .catch(() => undefined);
    }
  }
  return previous;
}
