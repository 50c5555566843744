import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BackupManifest } from "../../../ops/lib/manifest";
import { finishedTableData, tableDataItems } from "../../../ops/lib/postgres/archive";
import { RestoreReport } from "../../../ops/restore";
import { compareTables, sequenceMatches } from "../../../ops/restore/compare";
import { derivedDatabaseName } from "../../../ops/restore/database";
import { PgCluster, startPostgres } from "../../support/postgres";
import { S3Server, startS3 } from "../../support/s3";
import { needService } from "../../support/service";
import {
  BUCKET,
  adminClient,
  backupArgs,
  locationArgs,
  databasesLike,
  flipMiddleByte,
  mountTmpfs,
  reason,
  runOps,
  sql,
  stepEnv,
} from "../support/data";

// Every kind of content a dump must carry exactly: json (hashed as text), jsonb, numeric, special
// floats, arrays, bytea, NULLs, unicode, enum and regclass values (hashed as text: a restore gives
// them new OIDs, and their hash is the OID), a table without a key holding duplicate rows, partitions,
// another schema and an empty table; sequences (called and not), large objects, and materialized
// views (populated and not).
const SHOP_SCHEMA = `
CREATE SCHEMA sales;
CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, profile json, prefs jsonb, created_at timestamptz);
CREATE TABLE sales.orders (id bigserial PRIMARY KEY, customer_id int REFERENCES customers, total numeric(12, 3),
                           ratio float8, tags text[], note text, blob bytea);
CREATE TYPE sales.priority AS ENUM ('normal', 'rush');
ALTER TABLE sales.orders ADD COLUMN priority sales.priority;
CREATE TABLE audit_log (at timestamptz, line text, target regclass);
CREATE TABLE measurements (id int, city text, reading real) PARTITION BY LIST (city);
CREATE TABLE measurements_a PARTITION OF measurements FOR VALUES IN ('a');
CREATE TABLE measurements_b PARTITION OF measurements FOR VALUES IN ('b');
CREATE TABLE empty_table (id int);
INSERT INTO customers (name, profile, prefs, created_at)
  SELECT CASE WHEN g % 10 = 0 THEN 'Zürich ✓ ' || g ELSE 'customer ' || g END,
         CASE WHEN g % 7 = 0 THEN NULL ELSE json_build_object('tier', g % 3, 'tags', json_build_array(g, 'x')) END,
         jsonb_build_object('mail', g % 2 = 0), '2026-01-01'::timestamptz + g * interval '1 minute'
    FROM generate_series(1, 3000) g;
INSERT INTO sales.orders (customer_id, total, ratio, tags, note, blob)
  SELECT 1 + g % 3000, g * 1.125, CASE g % 4 WHEN 0 THEN 'NaN'::float8 WHEN 1 THEN '-0'::float8 WHEN 2 THEN 'Infinity' ELSE g / 3.0 END,
         ARRAY['t' || g % 5, NULL], CASE WHEN g % 3 = 0 THEN NULL ELSE repeat('n', g % 50) END, decode(md5(g::text), 'hex')
    FROM generate_series(1, 30000) g;
UPDATE sales.orders SET priority = CASE WHEN id % 4 = 0 THEN 'rush'::sales.priority ELSE 'normal' END;
INSERT INTO audit_log SELECT '2026-01-01', 'same line', 'customers' FROM generate_series(1, 3);
INSERT INTO audit_log VALUES ('2026-01-02', 'other line', 'sales.orders');
INSERT INTO measurements SELECT g, CASE WHEN g % 2 = 0 THEN 'a' ELSE 'b' END, g / 7.0 FROM generate_series(1, 5000) g;
CREATE SEQUENCE sales.invoice_no START 1000;
SELECT nextval('sales.invoice_no') FROM generate_series(1, 5);
CREATE SEQUENCE spare_numbers;
SELECT lo_from_bytea(0, convert_to('large object ' || g, 'UTF8')) FROM generate_series(1, 3) g;
CREATE MATERIALIZED VIEW sales.customer_totals AS
  SELECT customer_id, sum(total) AS total, count(*) AS orders FROM sales.orders GROUP BY customer_id;
CREATE MATERIALIZED VIEW sales.empty_report AS SELECT 1 AS one WITH NO DATA;
`;

const EVERY_TABLE = [
  "public.audit_log",
  "public.customers",
  "public.empty_table",
  "public.measurements_a",
  "public.measurements_b",
  "sales.orders",
];

