import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { RestoreReport } from "../../../ops/restore";
import { alterSettingSql, splitSettingList } from "../../../ops/lib/postgres/settings";
import { PgCluster, startPostgres } from "../../support/postgres";
import { S3Server, startS3 } from "../../support/s3";
import { needService } from "../../support/service";
import { BUCKET, backupArgs, databasesLike, locationArgs, runOps, sql, stepEnv } from "../support/data";

// What a database carries beyond its tables: the settings its sessions start with (which change how
// values print), list-valued settings, and the properties pg_dump --create would write.

function restoreArgs(release: string, extra: string[]): string[] {
  return ["restore", ...locationArgs(release), "--progress-seconds", "0", ...extra];
}

/** A database's own settings (every role, and per role), as pg_db_role_setting stores them. */
async function storedSettings(pg: PgCluster, database: string): Promise<string[]> {
  const rows = await pg.query<{ line: string }>(
    `SELECT coalesce(pg_get_userbyid(NULLIF(s.setrole, 0)), '(every role)') || ': ' || array_to_string(s.setconfig, ' | ') AS line
       FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = $1 ORDER BY 1`,
    [database],
  );
  return rows.map((row) => row.line);
}

describe("database settings: pure parts", () => {
  it("splits a list-valued setting as pg_dump does, quoted elements kept whole", () => {
    assert.deepEqual(splitSettingList('public, "Sales Dept"'), ["public", "Sales Dept"]);
    assert.deepEqual(splitSettingList('"a ""quoted"" one",b'), ['a "quoted" one', "b"]);
    assert.deepEqual(splitSettingList(""), []);
    assert.throws(() => splitSettingList("a,,b"), /not a list/);
  });

  it("writes ALTER … SET with list elements as separate literals, other values as one", () => {
    assert.equal(
      alterSettingSql('DATABASE "shop"', 'search_path=public, "Sales Dept"'),
      `ALTER DATABASE "shop" SET "search_path" TO 'public', 'Sales Dept'`,
    );
    assert.equal(
      alterSettingSql('ROLE "app" IN DATABASE "shop"', "DateStyle=SQL, DMY"),
      `ALTER ROLE "app" IN DATABASE "shop" SET "DateStyle" TO 'SQL, DMY'`,
    );
    assert.equal(
      alterSettingSql('DATABASE "shop"', "app.note=it's = fine"),
      `ALTER DATABASE "shop" SET "app.note" TO 'it''s = fine'`,
    );
    assert.equal(
      alterSettingSql('DATABASE "shop"', 'search_path=""'),
      `ALTER DATABASE "shop" SET "search_path" TO ''`,
    );
  });
});

