// PostgreSQL for the data steps. Connections come only from libpq's environment variables (PGHOST,
// PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, PGSSLROOTCERT), for pg_dump/pg_restore and `pg` alike.
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { Client, ClientConfig } from "pg";
import { DATABASE_CA_ENV } from "../../../contract/database-tls";
import { StepError, StopRequest, requireEnv } from "../step";
import { rootCertificate, stepSslMode } from "./tls";

const VERSIONED_BIN_DIRS = [17, 16, 15].map((major) => `/usr/lib/postgresql/${major}/bin`);

/** Finds a PostgreSQL client program on PATH, else in /usr/lib/postgresql/<17..15>/bin. */
export function pgBinary(name: "pg_dump" | "pg_restore" | "psql", env: NodeJS.ProcessEnv): string {
  const dirs = [...(env.PATH ?? "").split(path.delimiter).filter(Boolean), ...VERSIONED_BIN_DIRS];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory: try the next.
    }
  }
  throw new StepError(
    `${name} not found on PATH or in ${VERSIONED_BIN_DIRS.join(", ")}: install the PostgreSQL client (apt-get install postgresql-client)`,
    2,
  );
}

/** Where the environment points libpq, for messages (never includes the password). */
export function describeTarget(env: NodeJS.ProcessEnv, database = env.PGDATABASE): string {
  return `${env.PGUSER ?? "(PGUSER unset)"}@${env.PGHOST ?? "localhost"}:${env.PGPORT ?? "5432"}/${database ?? "(PGDATABASE unset)"}`;
}

/**
 * node-postgres settings equivalent to the libpq environment. PGSSLMODE unset is verify-full (see
 * tls.ts); the verifying modes need the CA (PGSSLROOTCERT) and check it as libpq does: verify-full the
 * host name too, verify-ca only the signature, require with a CA file like verify-ca (libpq's rule).
 */
export function clientConfig(env: NodeJS.ProcessEnv, database?: string): ClientConfig {
  const sslmode = stepSslMode(env);
  const ca = rootCertificate(env);
  let ssl: ClientConfig["ssl"];
  if (sslmode === "disable" || sslmode === "allow") ssl = false;
  else if (sslmode === "prefer" || (sslmode === "require" && ca === undefined))
    ssl = { rejectUnauthorized: false };
  else {
    if (ca === undefined)
      throw new StepError(
        `PGSSLMODE=${sslmode} checks the server's certificate against a CA, and none was given: set greenlight:dbSslRootCert (${DATABASE_CA_ENV}), or PGSSLROOTCERT to its PEM file`,
        2,
      );
    // node-postgres checks the certificate against the host it connects to (pg/lib/connection.js upgradeToSSL).
    ssl = sslmode === "verify-full" ? { ca } : { ca, checkServerIdentity: () => undefined };
  }
  return {
    host: env.PGHOST,
    port: env.PGPORT ? Number(env.PGPORT) : undefined,
    user: env.PGUSER,
    password: env.PGPASSWORD,
    database: database ?? requireEnv(env, "PGDATABASE", "the application's database"),
    ssl,
    connectionTimeoutMillis: Number(env.PGCONNECT_TIMEOUT ?? 10) * 1000,
  };
}

/** TLS failures node's tls reports by code: what they mean for the server the step reached. */
const TLS_FAILURES: Record<string, string> = {
  SELF_SIGNED_CERT_IN_CHAIN: "is not signed by the configured CA",
  DEPTH_ZERO_SELF_SIGNED_CERT: "is not signed by the configured CA",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "is not signed by the configured CA",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "is not signed by the configured CA",
  UNABLE_TO_GET_ISSUER_CERT: "is not signed by the configured CA",
  CERT_SIGNATURE_FAILURE: "is not signed by the configured CA",
  ERR_TLS_CERT_ALTNAME_INVALID: "does not name the host the step connects to",
  CERT_HAS_EXPIRED: "has expired",
  CERT_NOT_YET_VALID: "is not valid yet",
};

