import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PgCluster, startPostgres } from "../../support/postgres";
import { S3Server, startS3 } from "../../support/s3";
import { needService } from "../../support/service";
import {
  BUCKET,
  OpsProcess,
  alive,
  childrenOf,
  PREFIX,
  STACK,
  backupArgs,
  databasesLike,
  listKeys,
  locationArgs,
  openUploads,
  reason,
  runOps,
  sql,
  startOps,
  stepEnv,
} from "../support/data";

// A cancelled `pulumi up`, a CI timeout or Ctrl-C sends the data steps SIGTERM or SIGINT. Each step
// must stop its children, remove what it created and exit 130/143 with one line: no scratch
// database, no spool file, no open multipart upload, no pg_dump or pg_restore left running.

/** Waits until the step's stderr matches, so the signal lands in the middle of the work. */
async function waitFor(running: OpsProcess, pattern: RegExp, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(running.stderrSoFar())) {
    if (Date.now() > deadline) throw new Error(`no ${pattern} on stderr: ${running.stderrSoFar()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The server's sessions of the steps and their tools, once the ones ending have ended (up to 10 s). */
async function stepSessions(pg: PgCluster): Promise<string[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const rows = await pg.query<{ session: string }>(
      `SELECT coalesce(datname, '-') || ' ' || application_name AS session FROM pg_stat_activity
        WHERE application_name LIKE 'greenlight%' OR application_name IN ('pg_dump', 'pg_restore')`,
    );
    if (rows.length === 0 || Date.now() > deadline) return rows.map((row) => row.session);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Sends the signal, waits for the step to end, and checks the exit code and its one-line reason. */
async function stopWith(running: OpsProcess, signal: "SIGINT" | "SIGTERM", step: string) {
  const pid = running.pid as number;
  const children = childrenOf(pid);
  process.kill(pid, signal);
  const run = await running.done;
  assert.equal(run.code, signal === "SIGINT" ? 130 : 143, run.stderr);
  assert.match(reason(run), new RegExp(`^${step}: stopped by ${signal}; `));
  const lines = run.stderr
    .trim()
    .split("\n")
    .filter((line) => !line.startsWith(`[${step}] `));
  assert.deepEqual(lines, [reason(run)], "one line besides the progress lines");
  assert.equal(run.stdout, "", "no JSON: the step did not succeed");
  assert.deepEqual(children.filter(alive), [], `the step's children (${children.join(", ")}) ended with it`);
  return { run, children };
}

describe("data steps stop cleanly on SIGINT and SIGTERM (PostgreSQL 15, S3-compatible server)", function () {
  this.timeout(600_000);
  let pg: PgCluster;
  let s3: S3Server;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-stop-test-"));

  before(async function () {
    pg = await needService(this, "PostgreSQL 15", startPostgres);
    s3 = await needService(this, "S3-compatible server", () => startS3());
    await s3.createBucket(BUCKET);
    await pg.query("CREATE DATABASE big");
    // Large enough that a dump and a restore each take several seconds on a busy machine.
    await sql(
      pg,
      "big",
      `CREATE TABLE events (id bigint PRIMARY KEY, kind text NOT NULL, payload text NOT NULL);
       INSERT INTO events SELECT g, 'kind-' || g % 7, md5(g::text) || md5((g * 7)::text) || repeat('x', 40)
         FROM generate_series(1, 1200000) g;
       CREATE INDEX events_kind ON events (kind, id);`,
    );
    const backup = await runOps(backupArgs("s1", ["--progress-seconds", "0"]), stepEnv(pg, s3, "big"));
    assert.equal(backup.code, 0, backup.stderr);
  });
  after(async () => {
    await s3?.stop();
    await pg?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it("backup, streamed to S3: SIGTERM mid-dump stops pg_dump and pg_restore, aborts the multipart upload, exits 143", async () => {
    const running = startOps(backupArgs("s-term"), stepEnv(pg, s3, "big"));
    // 20 MB and more: parts of 8 MB are on their way, so a multipart upload is open.
    await waitFor(running, /dump: ([2-9]\d|\d{3,})\.\d MB/);
    const { run, children } = await stopWith(running, "SIGTERM", "backup");
    assert.ok(children.length >= 2, `pg_dump and pg_restore were running: ${children.join(", ")}`);
    assert.match(reason(run), /the partial upload was aborted; no manifest was written$/);
    assert.deepEqual(await listKeys(s3, `${PREFIX}/${STACK}/s-term/`), []);
    assert.deepEqual(await openUploads(s3), [], "no multipart upload left open");
    assert.deepEqual(await stepSessions(pg), []);
  });

  it("backup, spooled: SIGINT mid-dump removes the spool file, exits 130", async () => {
    const spool = fs.mkdtempSync(path.join(work, "spool-"));
    const running = startOps(
      backupArgs("s-int", ["--spool-dir", spool, "--min-free-disk-percent", "1"]),
      stepEnv(pg, s3, "big"),
    );
    await waitFor(running, /dump: [1-9][\d.]* MB/);
    const { run } = await stopWith(running, "SIGINT", "backup");
    assert.match(reason(run), /nothing was written to the bucket; the spool file was removed$/);
    assert.deepEqual(fs.readdirSync(spool), []);
    assert.deepEqual(await listKeys(s3, `${PREFIX}/${STACK}/s-int/`), []);
    assert.deepEqual(await openUploads(s3), []);
    assert.deepEqual(await stepSessions(pg), []);
  });

  it("restore drill: SIGINT during pg_restore drops the scratch database and the download, exits 130", async () => {
    const spool = fs.mkdtempSync(path.join(work, "drill-"));
    const running = startOps(
      ["restore", ...locationArgs("s1"), "--drill", "--spool-dir", spool, "--progress-seconds", "1"],
      stepEnv(pg, s3, "big"),
    );
    await waitFor(running, /pg_restore into big_drill_\S+: [1-9]\d* s/);
    assert.equal((await databasesLike(pg, "big_drill_")).length, 1);
    const { run, children } = await stopWith(running, "SIGINT", "restore");
    assert.ok(children.length >= 1, "pg_restore was running");
    assert.match(reason(run), /dropped big_drill_\S+ and removed the downloaded dump$/);
    assert.deepEqual(await databasesLike(pg, "big_drill_"), []);
    assert.deepEqual(fs.readdirSync(spool), []);
    assert.deepEqual(await stepSessions(pg), []);
  });

  it("real restore: SIGTERM during pg_restore drops <target>_restore_…, leaves the target as it was, exits 143", async () => {
    const spool = fs.mkdtempSync(path.join(work, "restore-"));
    await sql(pg, "big", "DELETE FROM events WHERE id > 1000000");
    const running = startOps(
      [
        ...["restore", ...locationArgs("s1"), "--target-db", "big", "--confirm"],
        ...["--spool-dir", spool, "--progress-seconds", "1"],
      ],
      stepEnv(pg, s3, "big", { PGDATABASE: undefined }),
    );
    await waitFor(running, /pg_restore into big_restore_\S+: [1-9]\d* s/);
    const { run } = await stopWith(running, "SIGTERM", "restore");
    assert.match(
      reason(run),
      /dropped big_restore_\S+ and removed the downloaded dump; big was not touched$/,
    );
    assert.deepEqual(await databasesLike(pg, "big_"), []);
    assert.deepEqual(await sql(pg, "big", "SELECT count(*)::int AS n FROM events"), [{ n: 1000000 }]);
    const [{ datallowconn }] = await pg.query<{ datallowconn: boolean }>(
      "SELECT datallowconn FROM pg_database WHERE datname = 'big'",
    );
    assert.equal(datallowconn, true);
    assert.deepEqual(fs.readdirSync(spool), []);
    assert.deepEqual(await stepSessions(pg), []);
  });
});