function restoreArgs(release: string, extra: string[]): string[] {
  return ["restore", ...locationArgs(release), "--progress-seconds", "1", ...extra];
}

describe("restore step: pure parts", () => {
  it("pairs tables by name and flags differing, missing and extra tables", () => {
    const table = (name: string, rows: number, checksum: string) => ({
      schema: "public",
      name,
      rows,
      checksum,
      method: "record" as const,
    });
    const comparisons = compareTables(
      [table("a", 1, "10"), table("b", 2, "20"), table("c", 3, "30")],
      [table("a", 1, "10"), table("b", 2, "21"), table("d", 4, "40")],
    );
    assert.deepEqual(
      comparisons.map((row) => [row.table, row.match]),
      [
        ["public.a", true],
        ["public.b", false],
        ["public.c", false],
        ["public.d", false],
      ],
    );
    assert.equal(comparisons[2].restoredRows, null);
    assert.equal(comparisons[3].sourceRows, null);
  });

  it("maps pg_restore's finished TABLE DATA items to tables, so they are compared while indexes build", () => {
    const items = tableDataItems(
      [
        "215; 1259 16386 TABLE public orders postgres",
        "3352; 0 16386 TABLE DATA public orders postgres",
        "3354; 0 16396 TABLE DATA sales order_events postgres",
        "3363; 0 0 SEQUENCE SET public orders_id_seq postgres",
      ].join("\n"),
    );
    assert.deepEqual(
      [...items.entries()],
      [
        [3352, { schema: "public", name: "orders" }],
        [3354, { schema: "sales", name: "order_events" }],
      ],
    );
    assert.equal(finishedTableData("pg_restore: finished item 3354 TABLE DATA order_events"), 3354);
    assert.equal(
      finishedTableData("pg_restore: finished item 3208 CONSTRAINT events events_pkey"),
      undefined,
    );
    assert.equal(finishedTableData("pg_restore: processing item 3352 TABLE DATA orders"), undefined);
  });

  it("a sequence that moved while pg_dump read it matches anywhere between the backup's two reads", () => {
    const source = { schema: "public", name: "orders_id_seq", lastValue: "10", isCalled: true };
    const at = (lastValue: string, isCalled = true) => ({ ...source, lastValue, isCalled });
    assert.equal(sequenceMatches(source, at("10")), true);
    assert.equal(sequenceMatches(source, at("10", false)), false);
    assert.equal(sequenceMatches(source, at("11")), false, "a quiet sequence must match exactly");
    const moved = { ...source, after: { lastValue: "15", isCalled: true } };
    assert.deepEqual(
      ["9", "10", "12", "15", "16"].map((value) => sequenceMatches(moved, at(value))),
      [false, true, true, true, false],
    );
    const descending = { ...source, lastValue: "-3", after: { lastValue: "-8", isCalled: true } };
    assert.equal(sequenceMatches(descending, at("-5")), true);
  });

  it("derives scratch and kept database names within PostgreSQL's 63 characters", () => {
    const at = new Date("2026-11-23T18:45:00Z");
    assert.equal(derivedDatabaseName("shop", "drill", at), "shop_drill_20261123t184500z");
    const long = derivedDatabaseName("a".repeat(63), "before", at);
    assert.equal(long.length, 63);
    assert.match(long, /^a+_before_20261123t184500z$/);
  });
});