/** Turns a connection or query failure into a one-line reason that names what to fix. */
export function describePgError(error: unknown, env: NodeJS.ProcessEnv, database?: string): string {
  const failure = error as { code?: string; message?: string };
  const target = describeTarget(env, database);
  const tlsFailure = failure.code === undefined ? undefined : TLS_FAILURES[failure.code];
  if (tlsFailure !== undefined)
    return `the TLS certificate of PostgreSQL at ${target} ${tlsFailure} (PGSSLMODE=${env.PGSSLMODE ?? "verify-full"}): nothing was sent; check greenlight:dbSslRootCert and greenlight:dbHost against the server's certificate, and that nothing else answers in its place`;
  if (/does not support SSL/i.test(failure.message ?? ""))
    return `PostgreSQL at ${target} does not offer TLS, and PGSSLMODE=${env.PGSSLMODE ?? "verify-full"} (greenlight:dbSslMode) requires it: turn on ssl in the server (only the local stack may connect in clear)`;
  switch (failure.code) {
    case "ECONNREFUSED":
      return `PostgreSQL at ${target} refused the connection: is the server running, and are PGHOST/PGPORT (greenlight:dbHost/dbPort) right?`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `PostgreSQL host ${env.PGHOST} does not resolve: fix PGHOST (greenlight:dbHost)`;
    case "ETIMEDOUT":
      return `PostgreSQL at ${target} did not answer in time: check the network path and PGHOST/PGPORT`;
    case "28P01":
      return `PostgreSQL rejected the password of ${env.PGUSER ?? "PGUSER"} at ${target}: fix PGPASSWORD (greenlight:dbAdminPassword)`;
    case "28000":
      return `PostgreSQL refused ${target}: ${failure.message} (check pg_hba.conf and PGUSER)`;
    case "3D000":
      return `database ${database ?? env.PGDATABASE} does not exist at ${target}: fix PGDATABASE (greenlight:dbName)`;
    case "57P01":
    case "57P02":
    case "57P03":
      return `PostgreSQL at ${target} is shutting down or restarting: ${failure.message}`;
    default:
      if (/timeout/i.test(failure.message ?? ""))
        return `PostgreSQL at ${target} did not answer in time (${failure.message}): check PGHOST/PGPORT and the network`;
      if (/Connection terminated|ECONNRESET/i.test(failure.message ?? ""))
        return `the connection to PostgreSQL at ${target} was lost: ${failure.message}`;
      return `PostgreSQL at ${target}: ${failure.message ?? String(error)}`;
  }
}

/** Connects with the environment's settings; failures become StepErrors naming the fix. */
export async function connect(
  env: NodeJS.ProcessEnv,
  database?: string,
  applicationName?: string,
): Promise<Client> {
  const client = new Client({ ...clientConfig(env, database), application_name: applicationName });
  // A server that dies mid-session emits 'error' on the client; the pending query rejects as well.
  client.on("error", () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw new StepError(describePgError(error, env, database));
  }
  return client;
}

/**
 * The settings that change how values print as text, pinned in every session that checksums rows:
 * a table hashed by its text form (one with a json column, say) must hash the same whatever time
 * zone, date style or float format the database or role sets for its sessions, in the backup's
 * session and in the restored copy's alike.
 */
export const PINNED_TEXT_SETTINGS: readonly (readonly [name: string, value: string])[] = [
  ["TimeZone", "UTC"],
  ["DateStyle", "ISO, YMD"],
  ["IntervalStyle", "postgres"],
  ["extra_float_digits", "1"],
  ["bytea_output", "hex"],
  ["lc_monetary", "C"],
  ["quote_all_identifiers", "off"],
  // reg* values print schema-qualified unless their schema is on the path.
  ["search_path", "pg_catalog"],
];

/**
 * Asks the server to cancel what a client's session is running, with the protocol's CancelRequest
 * (what libpq's PQcancel and psql's Ctrl-C send): a new connection, no login, the session's key.
 */
export function cancelQuery(client: Client): Promise<void> {
  const session = client as unknown as {
    host: string;
    port: number;
    processID: number | null;
    secretKey: number | null;
  };
  const { processID, secretKey } = session;
  if (processID === null || secretKey === null) return Promise.resolve();
  return new Promise((resolve) => {
    const socket = session.host?.startsWith("/")
      ? net.connect(path.join(session.host, `.s.PGSQL.${session.port}`))
      : net.connect(session.port, session.host ?? "localhost");
    const request = Buffer.alloc(16);
    request.writeInt32BE(16, 0);
    request.writeInt32BE(80877102, 4);
    request.writeInt32BE(processID, 8);
    request.writeInt32BE(secretKey, 12);
    socket.setTimeout(5000, () => socket.destroy());
    socket.once("connect", () => socket.end(request));
    socket.once("error", () => resolve());
    socket.once("close", () => resolve());
  });
}

/**
 * Connects for checksums: the session's text output no longer depends on database or role
 * settings. With `stop`, a stop request cancels whatever the session is running.
 */
