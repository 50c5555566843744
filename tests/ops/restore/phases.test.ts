// Each phase of restore() on its own, against PostgreSQL 15 and an S3-compatible server: the checks,
// the download, the archive's table of contents, pg_restore with checksums as tables land, the
// comparison, and the hand-over of a rehearsal copy.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { BackupManifest } from "../../../ops/lib/manifest";
import { connect, pgBinary } from "../../../ops/lib/postgres";
import { s3Client, s3Settings } from "../../../ops/lib/s3";
import { StepError } from "../../../ops/lib/step";
import { Stop } from "../../../ops/lib/stop";
import { checkArchive, checkTarget } from "../../../ops/restore/checks";
import { createDatabaseLike } from "../../../ops/restore/database";
import { downloadDump } from "../../../ops/restore/download";
import {
  dropLeftoverCopies,
  handOverForRehearsal,
  rehearsalCopies,
  rehearsalMarker,
} from "../../../ops/restore/handover";
import { restoreInto } from "../../../ops/restore/pg-restore";
import { compareRestored, manifestMethods } from "../../../ops/restore/summary";
import { PgCluster, startPostgres } from "../../support/postgres";
import { S3Server, startS3 } from "../../support/s3";
import { needService } from "../../support/service";
import { BUCKET, backupArgs, databasesLike, flipMiddleByte, runOps, sql, stepEnv } from "../support/data";

async function rejection(promise: Promise<unknown>): Promise<StepError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof StepError, String(error));
    return error;
  }
  assert.fail("expected the phase to refuse");
}

