import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { checkSize } from "../../../ops/backup";
import { formatBytes, freeAfterPercent } from "../../../ops/lib/disk";
import { BackupManifest, newestFirst } from "../../../ops/lib/manifest";
import { tableDataEntries } from "../../../ops/lib/postgres/archive";
import { formatRate } from "../../../ops/lib/stream";
import { PgCluster, startPostgres } from "../../support/postgres";
import { S3Server, startS3 } from "../../support/s3";
import { needService } from "../../support/service";
import {
  BUCKET,
  PREFIX,
  STACK,
  backupArgs,
  getObject,
  listKeys,
  openUploads,
  reason,
  restartKilled,
  runOps,
  sha256,
  sql,
  startOps,
  stepEnv,
  truncatingPgDump,
} from "../support/data";

const SHOP_SCHEMA = `
CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, profile json);
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int REFERENCES customers, total numeric(10, 2), tags text[],
                     created_at timestamptz NOT NULL DEFAULT '2026-01-01');
INSERT INTO customers (name, profile) SELECT 'customer ' || g, json_build_object('tier', g % 3) FROM generate_series(1, 2000) g;
INSERT INTO orders (customer_id, total, tags) SELECT 1 + g % 2000, g * 1.25, ARRAY['a' || g % 5] FROM generate_series(1, 20000) g;
`;

function manifestOf(value: unknown): BackupManifest {
  return value as BackupManifest;
}

describe("backup step: pure parts", () => {
  it("judges size against the previous backup of the database", () => {
    const previous = { bytes: 1000, dumpKey: "db/local/v1/20261123T100000Z.dump" } as BackupManifest;
    assert.match(checkSize(150, previous, 0.1), /15 % of the previous backup/);
    assert.throws(
      () => checkSize(99, previous, 0.1),
      /9\.9 % of the previous backup .* below the 10 % plausibility floor/,
    );
    assert.match(checkSize(99, previous, 0), /no previous backup to compare/);
    assert.throws(() => checkSize(0, undefined, 0.1), /empty archive/);
  });

  it("counts TABLE DATA entries of a pg_restore --list", () => {
    const listing = [
      ";",
      "215; 1259 16386 TABLE public orders postgres",
      "3352; 0 16386 TABLE DATA public orders postgres",
      "3354; 0 16396 TABLE DATA public events postgres",
      "3360; 0 0 SEQUENCE SET public orders_id_seq postgres",
    ].join("\n");
    assert.equal(tableDataEntries(listing), 2);
  });

  it("sorts manifests newest first and ignores dumps and foreign keys", () => {
    assert.deepEqual(
      newestFirst([
        "db/local/v1/20261123T100000Z.manifest.json",
        "db/local/v2/20261124T090000Z.manifest.json",
        "db/local/v2/20261124T090000Z.dump",
        "db/local/v1/notes.txt",
      ]),
      ["db/local/v2/20261124T090000Z.manifest.json", "db/local/v1/20261123T100000Z.manifest.json"],
    );
  });

  it("computes the free share left after a write and formats rates", () => {
    assert.equal(freeAfterPercent({ freeBytes: 300, totalBytes: 1000 }, 100), 20);
    assert.equal(formatRate({ bytes: 20e6, startedAt: 0 }, 4000), "20.0 MB in 4 s (5.0 MB/s)");
    assert.deepEqual([800, 52_428_800, 999_600, 1.4e9, 252e9, 3.2e12].map(formatBytes), [
      "800 bytes",
      "52 MB",
      "1.0 MB",
      "1.4 GB",
      "252 GB",
      "3.2 TB",
    ]);
  });
});