export async function connectForChecksums(
  env: NodeJS.ProcessEnv,
  database: string,
  applicationName: string,
  stop?: StopRequest,
): Promise<Client> {
  const client = await connect(env, database, applicationName);
  if (stop)
    client.once(
      "end",
      stop.onStop(() => void cancelQuery(client)),
    );
  try {
    await client.query(
      PINNED_TEXT_SETTINGS.map(([name, value]) => `SET ${quoteIdent(name)} = ${quoteLiteral(value)}`).join(
        "; ",
      ),
    );
  } catch (error) {
    await client.end().catch(() => undefined);
    throw new StepError(describePgError(error, env, database));
  }
  return client;
}

/** Quotes an identifier for SQL. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes a string literal for SQL (for statements that take no parameters, e.g. ALTER DATABASE SET). */
export function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** An ordinary table with its content summary. */
export interface TableSummary {
  schema: string;
  name: string;
  rows: number;
  /** Sum of a 64-bit hash of every row, as a decimal string: order-independent. */
  checksum: string;
  /** "record": hash_record_extended of the row; "text": a hash of the row's text form (types without a hash). */
  method: "record" | "text";
}

/** The ordinary tables pg_dump dumps data for (extension-owned and system tables excluded). */
export async function listTables(client: Client): Promise<{ schema: string; name: string }[]> {
  const result = await client.query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, c.relname AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r'
        AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                          AND d.objid = c.oid AND d.deptype = 'e')
      ORDER BY 1, 2`,
  );
  return result.rows;
}

function checksumSql(schema: string, name: string, method: TableSummary["method"]): string {
  const hash = method === "record" ? "hash_record_extended(t, 0)" : "hashtextextended(t::text, 0)";
  return `SELECT count(*)::text AS rows, coalesce(sum(${hash}), 0)::text AS checksum FROM ONLY ${quoteIdent(schema)}.${quoteIdent(name)} AS t`;
}

/**
 * Whether a table holds values whose hash is their OID: enum values (hashenum hashes the label's
 * pg_enum oid) and reg* values, directly or in arrays, domains, composites or ranges. A restore gives
 * them new OIDs, so such a table is checksummed by its text form, which names labels and objects.
 */
async function hashesOids(client: Client, table: { schema: string; name: string }): Promise<boolean> {
  const result = await client.query<{ found: boolean }>(
    `WITH RECURSIVE reached(oid) AS (
       SELECT atttypid FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped
       UNION
       SELECT next.oid FROM reached r JOIN pg_type t ON t.oid = r.oid,
         LATERAL (SELECT t.typelem UNION ALL SELECT t.typbasetype
                  UNION ALL SELECT a.atttypid FROM pg_attribute a
                   WHERE t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
                  UNION ALL SELECT rngsubtype FROM pg_range WHERE rngtypid = t.oid) AS next(oid)
        WHERE next.oid <> 0)
     SELECT EXISTS (SELECT 1 FROM reached r JOIN pg_type t ON t.oid = r.oid
                     WHERE t.typtype = 'e' OR (t.typnamespace = 'pg_catalog'::regnamespace AND t.typname LIKE 'reg%')) AS found`,
    [`${quoteIdent(table.schema)}.${quoteIdent(table.name)}`],
  );
  return result.rows[0].found;
}

/**
 * Row count and content checksum of one table. Tries the row hash first and falls back to the text
 * form for column types without a hash function (json, point…); inside a transaction a savepoint
 * keeps that failure from aborting it. Tables whose values hash by OID (hashesOids) use the text form.
 */
export async function checksumTable(
  client: Client,
  table: { schema: string; name: string },
  options: { method?: TableSummary["method"]; inTransaction?: boolean } = {},
): Promise<TableSummary> {
  const run = async (method: TableSummary["method"]) => {
    const result = await client.query<{ rows: string; checksum: string }>(
      checksumSql(table.schema, table.name, method),
    );
    return { ...table, rows: Number(result.rows[0].rows), checksum: result.rows[0].checksum, method };
  };
  if (options.method) return run(options.method);
  if (await hashesOids(client, table)) return run("text");
  if (options.inTransaction) await client.query("SAVEPOINT greenlight_checksum");
  try {
    const summary = await run("record");
    if (options.inTransaction) await client.query("RELEASE SAVEPOINT greenlight_checksum");
    return summary;
  } catch (error) {
    // 42883: no (extended) hash function for a column type, or a server before PostgreSQL 14.
    if ((error as { code?: string }).code !== "42883") throw error;
    if (options.inTransaction) await client.query("ROLLBACK TO SAVEPOINT greenlight_checksum");
    return run("text");
  }
}
