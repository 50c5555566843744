// Restore (seed 004, "Database rollback … restore dump") and its drill. The backup's sha256 is checked
// before anything is restored; the restored database is compared table by table (rows and a content
// checksum) with the source as the backup saw it. --drill restores into a scratch database and drops
// it; a real restore (--target-db, --confirm) builds the new database beside the old one and swaps
// names in one transaction, keeping the old database, so a failed restore loses nothing.
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as readline from "readline";
import { Client } from "pg";
import { KEY_PREFIX, RELEASE_ID, SQL_IDENTIFIER } from "../schema/patterns";
import { keyTimestamp } from "./backup-key";
import { tableDataEntries } from "./backup";
import { requireFreeDisk } from "./disk";
import { BackupManifest, checkDigest, findReleaseBackup } from "./manifest";
import {
  TableSummary,
  checksumTable,
  connect,
  describePgError,
  listTables,
  pgBinary,
  quoteIdent,
  quoteLiteral,
} from "./postgres";
import { downloadObject, s3Call, s3Client, s3Settings } from "./s3";
import { StepCommand, StepError, progress, requireEnv } from "./step";
import {
  childExit,
  collectStdout,
  describeExit,
  firstErrorLine,
  formatRate,
  newMeter,
  startProgress,
} from "./stream";

const STEP = "restore";
const STACK = /^[A-Za-z0-9._-]{1,64}$/;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export interface RestoreOptions {
  bucket: string;
  prefix: string;
  stack: string;
  release: string;
  /** A dump or manifest key of that release; default: its newest verified backup. */
  key?: string;
  /** Real restore: the database to replace (requires confirm). */
  targetDb?: string;
  /** Required for a real restore. */
  confirm: boolean;
  /** Restore into a scratch database, compare, drop it. */
  drill: boolean;
  /** pg_restore --jobs. Default min(4, CPUs). */
  jobs: number;
  /** Where the downloaded dump is kept while restoring. Default the OS temp dir. */
  spoolDir: string;
  /** Free disk that must remain after the download, in percent. Default 15. */
  minFreeDiskPercent: number;
  /** Compare with the live source database (PGDATABASE) instead of the manifest's snapshot. */
  compareLive: boolean;
  /** Database the admin connection uses to create, rename and drop databases. Default "postgres". */
  maintenanceDb: string;
  /** Seconds between progress lines; 0 silences them. Default 5. */
  progressSeconds: number;
  now?: () => Date;
}

/** One table, source against restored. */
export interface TableComparison {
  table: string;
  sourceRows: number | null;
  restoredRows: number | null;
  sourceChecksum: string | null;
  restoredChecksum: string | null;
  match: boolean;
}

export interface RestoreReport {
  mode: "drill" | "restore";
  release: string;
  dumpKey: string;
  bytes: number;
  sha256: string;
  /** The scratch database (drill) or the target (restore). */
  database: string;
  /** What the restored tables were compared with. */
  comparedWith: "snapshot" | "live";
  sourceDatabase: string;
  tables: TableComparison[];
  matched: boolean;
  /** Real restore: the replaced database, kept under this name (drop it once satisfied). */
  previousDatabase?: string | null;
  seconds: { download: number; restore: number; compare: number; total: number };
}

/** Pairs source and restored tables by name; a table missing on either side is a mismatch. */
export function compareTables(source: TableSummary[], restored: TableSummary[]): TableComparison[] {
  const name = (table: { schema: string; name: string }) => `${table.schema}.${table.name}`;
  const restoredByName = new Map(restored.map((table) => [name(table), table]));
  const comparisons: TableComparison[] = source.map((table) => {
    const copy = restoredByName.get(name(table));
    restoredByName.delete(name(table));
    return {
      table: name(table),
      sourceRows: table.rows,
      restoredRows: copy?.rows ?? null,
      sourceChecksum: table.checksum,
      restoredChecksum: copy?.checksum ?? null,
      match: copy !== undefined && copy.rows === table.rows && copy.checksum === table.checksum,
    };
  });
  for (const extra of restoredByName.values()) {
    comparisons.push({
      table: name(extra),
      sourceRows: null,
      restoredRows: extra.rows,
      sourceChecksum: null,
      restoredChecksum: extra.checksum,
      match: false,
    });
  }
  return comparisons.sort((a, b) => a.table.localeCompare(b.table));
}

