// The databases a restore works with: the scratch or new database it restores into (named after the
// base database, a tag and the time), and the swap that puts a restored database in the target's place.
import { Client } from "pg";
import { keyTimestamp } from "./backup-key";
import { quoteIdent, quoteLiteral } from "./postgres";
import { StepError } from "./step";

/** A database name `<base>_<tag>_<timestamp>` of at most 63 characters. */
export function derivedDatabaseName(base: string, tag: string, at: Date): string {
  const suffix = `_${tag}_${keyTimestamp(at).toLowerCase()}`;
  return `${base.slice(0, 63 - suffix.length)}${suffix}`;
}

/** Creates an empty database with the encoding and collation of `like` (when given). */
export async function createDatabaseLike(
  admin: Client,
  name: string,
  like: string | undefined,
): Promise<void> {
  const settings = like
    ? (
        await admin.query<{ encoding: string; collate: string; ctype: string }>(
          "SELECT pg_encoding_to_char(encoding) AS encoding, datcollate AS collate, datctype AS ctype FROM pg_database WHERE datname = $1",
          [like],
        )
      ).rows[0]
    : undefined;
  const options = settings
    ? ` ENCODING ${quoteLiteral(settings.encoding)} LC_COLLATE ${quoteLiteral(settings.collate)} LC_CTYPE ${quoteLiteral(settings.ctype)}`
    : "";
  await admin.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0${options}`);
}

export async function databaseExists(admin: Client, name: string): Promise<boolean> {
  return (await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name])).rowCount === 1;
}

export async function dropDatabase(admin: Client, name: string): Promise<void> {
  await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
}

/**
 * Swaps the restored database in under the target's name in one transaction and carries over what
 * lives outside a dump: the database's owner, its grants and its settings. The old one is kept.
 */
export async function swapIn(
  admin: Client,
  restored: string,
  target: string,
  previous: string,
): Promise<string | null> {
  if (!(await databaseExists(admin, target))) {
    await admin.query(`ALTER DATABASE ${quoteIdent(restored)} RENAME TO ${quoteIdent(target)}`);
    return null;
  }
  await admin.query(`ALTER DATABASE ${quoteIdent(target)} ALLOW_CONNECTIONS false`);
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const sessions = await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        [target],
      );
      if (sessions.rowCount === 0) break;
      if (Date.now() > deadline)
        throw new StepError(
          `sessions on ${target} did not end within 30 s: stop the clients (maintenance mode) and retry`,
        );
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await admin.query("BEGIN");
    await admin.query(`ALTER DATABASE ${quoteIdent(target)} RENAME TO ${quoteIdent(previous)}`);
    await admin.query(`ALTER DATABASE ${quoteIdent(restored)} RENAME TO ${quoteIdent(target)}`);
    const old = (
      await admin.query<{ oid: number; owner: string; hasAcl: boolean }>(
        'SELECT oid, pg_get_userbyid(datdba) AS owner, datacl IS NOT NULL AS "hasAcl" FROM pg_database WHERE datname = $1',
        [previous],
      )
    ).rows[0];
    await admin.query(`ALTER DATABASE ${quoteIdent(target)} OWNER TO ${quoteIdent(old.owner)}`);
    if (old.hasAcl) {
      await admin.query(`REVOKE ALL ON DATABASE ${quoteIdent(target)} FROM PUBLIC`);
      const grants = await admin.query<{ grantee: string | null; privilege: string; grantable: boolean }>(
        `SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END AS grantee, a.privilege_type AS privilege, a.is_grantable AS grantable
           FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = $1`,
        [previous],
      );
      for (const grant of grants.rows) {
        const grantee = grant.grantee === null ? "PUBLIC" : quoteIdent(grant.grantee);
        await admin.query(
          `GRANT ${grant.privilege} ON DATABASE ${quoteIdent(target)} TO ${grantee}${grant.grantable ? " WITH GRANT OPTION" : ""}`,
        );
      }
    }
    const settings = await admin.query<{ role: string | null; setting: string }>(
      "SELECT CASE WHEN setrole = 0 THEN NULL ELSE pg_get_userbyid(setrole) END AS role, unnest(setconfig) AS setting FROM pg_db_role_setting WHERE setdatabase = $1",
      [old.oid],
    );
    for (const { role, setting } of settings.rows) {
      const [name, ...value] = setting.split("=");
      const scope =
        role === null
          ? `DATABASE ${quoteIdent(target)}`
          : `ROLE ${quoteIdent(role)} IN DATABASE ${quoteIdent(target)}`;
      await admin.query(`ALTER ${scope} SET ${quoteIdent(name)} = ${quoteLiteral(value.join("="))}`);
    }
    await admin.query("COMMIT");
  } catch (error) {
    await admin.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    // Whichever name the old database ends up with, it accepts connections again.
    for (const name of [target, previous]) {
      if (await databaseExists(admin, name).catch(() => false))
        await admin.query(`ALTER DATABASE ${quoteIdent(name)} ALLOW_CONNECTIONS true`).catch(() => undefined);
    }
  }
  return previous;
}