describe("restore step (drill and real) on PostgreSQL 15 and an S3-compatible server", function () {
  this.timeout(300_000);
  let pg: PgCluster;
  let s3: S3Server;
  let firstBackup: BackupManifest;
  const spool = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-restore-test-"));

  before(async function () {
    pg = await needService(this, "PostgreSQL 15", startPostgres);
    s3 = await needService(this, "S3-compatible server", () => startS3());
    await s3.createBucket(BUCKET);
    await pg.query("CREATE DATABASE shop");
    await sql(pg, "shop", SHOP_SCHEMA);
    const run = await runOps(backupArgs("r1"), stepEnv(pg, s3, "shop"));
    assert.equal(run.code, 0, run.stderr);
    firstBackup = run.json as unknown as BackupManifest;
  });
  after(async () => {
    await s3?.stop();
    await pg?.stop();
    fs.rmSync(spool, { recursive: true, force: true });
  });

  const drillArgs = (release: string, extra: string[] = []) =>
    restoreArgs(release, ["--drill", "--spool-dir", spool, ...extra]);

  it("drill: checks the sha256, restores into a scratch database, reproduces every table exactly, drops it", async () => {
    const run = await runOps(drillArgs("r1"), stepEnv(pg, s3, "shop"));
    assert.equal(run.code, 0, run.stderr);
    const report = run.json as unknown as RestoreReport;
    assert.equal(report.mode, "drill");
    assert.equal(report.dumpKey, firstBackup.dumpKey);
    assert.equal(report.comparedWith, "snapshot");
    assert.equal(report.matched, true);
    assert.deepEqual(
      report.tables.map((table) => table.table),
      EVERY_TABLE,
    );
    for (const table of report.tables) {
      assert.equal(table.match, true, table.table);
      assert.equal(table.restoredRows, table.sourceRows);
      assert.equal(table.restoredChecksum, table.sourceChecksum);
    }
    const rows = Object.fromEntries(report.tables.map((table) => [table.table, table.restoredRows]));
    assert.equal(rows["sales.orders"], 30000);
    assert.equal(rows["public.audit_log"], 4);
    assert.equal(rows["public.empty_table"], 0);
    assert.match(run.stderr, /sha256 matches the manifest/);
    assert.match(run.stderr, /6 of 6 tables queued for comparison while pg_restore ran/);
    assert.deepEqual(
      report.sequences?.map((sequence) => [
        sequence.sequence,
        sequence.source,
        sequence.restored,
        sequence.match,
      ]),
      [
        ["public.customers_id_seq", "3000", "3000", true],
        ["public.spare_numbers", "1 (not called)", "1 (not called)", true],
        ["sales.invoice_no", "1004", "1004", true],
        ["sales.orders_id_seq", "30000", "30000", true],
      ],
    );
    assert.equal(report.largeObjects?.sourceCount, 3);
    assert.equal(report.largeObjects?.restoredCount, 3);
    assert.equal(report.largeObjects?.restoredChecksum, report.largeObjects?.sourceChecksum);
    assert.equal(report.largeObjects?.match, true);
    assert.deepEqual(
      report.materializedViews?.map((view) => [
        view.view,
        view.sourcePopulated,
        view.restoredPopulated,
        view.restoredRows,
        view.contentMatch,
        view.match,
      ]),
      [
        ["sales.customer_totals", true, true, 3000, true, true],
        ["sales.empty_report", false, false, null, true, true],
      ],
    );
    assert.ok(report.notCompared.some((line) => /^object definitions/.test(line)));
    assert.ok(!report.notCompared.some((line) => /predates/.test(line)));
    assert.deepEqual(report.notes, []);
    assert.match(report.database, /^shop_drill_\d{8}t\d{6}z$/);
    assert.deepEqual(await databasesLike(pg, "shop_drill_"), [], "the scratch database is dropped");
    assert.deepEqual(fs.readdirSync(spool), [], "the downloaded dump is removed");
  });

  it("drill against the live database notices a single changed value; the snapshot drill is unaffected by later writes", async () => {
    await sql(pg, "shop", "UPDATE customers SET profile = '{\"tier\": 9}' WHERE id = 1");
    await sql(pg, "shop", "UPDATE sales.orders SET total = total + 0.001 WHERE id = 2");
    try {
      const live = await runOps(drillArgs("r1", ["--compare-live"]), stepEnv(pg, s3, "shop"));
      assert.equal(live.code, 1);
      assert.match(
        reason(live),
        /differs from the live database shop in 2 table\(s\): public\.customers, sales\.orders/,
      );
      const report = live.json as unknown as RestoreReport;
      assert.equal(report.matched, false);
      assert.deepEqual(
        report.tables.filter((table) => !table.match).map((table) => table.table),
        ["public.customers", "sales.orders"],
      );
      assert.deepEqual(await databasesLike(pg, "shop_drill_"), []);

      const snapshot = await runOps(drillArgs("r1"), stepEnv(pg, s3, "shop"));
      assert.equal(snapshot.code, 0, snapshot.stderr);
    } finally {
      await sql(
        pg,
        "shop",
        "UPDATE customers SET profile = json_build_object('tier', 1, 'tags', json_build_array(1, 'x')) WHERE id = 1",
      );
      await sql(pg, "shop", "UPDATE sales.orders SET total = total - 0.001 WHERE id = 2");
    }
  });

  it("drill against the live database notices a moved sequence, a removed large object and a materialized view populated since", async () => {
    const [{ oid }] = await sql<{ oid: number }>(
      pg,
      "shop",
      "SELECT min(oid)::int AS oid FROM pg_largeobject_metadata",
    );
    await sql(pg, "shop", "SELECT setval('sales.invoice_no', 5000)");
    await sql(pg, "shop", `SELECT lo_unlink(${oid})`);
    await sql(pg, "shop", "REFRESH MATERIALIZED VIEW sales.empty_report");
    try {
      const live = await runOps(drillArgs("r1", ["--compare-live"]), stepEnv(pg, s3, "shop"));
      assert.equal(live.code, 1, live.stderr);
      assert.match(
        reason(live),
        /differs from the live database shop in 1 sequence\(s\): sales\.invoice_no; in its large objects \(2 in the source, 3 restored\); in 1 materialized view\(s\): sales\.empty_report \(populated or not\)/,
      );
      const report = live.json as unknown as RestoreReport;
      assert.deepEqual(
        report.sequences?.filter((sequence) => !sequence.match),
        [{ sequence: "sales.invoice_no", source: "5000", restored: "1004", match: false }],
      );
      assert.deepEqual(await databasesLike(pg, "shop_drill_"), []);
    } finally {
      await sql(pg, "shop", "SELECT setval('sales.invoice_no', 1004)");
      await sql(pg, "shop", `SELECT lo_from_bytea(${oid}, convert_to('large object 1', 'UTF8'))`);
      await sql(pg, "shop", "REFRESH MATERIALIZED VIEW sales.empty_report WITH NO DATA");
    }
  });

  it("a materialized view stale in the source: the drill matches and its report says why the view's rows differ", async () => {
    await sql(pg, "shop", "UPDATE sales.orders SET total = total + 1 WHERE id = 7");
    try {
      const backup = await runOps(backupArgs("r6"), stepEnv(pg, s3, "shop"));
      assert.equal(backup.code, 0, backup.stderr);
      const drill = await runOps(drillArgs("r6"), stepEnv(pg, s3, "shop"));
      assert.equal(drill.code, 0, drill.stderr);
      const report = drill.json as unknown as RestoreReport;
      const totals = report.materializedViews?.find((view) => view.view === "sales.customer_totals");
      assert.deepEqual([totals?.match, totals?.contentMatch], [true, false]);
      assert.equal(report.notes.length, 1);
      assert.match(report.notes[0], /materialized view sales\.customer_totals: .*the source's was stale/);
      assert.match(drill.stderr, /the source's was stale/);
    } finally {
      await sql(pg, "shop", "UPDATE sales.orders SET total = total - 1 WHERE id = 7");
    }
  });

  it("refuses a real restore without --confirm (exit 2) or without a target, and changes nothing", async () => {
    const before = await sql(pg, "shop", "SELECT count(*)::int AS n FROM customers");
    const unconfirmed = await runOps(restoreArgs("r1", ["--target-db", "shop"]), stepEnv(pg, s3, "shop"));
    assert.equal(unconfirmed.code, 2);
    assert.match(reason(unconfirmed), /refusing to replace database shop without --confirm/);
    const untargeted = await runOps(restoreArgs("r1", ["--confirm"]), stepEnv(pg, s3, "shop"));
    assert.equal(untargeted.code, 2);
    assert.match(reason(untargeted), /give --drill to rehearse, or --target-db <database> --confirm/);
    assert.deepEqual(await sql(pg, "shop", "SELECT count(*)::int AS n FROM customers"), before);
    assert.deepEqual(await databasesLike(pg, "shop_"), []);
  });

  it("not enough free disk for the download: refuses before creating anything", async () => {
    const run = await runOps(drillArgs("r1", ["--min-free-disk-percent", "99"]), stepEnv(pg, s3, "shop"));
    assert.equal(run.code, 1);
    assert.match(reason(run), /not enough free disk in .* for downloading db\/local\/r1\//);
    assert.deepEqual(await databasesLike(pg, "shop_"), []);
  });

  it("not enough free disk on a small file system: the refusal gives sizes in fitting units", async function () {
    const small = await needService(this, "a 50 MB tmpfs (mount needs root)", async () =>
      mountTmpfs(50, spool),
    );
    try {
      const run = await runOps(
        restoreArgs("r1", ["--drill", "--spool-dir", small.dir, "--min-free-disk-percent", "99"]),
        stepEnv(pg, s3, "shop"),
      );
      assert.equal(run.code, 1);
      assert.match(
        reason(run),
        /: [\d.]+ (kB|MB) would leave 9\d\.\d % of 52 MB free, the rule is ≥ 99 %/,
        "50 MiB is 52 MB, not 0.1 GB",
      );
      assert.deepEqual(fs.readdirSync(small.dir), []);
    } finally {
      small.unmount();
    }
  });

  it("database unreachable or password wrong: refuses before downloading the dump", async () => {
    const run = await runOps(backupArgs("r2"), stepEnv(pg, s3, "shop"));
    assert.equal(run.code, 0, run.stderr);
    const manifest = run.json as unknown as BackupManifest;
    // A damaged object is only noticed once downloaded: refusing for the database proves no download ran.
    await flipMiddleByte(s3, manifest.dumpKey);
    try {
      const wrongPassword = await runOps(
        drillArgs("r2"),
        stepEnv(pg, s3, "shop", { PGPASSWORD: "not-the-password" }),
      );
      assert.equal(wrongPassword.code, 1, wrongPassword.stderr);
      assert.match(reason(wrongPassword), /rejected the password of postgres .*fix PGPASSWORD/);
      const closedPort = await runOps(
        restoreArgs("r2", ["--target-db", "shop", "--confirm", "--spool-dir", spool]),
        stepEnv(pg, s3, "shop", { PGPORT: "1" }),
      );
      assert.equal(closedPort.code, 1, closedPort.stderr);
      assert.match(reason(closedPort), /PostgreSQL at postgres@127\.0\.0\.1:1\/\S+ refused the connection/);
      for (const run of [wrongPassword, closedPort]) assert.doesNotMatch(run.stderr, /sha256|download/);
      assert.deepEqual(fs.readdirSync(spool), []);
    } finally {
      await flipMiddleByte(s3, manifest.dumpKey);
    }
  });

  it("a real restore into a database other than the one backed up needs --allow-other-database", async () => {
    const args = ["--target-db", "shop_copy", "--confirm", "--spool-dir", spool];
    const refused = await runOps(restoreArgs("r1", args), stepEnv(pg, s3, "shop_copy"));
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(
      reason(refused),
      /^restore: backup db\/local\/r1\/\S+\.dump is of database shop, not of shop_copy: add --allow-other-database to restore it there/,
    );
    assert.deepEqual(await databasesLike(pg, "shop_copy"), []);
    assert.deepEqual(fs.readdirSync(spool), []);

    const allowed = await runOps(
      restoreArgs("r1", [...args, "--allow-other-database"]),
      stepEnv(pg, s3, "shop_copy"),
    );
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.equal((allowed.json as unknown as RestoreReport).previousDatabase, null);
    assert.deepEqual(await sql(pg, "shop_copy", "SELECT count(*)::int AS n FROM sales.orders"), [
      { n: 30000 },
    ]);
    await pg.query("DROP DATABASE shop_copy");
  });

  it("a real restore into a database of the same name on another server needs --allow-other-database", async () => {
    const other = await startPostgres();
    try {
      await other.query("CREATE DATABASE shop");
      const [{ id }] = await other.query<{ id: string }>(
        "SELECT system_identifier::text AS id FROM pg_control_system()",
      );
      const args = ["--target-db", "shop", "--confirm", "--spool-dir", spool];
      const refused = await runOps(restoreArgs("r1", args), stepEnv(other, s3, "shop"));
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(
        reason(refused),
        new RegExp(
          `is of database shop on server \\d+, not on this server \\(${id}\\): add --allow-other-database`,
        ),
      );
      assert.deepEqual(await databasesLike(other, "shop_"), []);
      const allowed = await runOps(
        restoreArgs("r1", [...args, "--allow-other-database"]),
        stepEnv(other, s3, "shop"),
      );
      assert.equal(allowed.code, 0, allowed.stderr);
      assert.deepEqual(await sql(other, "shop", "SELECT count(*)::int AS n FROM sales.orders"), [
        { n: 30000 },
      ]);
    } finally {
      await other.stop();
    }
  });

  it("restores an older backup given by --key", async () => {
    await sql(pg, "shop", "CREATE TABLE notes AS SELECT g AS id FROM generate_series(1, 10) g");
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const first = await runOps(backupArgs("r3"), stepEnv(pg, s3, "shop"));
    assert.equal(first.code, 0, first.stderr);
    await sql(pg, "shop", "INSERT INTO notes SELECT g FROM generate_series(11, 25) g");
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const second = await runOps(backupArgs("r3"), stepEnv(pg, s3, "shop"));
    assert.equal(second.code, 0, second.stderr);
    const older = first.json as unknown as BackupManifest;

    const byKey = await runOps(drillArgs("r3", ["--key", older.dumpKey]), stepEnv(pg, s3, "shop"));
    assert.equal(byKey.code, 0, byKey.stderr);
    const notes = (byKey.json as unknown as RestoreReport).tables.find(
      (table) => table.table === "public.notes",
    );
    assert.equal(notes?.restoredRows, 10);
    const newest = await runOps(drillArgs("r3"), stepEnv(pg, s3, "shop"));
    assert.equal(
      (newest.json as unknown as RestoreReport).dumpKey,
      (second.json as unknown as BackupManifest).dumpKey,
    );
    await sql(pg, "shop", "DROP TABLE notes");
  });

  it("object corrupted after upload: checksum mismatch refuses the drill and the restore before anything is restored, and leaves nothing behind", async () => {
    const run = await runOps(backupArgs("r4"), stepEnv(pg, s3, "shop"));
    assert.equal(run.code, 0, run.stderr);
    const manifest = run.json as unknown as BackupManifest;
    await flipMiddleByte(s3, manifest.dumpKey);

    const drill = await runOps(drillArgs("r4"), stepEnv(pg, s3, "shop"));
    assert.equal(drill.code, 3);
    assert.match(reason(drill), /does not match its manifest .* the object changed after the backup/);
    const real = await runOps(
      restoreArgs("r4", ["--target-db", "shop", "--confirm", "--spool-dir", spool]),
      stepEnv(pg, s3, "shop"),
    );
    assert.equal(real.code, 3);
    assert.deepEqual(await databasesLike(pg, "shop_"), []);
    assert.deepEqual(fs.readdirSync(spool), []);
  });

  it("real restore: swaps the backup in, keeps the old database, carries over the database's grants and settings", async () => {
    await pg.query("CREATE ROLE shop_app LOGIN PASSWORD 'app'");
    await pg.query("REVOKE CONNECT, TEMPORARY ON DATABASE shop FROM PUBLIC");
    await pg.query("GRANT CONNECT ON DATABASE shop TO shop_app");
    await pg.query("ALTER DATABASE shop SET work_mem = '8MB'");
    const backup = await runOps(backupArgs("r5"), stepEnv(pg, s3, "shop"));
    assert.equal(backup.code, 0, backup.stderr);
    const expected = await sql(pg, "shop", "SELECT count(*)::int AS n FROM sales.orders");

    await sql(pg, "shop", "DELETE FROM sales.orders WHERE id > 100");
    await sql(pg, "shop", "CREATE TABLE junk (id int)");
    const client = await adminClient(pg, "shop");
    client.on("error", () => undefined);
    try {
      const run = await runOps(
        restoreArgs("r5", ["--target-db", "shop", "--confirm", "--spool-dir", spool]),
        stepEnv(pg, s3, "shop"),
      );
      assert.equal(run.code, 0, run.stderr);
      const report = run.json as unknown as RestoreReport;
      assert.equal(report.mode, "restore");
      assert.equal(report.matched, true);
      assert.match(report.previousDatabase ?? "", /^shop_before_\d{8}t\d{6}z$/);

      assert.deepEqual(await sql(pg, "shop", "SELECT count(*)::int AS n FROM sales.orders"), expected);
      assert.equal((await sql(pg, "shop", "SELECT to_regclass('junk') AS t"))[0].t, null);
      const kept = report.previousDatabase as string;
      assert.equal(
        (await sql(pg, kept, "SELECT count(*)::int AS n FROM sales.orders"))[0].n,
        100,
        "the old data is kept",
      );
      const privileges = await pg.query<{ app: boolean; everyone: boolean }>(
        "SELECT has_database_privilege('shop_app', 'shop', 'CONNECT') AS app, has_database_privilege('public', 'shop', 'CONNECT') AS everyone",
      );
      assert.deepEqual(privileges[0], { app: true, everyone: false });
      const settings = await pg.query<{ setconfig: string[] }>(
        "SELECT setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = 'shop'",
      );
      assert.deepEqual(settings[0]?.setconfig, ["work_mem=8MB"]);
      await assert.rejects(client.query("SELECT 1"), "the open session on the replaced database was ended");
      await pg.query(`DROP DATABASE ${kept}`);
    } finally {
      await client.end().catch(() => undefined);
    }
  });
});