/** A database name `<base>_<tag>_<timestamp>` of at most 63 characters. */
export function derivedDatabaseName(base: string, tag: string, at: Date): string {
  const suffix = `_${tag}_${keyTimestamp(at).toLowerCase()}`;
  return `${base.slice(0, 63 - suffix.length)}${suffix}`;
}

/** TABLE DATA entries of `pg_restore --list`: dump id → table (names with spaces are left out). */
export function tableDataItems(listing: string): Map<number, { schema: string; name: string }> {
  const items = new Map<number, { schema: string; name: string }>();
  for (const line of listing.split("\n")) {
    const match = /^(\d+); \d+ \d+ TABLE DATA (\S+) (\S+) \S+$/.exec(line);
    if (match) items.set(Number(match[1]), { schema: match[2], name: match[3] });
  }
  return items;
}

/** The dump id of a TABLE DATA item pg_restore --verbose reports finished (parallel mode), if any. */
export function finishedTableData(line: string): number | undefined {
  const match = /finished item (\d+) TABLE DATA /.exec(line);
  return match ? Number(match[1]) : undefined;
}

function validate(options: RestoreOptions): void {
  const bad = (what: string) => new StepError(what, 2);
  if (!BUCKET.test(options.bucket))
    throw bad(`--bucket ${JSON.stringify(options.bucket)} is not an S3 bucket name`);
  if (!KEY_PREFIX.test(options.prefix))
    throw bad(`--prefix ${JSON.stringify(options.prefix)}: use path segments of letters, digits, . _ -`);
  if (!STACK.test(options.stack))
    throw bad(`--stack ${JSON.stringify(options.stack)}: use letters, digits, . _ -`);
  if (!RELEASE_ID.test(options.release))
    throw bad(`--release ${JSON.stringify(options.release)}: use 1-64 letters, digits, . _ -`);
  if (!SQL_IDENTIFIER.test(options.maintenanceDb))
    throw bad(`--maintenance-db ${JSON.stringify(options.maintenanceDb)} is not a plain identifier`);
  if (!(Number.isInteger(options.jobs) && options.jobs >= 1 && options.jobs <= 64))
    throw bad(`--jobs ${options.jobs}: use 1-64`);
  if (!(options.minFreeDiskPercent >= 0 && options.minFreeDiskPercent <= 99))
    throw bad(`--min-free-disk-percent ${options.minFreeDiskPercent}: use 0-99`);
  if (options.drill) {
    if (options.targetDb !== undefined)
      throw bad(
        "--drill restores into a scratch database and drops it: leave out --target-db (or leave out --drill to restore for real)",
      );
    return;
  }
  if (options.targetDb === undefined)
    throw bad("give --drill to rehearse, or --target-db <database> --confirm to restore for real");
  if (!SQL_IDENTIFIER.test(options.targetDb))
    throw bad(
      `--target-db ${JSON.stringify(options.targetDb)} is not a plain identifier (lower case, digits, _)`,
    );
  if (!options.confirm)
    throw bad(
      `refusing to replace database ${options.targetDb} without --confirm: a restore swaps in the backup's data (the old database is kept under another name); add --confirm once maintenance mode is on`,
    );
}

/** Runs `fn` over items with at most `size` at once. */
async function mapPool<T, R>(
  items: T[],
  size: number,
  fn: (item: T, worker: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (id: number) => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index], id);
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, Math.max(items.length, 1)) }, (_, id) => worker(id)));
  return results;
}