describe("restore keeps what a database carries beyond its tables (PostgreSQL 15, S3-compatible server)", function () {
  this.timeout(300_000);
  let pg: PgCluster;
  let s3: S3Server;
  const spool = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-restore-db-test-"));

  before(async function () {
    pg = await needService(this, "PostgreSQL 15", startPostgres);
    s3 = await needService(this, "S3-compatible server", () => startS3());
    await s3.createBucket(BUCKET);
  });
  after(async () => {
    await s3?.stop();
    await pg?.stop();
    fs.rmSync(spool, { recursive: true, force: true });
  });

  async function backupAndDrill(database: string, release: string): Promise<void> {
    const backup = await runOps(backupArgs(release), stepEnv(pg, s3, database));
    assert.equal(backup.code, 0, backup.stderr);
    const drill = await runOps(
      restoreArgs(release, ["--drill", "--spool-dir", spool]),
      stepEnv(pg, s3, database),
    );
    assert.equal(drill.code, 0, drill.stderr);
    assert.equal((drill.json as unknown as RestoreReport).matched, true);
    assert.deepEqual(await databasesLike(pg, `${database}_drill_`), []);
  }

  async function realRestore(database: string, release: string): Promise<RestoreReport> {
    const run = await runOps(
      restoreArgs(release, ["--target-db", database, "--confirm", "--spool-dir", spool]),
      stepEnv(pg, s3, database),
    );
    assert.equal(run.code, 0, run.stderr);
    const report = run.json as unknown as RestoreReport;
    assert.equal(report.matched, true);
    return report;
  }

  it("a database with its own time zone, date, interval, float and bytea output: drill and real restore match on identical data", async () => {
    await pg.query("CREATE DATABASE tzshop");
    for (const setting of [
      "timezone = 'America/New_York'",
      "DateStyle = 'SQL, DMY'",
      "IntervalStyle = 'sql_standard'",
      "extra_float_digits = 0",
      "bytea_output = 'escape'",
    ])
      await pg.query(`ALTER DATABASE tzshop SET ${setting}`);
    await pg.query("ALTER ROLE postgres IN DATABASE tzshop SET timezone = 'Asia/Kolkata'");
    // json has no hash function, so this table is compared by its rows' text form.
    await sql(
      pg,
      "tzshop",
      `CREATE TABLE events (id int PRIMARY KEY, payload json, at timestamptz, day date, took interval, ratio float8, raw bytea);
       INSERT INTO events SELECT g, json_build_object('n', g, 'at', timestamptz '2026-03-29 01:30:00+00' + g * interval '7 minutes'),
                                 timestamptz '2026-03-29 01:30:00+00' + g * interval '7 minutes', date '2026-01-01' + g,
                                 g * interval '1 day 3 hours 4.5 seconds', g / 3.0, decode(md5(g::text), 'hex')
           FROM generate_series(1, 2000) g`,
    );
    const before = await storedSettings(pg, "tzshop");
    await backupAndDrill("tzshop", "tz1");
    await realRestore("tzshop", "tz1");
    assert.deepEqual(
      await storedSettings(pg, "tzshop"),
      before,
      "the settings moved to the restored database",
    );
  });

  it("list-valued settings survive a real restore exactly; the app's unqualified query works after it", async () => {
    await pg.query("CREATE ROLE sales_app LOGIN PASSWORD 'sales-app'");
    await pg.query("CREATE DATABASE sales");
    await sql(
      pg,
      "sales",
      `CREATE SCHEMA "Sales Dept";
       CREATE TABLE "Sales Dept".leads (id int PRIMARY KEY, name text);
       INSERT INTO "Sales Dept".leads SELECT g, 'lead ' || g FROM generate_series(1, 25) g;
       GRANT USAGE ON SCHEMA "Sales Dept" TO sales_app;
       GRANT SELECT ON "Sales Dept".leads TO sales_app;`,
    );
    await pg.query(`ALTER DATABASE sales SET search_path = public, "Sales Dept"`);
    await pg.query(`ALTER DATABASE sales SET DateStyle = 'ISO, DMY'`);
    await pg.query(`ALTER ROLE sales_app IN DATABASE sales SET search_path = "Sales Dept", public`);
    const before = await storedSettings(pg, "sales");
    assert.deepEqual(before, [
      '(every role): search_path=public, "Sales Dept" | DateStyle=ISO, DMY',
      'sales_app: search_path="Sales Dept", public',
    ]);
    const appQuery = async () => {
      const app = new Client({ connectionString: pg.url("sales", "sales_app", "sales-app") });
      await app.connect();
      try {
        return (await app.query<{ n: number }>("SELECT count(*)::int AS n FROM leads")).rows[0].n;
      } finally {
        await app.end();
      }
    };
    assert.equal(await appQuery(), 25);

    const backup = await runOps(backupArgs("sales1"), stepEnv(pg, s3, "sales"));
    assert.equal(backup.code, 0, backup.stderr);
    const report = await realRestore("sales", "sales1");
    assert.deepEqual(await storedSettings(pg, "sales"), before);
    assert.equal(await appQuery(), 25, "the app finds its table through the restored search_path");
    await pg.query(`DROP DATABASE ${report.previousDatabase}`);
  });

  it("an ICU database comes back with its locale provider, ICU locale, collation version, owner, tablespace, connection limit, comment and grants", async () => {
    const tablespaceDir = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-tablespace-"));
    if (process.getuid?.() === 0) execFileSync("chown", ["postgres:postgres", tablespaceDir]);
    try {
      await pg.query("CREATE ROLE icu_owner");
      await pg.query("CREATE ROLE icu_reader LOGIN");
      await pg.query(`CREATE TABLESPACE gl_space LOCATION '${tablespaceDir}'`);
      await pg.query(
        "CREATE DATABASE icushop LOCALE_PROVIDER icu ICU_LOCALE 'de-DE' LOCALE 'C' TEMPLATE template0 OWNER icu_owner TABLESPACE gl_space CONNECTION LIMIT 7",
      );
      await pg.query("COMMENT ON DATABASE icushop IS 'the shop, sorted the German way'");
      await pg.query("REVOKE ALL ON DATABASE icushop FROM PUBLIC");
      await pg.query("GRANT CONNECT, TEMPORARY ON DATABASE icushop TO icu_reader");
      await sql(
        pg,
        "icushop",
        "CREATE TABLE words (w text); INSERT INTO words VALUES ('a'), ('B'), ('ä'), ('z'), ('Z'), ('Äpfel'), ('apfel')",
      );
      const sorted = async () =>
        (await sql<{ s: string }>(pg, "icushop", "SELECT string_agg(w, ' ' ORDER BY w) AS s FROM words"))[0]
          .s;
      const properties = async () =>
        (
          await pg.query(
            `SELECT d.datlocprovider AS provider, d.daticulocale AS icu_locale, d.datcollate AS collate, d.datctype AS ctype,
                    d.datcollversion AS collation_version, pg_database_collation_actual_version(d.oid) AS library_version,
                    pg_get_userbyid(d.datdba) AS owner, t.spcname AS tablespace, d.datconnlimit AS connection_limit,
                    shobj_description(d.oid, 'pg_database') AS comment, d.datacl::text[] AS acl
               FROM pg_database d JOIN pg_tablespace t ON t.oid = d.dattablespace WHERE d.datname = 'icushop'`,
          )
        )[0];
      const germanOrder = await sorted();
      assert.equal(germanOrder, "a ä apfel Äpfel B z Z");
      const before = await properties();
      assert.equal(before.provider, "i");

      await backupAndDrill("icushop", "icu1");
      const report = await realRestore("icushop", "icu1");
      assert.deepEqual(await properties(), before);
      assert.equal(await sorted(), germanOrder, "the restored database sorts as the original did");
      await pg.query(`DROP DATABASE ${report.previousDatabase}`);
      await pg.query("DROP DATABASE icushop");
      await pg.query("DROP TABLESPACE gl_space");
    } finally {
      fs.rmSync(tablespaceDir, { recursive: true, force: true });
    }
  });
});