describe("backup step on PostgreSQL 15 and an S3-compatible server", function () {
  this.timeout(300_000);
  let pg: PgCluster;
  let s3: S3Server;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-backup-test-"));

  before(async function () {
    pg = await needService(this, "PostgreSQL 15", startPostgres);
    s3 = await needService(this, "S3-compatible server", () => startS3());
    await s3.createBucket(BUCKET);
    await pg.query("CREATE DATABASE shop");
    await sql(pg, "shop", SHOP_SCHEMA);
  });
  after(async () => {
    await s3?.stop();
    await pg?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  /** No manifest and no dump of the release in the bucket, and no migration can find one. */
  async function assertNothingFor(release: string): Promise<void> {
    assert.deepEqual(await listKeys(s3, `${PREFIX}/${STACK}/${release}/`), []);
    assert.deepEqual(await openUploads(s3), [], "no multipart upload left open");
    const migrate = await runOps(
      [
        "migrate",
        ...["--bucket", BUCKET, "--prefix", PREFIX, "--stack", STACK, "--release", release],
        ...["--image", "greenlight-sample:v2", "--command-json", '["node","/app/migrate.js"]'],
      ],
      stepEnv(pg, s3, "shop", { DATABASE_URL: pg.url("shop") }),
    );
    assert.equal(migrate.code, 3, migrate.stderr);
    assert.match(reason(migrate), new RegExp(`no backup of release ${release}`));
    const recorded = await sql(pg, "shop", "SELECT to_regclass('greenlight.migrations') AS t");
    assert.equal(recorded[0].t, null, "the migration never started, so it recorded nothing");
  }

  it("streams a verified dump and a manifest whose size and sha256 match the stored object", async () => {
    const run = await runOps(backupArgs("v1"), stepEnv(pg, s3, "shop"));
    assert.equal(run.code, 0, run.stderr);
    const manifest = manifestOf(run.json);
    assert.match(manifest.dumpKey, /^db\/local\/v1\/\d{8}T\d{6}Z\.dump$/);
    const keys = await listKeys(s3, `${PREFIX}/${STACK}/v1/`);
    assert.deepEqual(keys, [manifest.dumpKey, manifest.dumpKey.replace(/\.dump$/, ".manifest.json")]);
    const dump = await getObject(s3, manifest.dumpKey);
    assert.equal(dump.length, manifest.bytes);
    assert.equal(sha256(dump), manifest.sha256);
    const stored = JSON.parse((await getObject(s3, keys[1])).toString()) as BackupManifest;
    assert.deepEqual(stored, manifest, "stdout is the manifest that sits beside the dump");
    assert.equal(manifest.verified, true);
    assert.equal(manifest.database, "shop");
    const [identity] = await pg.query<{ id: string; oid: number }>(
      "SELECT (SELECT system_identifier::text FROM pg_control_system()) AS id, oid::int AS oid FROM pg_database WHERE datname = 'shop'",
    );
    assert.equal(manifest.systemIdentifier, identity.id, "the manifest names the server");
    assert.equal(manifest.databaseOid, identity.oid, "and the database");
    assert.equal(manifest.tableCount, 2);
    assert.match(manifest.serverVersion, /^15\./);
    assert.deepEqual(
      manifest.tables.map((table) => [table.name, table.rows, table.method]),
      [
        ["customers", 2000, "text"],
        ["orders", 20000, "record"],
      ],
      "row counts from the snapshot; json has no hash function, so its table is hashed as text",
    );
    assert.deepEqual(
      manifest.sequences?.map((sequence) => [
        sequence.name,
        sequence.lastValue,
        sequence.isCalled,
        sequence.after,
      ]),
      [
        ["customers_id_seq", "2000", true, undefined],
        ["orders_id_seq", "20000", true, undefined],
      ],
      "a quiet database's sequences stood still while pg_dump read them",
    );
    assert.deepEqual(manifest.largeObjects, { count: 0, checksum: "0" });
    assert.deepEqual(manifest.materializedViews, []);
    assert.ok(manifest.checks.some((check) => /pg_restore read the whole archive/.test(check)));
    assert.ok(Date.parse(manifest.finishedAt) >= Date.parse(manifest.startedAt));
    const file = path.join(work, "v1.dump");
    fs.writeFileSync(file, dump);
    const listing = execFileSync("pg_restore", ["--list", file], { encoding: "utf8" });
    assert.equal(tableDataEntries(listing), 2);
  });

  it("spools through a temporary file when asked, and removes it", async () => {
    const spool = path.join(work, "spool");
    fs.mkdirSync(spool);
    const run = await runOps(
      backupArgs("v1-spool", ["--spool-dir", spool, "--min-free-disk-percent", "1"]),
      stepEnv(pg, s3, "shop"),
    );
    assert.equal(run.code, 0, run.stderr);
    const manifest = manifestOf(run.json);
    assert.equal(sha256(await getObject(s3, manifest.dumpKey)), manifest.sha256);
    assert.deepEqual(fs.readdirSync(spool), []);
  });

  it("database unreachable: fails naming PGHOST/PGPORT, writes nothing", async () => {
    const run = await runOps(backupArgs("v2-unreachable"), stepEnv(pg, s3, "shop", { PGPORT: "1" }));
    assert.equal(run.code, 1);
    assert.match(reason(run), /^backup: PostgreSQL at postgres@127\.0\.0\.1:1\/shop refused the connection/);
    await assertNothingFor("v2-unreachable");
  });

  it("wrong password: fails naming PGPASSWORD, writes nothing", async () => {
    const run = await runOps(
      backupArgs("v2-password"),
      stepEnv(pg, s3, "shop", { PGPASSWORD: "not-the-password" }),
    );
    assert.equal(run.code, 1);
    assert.match(reason(run), /rejected the password of postgres .*fix PGPASSWORD/);
    assert.doesNotMatch(run.stderr, /not-the-password/);
    await assertNothingFor("v2-password");
  });

  it("bucket missing: fails naming the bucket, before the database does any work", async () => {
    const args = backupArgs("v2-nobucket").map((arg) => (arg === BUCKET ? "no-such-bucket" : arg));
    const run = await runOps(args, stepEnv(pg, s3, "shop"));
    assert.equal(run.code, 1);
    assert.match(reason(run), /bucket s3:\/\/no-such-bucket at http:\/\/127\.0\.0\.1:\d+ does not exist/);
    await assertNothingFor("v2-nobucket");
  });

  it("S3 server down: fails naming the endpoint; after it is back nothing is there", async () => {
    await s3.stop({ keepDirectory: true });
    try {
      const run = await runOps(backupArgs("v2-s3down"), stepEnv(pg, s3, "shop"));
      assert.equal(run.code, 1);
      assert.match(reason(run), /S3 endpoint .* is unreachable/);
    } finally {
      s3 = await startS3({ port: s3.port, directory: s3.directory });
    }
    await assertNothingFor("v2-s3down");
  });

  it("truncated dump that pg_restore --list still accepts: the full read refuses it, nothing is kept", async () => {
    const env = stepEnv(pg, s3, "shop", {
      PATH: `${truncatingPgDump(path.join(work, "cut60"), "percent60")}:${process.env.PATH}`,
    });
    const run = await runOps(backupArgs("v2-truncated"), env);
    assert.equal(run.code, 1, run.stderr);
    assert.match(reason(run), /pg_restore could not read the whole archive .*truncated or corrupt/);
    assert.match(
      reason(run),
      /\((nothing was written to the bucket|the partial upload was aborted; no manifest was written)\)$/,
    );
    await assertNothingFor("v2-truncated");
  });

  it("dump cut inside its table of contents: pg_restore --list fails, nothing is kept", async () => {
    const env = stepEnv(pg, s3, "shop", {
      PATH: `${truncatingPgDump(path.join(work, "cut100"), "bytes100")}:${process.env.PATH}`,
    });
    const run = await runOps(backupArgs("v2-toc"), env);
    assert.equal(run.code, 1, run.stderr);
    assert.match(reason(run), /pg_restore (could not read the whole archive|--list failed)/);
    await assertNothingFor("v2-toc");
  });

  it("not enough free disk for the spool file: refuses before dumping", async () => {
    const run = await runOps(
      backupArgs("v2-disk", ["--spool-dir", work, "--min-free-disk-percent", "99"]),
      stepEnv(pg, s3, "shop"),
    );
    assert.equal(run.code, 1);
    assert.match(reason(run), /not enough free disk in .* the rule is ≥ 99 %/);
    assert.deepEqual(
      fs.readdirSync(work).filter((name) => name.startsWith("greenlight-backup-")),
      [],
    );
    await assertNothingFor("v2-disk");
  });

  it("a dump far smaller than the database's previous backup is refused", async () => {
    await sql(
      pg,
      "shop",
      "CREATE TABLE ledger AS SELECT g AS id, md5(g::text) AS line FROM generate_series(1, 200000) g",
    );
    const big = await runOps(backupArgs("v3-big"), stepEnv(pg, s3, "shop"));
    assert.equal(big.code, 0, big.stderr);
    await sql(pg, "shop", "DROP TABLE ledger");
    const run = await runOps(backupArgs("v3-shrunk", ["--min-size-ratio", "0.5"]), stepEnv(pg, s3, "shop"));
    assert.equal(run.code, 1, run.stderr + run.stdout);
    assert.match(reason(run), /below the 50 % plausibility floor/);
    await assertNothingFor("v3-shrunk");
    const forced = await runOps(backupArgs("v3-shrunk", ["--min-size-ratio", "0"]), stepEnv(pg, s3, "shop"));
    assert.equal(forced.code, 0, forced.stderr);
  });

  it("the size floor compares with earlier backups of the same database on the same server only", async () => {
    const here = await runOps(backupArgs("v3-this-server"), stepEnv(pg, s3, "shop"));
    assert.equal(here.code, 0, here.stderr);
    const other = await startPostgres();
    try {
      await other.query("CREATE DATABASE shop");
      const run = await runOps(
        backupArgs("v3-other-server", ["--min-size-ratio", "0.5"]),
        stepEnv(other, s3, "shop"),
      );
      assert.equal(run.code, 0, run.stderr);
      assert.ok(manifestOf(run.json).checks.some((check) => /no previous backup to compare/.test(check)));
    } finally {
      await other.stop();
    }
  });

  it("PostgreSQL killed in the middle of a dump: fails, keeps no part of it, earlier backups stay intact", async function () {
    const big = await startPostgres();
    let stopRestarted: (() => Promise<void>) | undefined;
    try {
      await big.query("CREATE DATABASE shop");
      await sql(
        big,
        "shop",
        "CREATE TABLE events AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) || repeat('x', 40) AS payload FROM generate_series(1, 1500000) g",
      );
      const before = await runOps(backupArgs("v4-before"), stepEnv(big, s3, "shop"));
      assert.equal(before.code, 0, before.stderr);
      const earlier = manifestOf(before.json);

      const running = startOps(backupArgs("v4-killed"), stepEnv(big, s3, "shop"));
      const deadline = Date.now() + 60_000;
      while (!/dump: [1-9][\d.]* MB/.test(running.stderrSoFar())) {
        if (Date.now() > deadline)
          throw new Error(`the dump never reported progress: ${running.stderrSoFar()}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      big.kill();
      const run = await running.done;
      assert.equal(run.code, 1, run.stderr);
      assert.match(reason(run), /pg_dump failed|checksums in the dump's snapshot failed|connection/i);
      assert.match(
        run.stderr,
        /\[backup\] dump: [\d.]+ MB in \d+ s \([\d.]+ MB\/s\)/,
        "progress lines on stderr",
      );
      assert.deepEqual(await listKeys(s3, `${PREFIX}/${STACK}/v4-killed/`), []);
      assert.equal(
        sha256(await getObject(s3, earlier.dumpKey)),
        earlier.sha256,
        "the earlier backup is intact",
      );

      stopRestarted = await restartKilled(big);
      const rows = await sql<{ n: string }>(big, "shop", "SELECT count(*)::text AS n FROM events");
      assert.equal(rows[0].n, "1500000", "the database lost nothing");
      const migrate = await runOps(
        [
          "migrate",
          ...["--bucket", BUCKET, "--prefix", PREFIX, "--stack", STACK, "--release", "v4-killed"],
          ...["--image", "greenlight-sample:v2", "--command-json", '["node","/app/migrate.js"]'],
        ],
        stepEnv(big, s3, "shop", { DATABASE_URL: big.url("shop") }),
      );
      assert.equal(migrate.code, 3);
      assert.equal((await sql(big, "shop", "SELECT to_regclass('greenlight.migrations') AS t"))[0].t, null);
    } finally {
      await stopRestarted?.();
      await big.stop();
    }
  });
});