/** Rows and checksums of a database's tables, `jobs` connections at a time; methods follow the manifest. */
async function summarize(
  env: NodeJS.ProcessEnv,
  database: string,
  jobs: number,
  methods: Map<string, TableSummary["method"]>,
  known: Map<string, Promise<TableSummary>> = new Map(),
): Promise<TableSummary[]> {
  const clients: Client[] = [];
  try {
    clients.push(await connect(env, database, "greenlight-restore-compare"));
    const tables = await listTables(clients[0]);
    const left = tables.filter((table) => !known.has(`${table.schema}.${table.name}`)).length;
    while (clients.length < Math.min(jobs, left))
      clients.push(await connect(env, database, "greenlight-restore-compare"));
    return await mapPool(
      tables,
      clients.length,
      (table, worker) =>
        known.get(`${table.schema}.${table.name}`) ??
        checksumTable(clients[worker], table, { method: methods.get(`${table.schema}.${table.name}`) }),
    );
  } catch (error) {
    if (error instanceof StepError) throw error;
    throw new StepError(`comparing tables in ${database}: ${describePgError(error, env, database)}`);
  } finally {
    await Promise.all(clients.map((client) => client.end().catch(() => undefined)));
  }
}

async function createDatabaseLike(admin: Client, name: string, like: string | undefined): Promise<void> {
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

async function databaseExists(admin: Client, name: string): Promise<boolean> {
  return (await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name])).rowCount === 1;
}

async function dropDatabase(admin: Client, name: string): Promise<void> {
  await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
}

/**
 * Swaps the restored database in under the target's name in one transaction and carries over what
 * lives outside a dump: the database's owner, its grants and its settings. The old one is kept.
 */