describe("restore phases, each on its own (PostgreSQL 15, S3-compatible server)", function () {
  this.timeout(300_000);
  let pg: PgCluster;
  let s3: S3Server;
  let manifest: BackupManifest;
  let admin: Client;
  let env: NodeJS.ProcessEnv;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-phases-test-"));
  const file = path.join(work, "dump");
  const stop = new Stop();

  before(async function () {
    pg = await needService(this, "PostgreSQL 15", startPostgres);
    s3 = await needService(this, "S3-compatible server", () => startS3());
    await s3.createBucket(BUCKET);
    await pg.query("CREATE DATABASE shop");
    await pg.query("CREATE ROLE shop_owner");
    await pg.query("ALTER DATABASE shop OWNER TO shop_owner");
    await sql(
      pg,
      "shop",
      `CREATE TABLE orders (id int PRIMARY KEY, customer text NOT NULL);
       INSERT INTO orders SELECT g, 'c' || g FROM generate_series(1, 3000) g;
       CREATE TABLE notes (line text); INSERT INTO notes VALUES ('a'), ('b');
       ALTER TABLE orders OWNER TO shop_owner;`,
    );
    env = stepEnv(pg, s3, "shop");
    const run = await runOps(backupArgs("p1"), env);
    assert.equal(run.code, 0, run.stderr);
    manifest = run.json as unknown as BackupManifest;
    admin = await connect(env, "postgres", "phases-test");
  });
  after(async () => {
    await admin?.end();
    await s3?.stop();
    await pg?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  const settings = () => s3Settings(env);
  const download = () =>
    downloadDump({
      client: s3Client(settings()),
      settings: settings(),
      bucket: BUCKET,
      manifest,
      file,
      progressSeconds: 0,
      stop,
      step: "test",
    });

  it("checks: a real restore into another database is refused without --allow-other-database; so is a download past the free-disk rule", async () => {
    const other = await rejection(
      checkTarget(admin, manifest, {
        targetDb: "billing",
        allowOtherDatabase: false,
        spoolDir: work,
        minFreeDiskPercent: 0,
      }),
    );
    assert.equal(other.exitCode, 2);
    assert.match(other.message, /is of database shop.*add --allow-other-database/);
    await checkTarget(admin, manifest, {
      targetDb: "billing",
      allowOtherDatabase: true,
      spoolDir: work,
      minFreeDiskPercent: 0,
    });
    await checkTarget(admin, manifest, { allowOtherDatabase: false, spoolDir: work, minFreeDiskPercent: 0 });
    const disk = await rejection(
      checkTarget(admin, manifest, { allowOtherDatabase: false, spoolDir: work, minFreeDiskPercent: 99 }),
    );
    assert.match(disk.message, /free/);
  });

  it("download: the dump lands with the manifest's sha256; a changed object is refused with exit 3", async () => {
    assert.deepEqual(await download(), { bytes: manifest.bytes });
    assert.equal(fs.statSync(file).size, manifest.bytes);
    await flipMiddleByte(s3, manifest.dumpKey);
    try {
      const refused = await rejection(download());
      assert.equal(refused.exitCode, 3);
      assert.match(refused.message, /sha256/);
    } finally {
      await flipMiddleByte(s3, manifest.dumpKey);
    }
    await download();
  });

  it("checks: the archive's table of contents lists every table; a cut archive is unreadable", async () => {
    const items = await checkArchive(pgBinary("pg_restore", env), file, manifest, env, stop);
    assert.deepEqual([...items.values()].map((table) => `${table.schema}.${table.name}`).sort(), [
      "public.notes",
      "public.orders",
    ]);
    const cut = path.join(work, "cut");
    fs.writeFileSync(cut, fs.readFileSync(file).subarray(0, 100));
    const refused = await rejection(checkArchive(pgBinary("pg_restore", env), cut, manifest, env, stop));
    assert.match(refused.message, /the archive is unreadable/);
  });

  it("restore and compare: tables are checksummed as they land and match the snapshot; a changed row is named", async () => {
    const items = await checkArchive(pgBinary("pg_restore", env), file, manifest, env, stop);
    await createDatabaseLike(admin, "phase_copy", "shop");
    try {
      const restored = await restoreInto({
        pgRestore: pgBinary("pg_restore", env),
        file,
        database: "phase_copy",
        jobs: 2,
        withOwnersAndGrants: true,
        env,
        admin,
        stop,
        items,
        methods: manifestMethods(manifest),
        progressSeconds: 0,
        step: "test",
      });
      assert.deepEqual([...restored.known.keys()].sort(), ["public.notes", "public.orders"]);
      const matched = await compareRestored({
        env,
        manifest,
        database: "phase_copy",
        jobs: 2,
        known: restored.known,
      });
      await restored.end();
      assert.equal(matched.matched, true);
      assert.deepEqual(
        await sql(pg, "phase_copy", "SELECT tableowner FROM pg_tables WHERE tablename = 'orders'"),
        [{ tableowner: "shop_owner" }],
      );
      await sql(pg, "phase_copy", "UPDATE orders SET customer = 'changed' WHERE id = 7");
      const differs = await compareRestored({ env, manifest, database: "phase_copy", jobs: 1 });
      assert.equal(differs.matched, false);
      assert.deepEqual(differs.differences, ["1 table(s): public.orders"]);
    } finally {
      await sql(pg, "postgres", "DROP DATABASE IF EXISTS phase_copy WITH (FORCE)");
    }
  });

  it("hand-over: the copy gets the source's owner and a marker; a later drill or rehearsal finds and drops it", async () => {
    const at = new Date("2026-12-07T10:00:00Z");
    await createDatabaseLike(admin, "shop_rehearse_20261207t100000z", "shop");
    const marker = rehearsalMarker("shop", "local", "p1", at);
    await handOverForRehearsal(admin, "shop_rehearse_20261207t100000z", "shop", marker);
    const [row] = await sql<{ owner: string; comment: string }>(
      pg,
      "postgres",
      "SELECT pg_get_userbyid(datdba) AS owner, shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = 'shop_rehearse_20261207t100000z'",
    );
    assert.deepEqual(row, { owner: "shop_owner", comment: marker });
    assert.deepEqual(await rehearsalCopies(admin, "shop", "local"), ["shop_rehearse_20261207t100000z"]);
    assert.deepEqual(
      await rehearsalCopies(admin, "shop", "staging"),
      [],
      "another stack's copies are not this one's",
    );
    assert.deepEqual(await dropLeftoverCopies(admin, "shop", "local", "shop_rehearse_20261207t100000z"), []);
    assert.deepEqual(await dropLeftoverCopies(admin, "shop", "local"), ["shop_rehearse_20261207t100000z"]);
    assert.deepEqual(await databasesLike(pg, "shop_rehearse_"), []);
  });
});