async function swapIn(
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

/** Restores a backup (drill or real) and compares every table; throws with the report on a mismatch. */
export async function restore(options: RestoreOptions, env: NodeJS.ProcessEnv): Promise<RestoreReport> {
  validate(options);
  const started = Date.now();
  const now = options.now ?? (() => new Date());
  const settings = s3Settings(env);
  const client = s3Client(settings);
  const pgRestore = pgBinary("pg_restore", env);
  const sourceDatabase =
    options.drill || options.compareLive
      ? requireEnv(env, "PGDATABASE", "the source database the restored copy is compared with")
      : (env.PGDATABASE ?? (options.targetDb as string));

  const { manifest } = await findReleaseBackup(client, settings, options);
  await requireFreeDisk(
    options.spoolDir,
    manifest.bytes,
    options.minFreeDiskPercent,
    `downloading ${manifest.dumpKey}`,
  );
  const workDir = fs.mkdtempSync(path.join(options.spoolDir, "greenlight-restore-"));
  const file = path.join(workDir, "dump");
  const at = now();
  const database = options.drill
    ? derivedDatabaseName(sourceDatabase, "drill", at)
    : derivedDatabaseName(options.targetDb as string, "restore", at);
  let admin: Client | undefined;
  let early: Client | undefined;
  let created = false;
  let swapped = false;
  try {
    const meter = newMeter();
    const stopDownload = startProgress(STEP, () => `download: ${formatRate(meter)}`, options.progressSeconds);
    const stored = await s3Call(settings, options.bucket, `downloading ${manifest.dumpKey}`, () =>
      downloadObject(client, options.bucket, manifest.dumpKey, file, (bytes) => (meter.bytes = bytes)),
    ).finally(stopDownload);
    checkDigest(manifest, stored);
    const downloaded = Date.now();
    progress(STEP, `${manifest.dumpKey}: sha256 matches the manifest (${stored.bytes} bytes)`);
    const items = await checkArchive(pgRestore, file, manifest, env);

    admin = await connect(env, options.maintenanceDb, "greenlight-restore");
    await createDatabaseLike(admin, database, options.drill ? sourceDatabase : options.targetDb);
    created = true;
    const methods = new Map(manifest.tables.map((table) => [`${table.schema}.${table.name}`, table.method]));
    // Tables whose data is complete are checksummed one at a time while pg_restore goes on.
    early = await connect(env, database, "greenlight-restore-compare");
    const earlyClient = early;
    const known = new Map<string, Promise<TableSummary>>();
    let queue: Promise<unknown> = Promise.resolve();
    await runPgRestore(pgRestore, file, database, options, env, admin, (dumpId) => {
      const table = items.get(dumpId);
      if (!table) return;
      const summary = queue.then(() =>
        checksumTable(earlyClient, table, { method: methods.get(`${table.schema}.${table.name}`) }),
      );
      // Awaited in summarize(); a failure must not surface earlier as an unhandled rejection.
      summary.catch(() => undefined);
      queue = summary.catch(() => undefined);
      known.set(`${table.schema}.${table.name}`, summary);
    });
    const restoredAt = Date.now();
    progress(STEP, `${known.size} of ${items.size} tables queued for comparison while pg_restore ran`);

    const live = options.compareLive || manifest.tables.length === 0;
    const [source, restored] = await Promise.all([
      live ? summarize(env, sourceDatabase, options.jobs, methods) : Promise.resolve(manifest.tables),
      summarize(env, database, options.jobs, methods, known),
    ]);
    // Renaming the restored database needs it free of sessions.
    await earlyClient.end();
    early = undefined;
    const tables = compareTables(source, restored);
    const matched = tables.every((table) => table.match);
    const compared = Date.now();

    let previousDatabase: string | null | undefined;
    if (!options.drill && matched) {
      previousDatabase = await swapIn(
        admin,
        database,
        options.targetDb as string,
        derivedDatabaseName(options.targetDb as string, "before", at),
      );
      swapped = true;
    }
    const report: RestoreReport = {
      mode: options.drill ? "drill" : "restore",
      release: manifest.release,
      dumpKey: manifest.dumpKey,
      bytes: manifest.bytes,
      sha256: manifest.sha256,
      database: options.drill ? database : (options.targetDb as string),
      comparedWith: live ? "live" : "snapshot",
      sourceDatabase: live ? sourceDatabase : manifest.database,
      tables,
      matched,
      ...(options.drill ? {} : { previousDatabase: previousDatabase ?? null }),
      seconds: {
        download: (downloaded - started) / 1000,
        restore: (restoredAt - downloaded) / 1000,
        compare: (compared - restoredAt) / 1000,
        total: (Date.now() - started) / 1000,
      },
    };
    if (!matched) {
      const differing = tables.filter((table) => !table.match).map((table) => table.table);
      throw new StepError(
        `the restored copy of ${manifest.dumpKey} differs from the ${live ? `live database ${sourceDatabase}` : "source as dumped"} in ${differing.length} table(s): ${differing.slice(0, 5).join(", ")}` +
          (options.drill ? "" : `; ${options.targetDb} was left untouched`),
        1,
        report,
      );
    }
    progress(
      STEP,
      `${report.mode}: ${tables.length} tables match (${report.comparedWith}); ${report.seconds.total.toFixed(1)} s`,
    );
    return report;
  } catch (error) {
    if (error instanceof StepError) throw error;
    throw new StepError(describePgError(error, env, database));
  } finally {
    await early?.end().catch(() => undefined);
    if (admin && created && !swapped) await dropDatabase(admin, database).catch(() => undefined);
    await admin?.end().catch(() => undefined);
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

/** `pg_restore --list`: the table of contents must be readable and list every table of the manifest. */
async function checkArchive(
  pgRestore: string,
  file: string,
  manifest: BackupManifest,
  env: NodeJS.ProcessEnv,
): Promise<Map<number, { schema: string; name: string }>> {
  const lister = spawn(pgRestore, ["--list", file], { env, stdio: ["ignore", "pipe", "pipe"] });
  const stdout = collectStdout(lister);
  const exit = await childExit(lister);
  if (exit.code !== 0)
    throw new StepError(
      `pg_restore --list ${manifest.dumpKey} failed (${describeExit(exit)}: ${firstErrorLine(exit.stderr)}): the archive is unreadable`,
    );
  const listing = await stdout;
  const listed = tableDataEntries(listing);
  if (manifest.tables.length > 0 && listed !== manifest.tableCount)
    throw new StepError(
      `${manifest.dumpKey} lists data for ${listed} tables, its manifest ${manifest.tableCount}: the archive is incomplete`,
    );
  return tableDataItems(listing);
}

async function runPgRestore(
  pgRestore: string,
  file: string,
  database: string,
  options: RestoreOptions,
  env: NodeJS.ProcessEnv,
  admin: Client,
  onTableData: (dumpId: number) => void,
): Promise<void> {
  // A drill checks content: ownership and grants need roles the scratch server may not have.
  const args = ["--no-password", "--exit-on-error", `--jobs=${options.jobs}`, `--dbname=${database}`];
  if (options.drill) args.push("--no-owner", "--no-acl");
  // In parallel mode --verbose reports each finished item, so tables can be compared while indexes build.
  if (options.jobs > 1) args.push("--verbose");
  const child = spawn(pgRestore, [...args, file], { env, stdio: ["ignore", "ignore", "pipe"] });
  const exit = childExit(child);
  if (child.stderr)
    readline.createInterface({ input: child.stderr }).on("line", (line) => {
      const dumpId = finishedTableData(line);
      if (dumpId !== undefined) onTableData(dumpId);
    });
  let size = 0;
  const startedAt = Date.now();
  const timer =
    options.progressSeconds > 0
      ? setInterval(() => {
          admin
            .query<{ size: string }>("SELECT pg_database_size($1)::text AS size", [database])
            .then((result) => (size = Number(result.rows[0].size)))
            .catch(() => undefined);
          progress(
            STEP,
            `pg_restore into ${database}: ${((Date.now() - startedAt) / 1000).toFixed(0)} s, ${(size / 1e6).toFixed(0)} MB`,
          );
        }, options.progressSeconds * 1000)
      : undefined;
  const result = await exit.finally(() => clearInterval(timer));
  if (result.code !== 0)
    throw new StepError(
      `pg_restore into ${database} failed (${describeExit(result)}): ${firstErrorLine(result.stderr)}`,
    );
}

function numberOption(options: Record<string, unknown>, name: string, flag: string): number {
  const value = Number(options[name]);
  if (!Number.isFinite(value))
    throw new StepError(`${flag} ${JSON.stringify(options[name])} is not a number`, 2);
  return value;
}

/** Reads the CLI's options into RestoreOptions. */
export function restoreOptions(options: Record<string, unknown>): RestoreOptions {
  const text = (name: string) => (options[name] === undefined ? undefined : String(options[name]));
  return {
    bucket: String(options.bucket),
    prefix: String(options.prefix),
    stack: String(options.stack),
    release: String(options.release),
    key: text("key"),
    targetDb: text("targetDb"),
    confirm: options.confirm === true,
    drill: options.drill === true,
    jobs: numberOption(options, "jobs", "--jobs"),
    spoolDir: String(options.spoolDir),
    minFreeDiskPercent: numberOption(options, "minFreeDiskPercent", "--min-free-disk-percent"),
    compareLive: options.compareLive === true,
    maintenanceDb: String(options.maintenanceDb),
    progressSeconds: numberOption(options, "progressSeconds", "--progress-seconds"),
  };
}

export const restoreCommand: StepCommand = {
  name: "restore",
  description:
    "Restore a verified backup: --drill into a scratch database and compare every table, or --target-db D --confirm for real",
  options: (command) =>
    command
      .requiredOption("--bucket <name>", "S3 bucket holding the backups")
      .requiredOption("--prefix <prefix>", "key prefix of the backups")
      .requiredOption("--stack <name>", "stack whose backup to restore")
      .requiredOption("--release <id>", "release whose backup to restore (its newest verified one)")
      .option("--key <key>", "a specific dump or manifest key of that release")
      .option("--target-db <database>", "restore for real into this database (needs --confirm)")
      .option("--confirm", "confirm a real restore")
      .option("--drill", "restore into a scratch database, compare, drop it")
      .option("--jobs <n>", "pg_restore --jobs", String(Math.min(4, os.cpus().length)))
      .option("--spool-dir <dir>", "where the downloaded dump is kept while restoring", os.tmpdir())
      .option("--min-free-disk-percent <percent>", "free disk that must remain after the download", "15")
      .option("--compare-live", "compare with the live PGDATABASE instead of the backup's snapshot")
      .option("--maintenance-db <name>", "database used to create, rename and drop databases", "postgres")
      .option("--progress-seconds <seconds>", "seconds between progress lines on stderr", "5"),
  run: (options, env) => restore(restoreOptions(options), env),
};
