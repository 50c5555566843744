import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BackupManifest } from "../../../ops/lib/manifest";
import { MIGRATION_LOCK, MigrationRecord } from "../../../ops/migrate";
import { backupMismatch } from "../../../ops/lib/postgres/identity";
import { dockerCreateArgs } from "../../../ops/migrate/container";
import { buildSampleImage } from "../../fixtures/app/build";
import { ensureDocker } from "../../support/docker";
import { PgCluster, startPostgres } from "../../support/postgres";
import { S3Server, startS3 } from "../../support/s3";
import { needService } from "../../support/service";
import {
  BUCKET,
  adminClient,
  alive,
  backupArgs,
  childrenOf,
  locationArgs,
  getObject,
  putObject,
  reason,
  runOps,
  schemaShape,
  sql,
  startOps,
  stepEnv,
} from "../support/data";

const MIGRATOR_PASSWORD = "migrator-Secret-4711";

describe("migrate step: pure parts", () => {
  it("runs the command's first word as the entrypoint and passes DATABASE_URL by name only", () => {
    const args = dockerCreateArgs(
      { image: "greenlight-sample:v2", command: ["node", "/app/migrate.js"], network: "host", release: "v2" },
      "greenlight-migrate-v2-1",
    );
    assert.deepEqual(args.slice(args.indexOf("--entrypoint")), [
      "--entrypoint",
      "node",
      "greenlight-sample:v2",
      "/app/migrate.js",
    ]);
    assert.equal(args[args.indexOf("-e") + 1], "DATABASE_URL");
    assert.ok(!args.some((arg) => arg.startsWith("DATABASE_URL=")));
    assert.deepEqual(args.slice(0, 6), [
      "create",
      "--rm",
      "--name",
      "greenlight-migrate-v2-1",
      "--network",
      "host",
    ]);
  });
});

describe("migrate step: which database a backup is of", () => {
  const manifest = { dumpKey: "db/local/v2/20261123T100000Z.dump", database: "shop" };
  const here = { systemIdentifier: "7300000000000000001", database: "shop", databaseOid: 16384 };

  it("accepts a backup of this database on this server", () => {
    assert.equal(
      backupMismatch({ ...manifest, systemIdentifier: here.systemIdentifier, databaseOid: 16384 }, here),
      undefined,
    );
  });

  it("names what differs: the database, the server, or an earlier database of the same name", () => {
    assert.match(
      backupMismatch(
        {
          ...manifest,
          database: "shop_staging",
          systemIdentifier: here.systemIdentifier,
          databaseOid: 16390,
        },
        here,
      ) ?? "",
      /is of database shop_staging, not of shop/,
    );
    assert.match(
      backupMismatch({ ...manifest, systemIdentifier: "7300000000000000999", databaseOid: 16384 }, here) ??
        "",
      /is of database shop on server 7300000000000000999, not on this server \(7300000000000000001\)/,
    );
    assert.match(
      backupMismatch({ ...manifest, systemIdentifier: here.systemIdentifier, databaseOid: 16001 }, here) ??
        "",
      /is of an earlier database named shop \(oid 16001, this one is 16384/,
    );
    assert.match(backupMismatch(manifest, here) ?? "", /does not say which server and database it is of/);
  });
});

describe("migrate step on Docker, PostgreSQL 15 and an S3-compatible server", function () {
  this.timeout(300_000);
  let pg: PgCluster;
  let s3: S3Server;
  const images: Record<string, string> = {};
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-migrate-test-"));
  const argvLog = path.join(work, "docker-argv.log");
  const dockerSpy = path.join(work, "docker");

  before(async function () {
    await needService(this, "Docker", ensureDocker);
    pg = await needService(this, "PostgreSQL 15", startPostgres);
    s3 = await needService(this, "S3-compatible server", () => startS3());
    for (const release of ["v1", "v2", "v5"]) images[release] = buildSampleImage(release).ref;
    // v2 under other references: the same release with another image is a new migration run.
    for (const name of ["again", "twice", "stopped"]) {
      images[name] = `greenlight-sample:v2-${name}-${process.pid}`;
      execFileSync("docker", ["tag", images.v2, images[name]]);
    }
    await s3.createBucket(BUCKET);
    await pg.query("CREATE DATABASE shop");
    await pg.query(`CREATE ROLE shop_migrator LOGIN PASSWORD '${MIGRATOR_PASSWORD}'`);
    await sql(pg, "shop", "ALTER SCHEMA public OWNER TO shop_migrator");
    // Records every docker invocation's argv, then runs the real docker.
    fs.writeFileSync(dockerSpy, `#!/bin/sh\nprintf '%s\\n' "$*" >> ${argvLog}\nexec docker "$@"\n`, {
      mode: 0o755,
    });

    assert.equal((await runOps(backupArgs("v1"), env())).code, 0);
    const v1 = await runOps(migrateArgs("v1"), env());
    assert.equal(v1.code, 0, v1.stderr);
    await sql(
      pg,
      "shop",
      "INSERT INTO orders (customer, total_cents) SELECT 'c' || g, g FROM generate_series(1, 500) g",
    );
  });
  after(async () => {
    await s3?.stop();
    await pg?.stop();
    for (const name of ["again", "twice", "stopped"])
      if (images[name]) spawnSync("docker", ["rmi", images[name]], { stdio: "ignore" });
    fs.rmSync(work, { recursive: true, force: true });
  });

  function env(overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
    return stepEnv(pg, s3, "shop", {
      DATABASE_URL: pg.url("shop", "shop_migrator", MIGRATOR_PASSWORD),
      ...overrides,
    });
  }

  function migrateArgs(
    release: string,
    extra: string[] = [],
    image = images[release.split("-")[0]],
  ): string[] {
    return [
      "migrate",
      ...locationArgs(release),
      ...["--image", image, "--command-json", '["node","/app/migrate.js"]', "--network", "host"],
      ...["--docker", dockerSpy, "--timeout-seconds", "120"],
      ...extra,
    ];
  }

  async function records(): Promise<
    { release: string; outcome: string; error: string | null; started_at: Date; finished_at: Date }[]
  > {
    return sql(
      pg,
      "shop",
      "SELECT release, outcome, error, started_at, finished_at FROM greenlight.migrations ORDER BY id",
    );
  }

  async function appliedVersions(): Promise<number[]> {
    return (
      await sql<{ version: number }>(pg, "shop", "SELECT version FROM schema_migrations ORDER BY 1")
    ).map((row) => row.version);
  }

  it("refuses without a backup of its own release; the migration never starts", async () => {
    const shape = await schemaShape(pg, "shop");
    const run = await runOps(migrateArgs("v2"), env());
    assert.equal(run.code, 3);
    assert.match(
      reason(run),
      /^migrate: no backup of release v2 in s3:\/\/greenlight-backups .* under db\/local\/v2\//,
    );
    assert.deepEqual(await schemaShape(pg, "shop"), shape);
    assert.deepEqual(
      (await records()).map((row) => row.release),
      ["v1"],
    );
  });

  it("object corrupted after upload: the checksum mismatch refuses; the migration never starts", async () => {
    const backup = await runOps(backupArgs("v2"), env());
    assert.equal(backup.code, 0, backup.stderr);
    const manifest = backup.json as unknown as BackupManifest;
    const original = await getObject(s3, manifest.dumpKey);
    await putObject(s3, manifest.dumpKey, original.subarray(0, original.length - 10));
    const shape = await schemaShape(pg, "shop");
    const run = await runOps(migrateArgs("v2"), env());
    assert.equal(run.code, 3);
    assert.match(
      reason(run),
      /does not match its manifest \(stored \d+ bytes .* the object changed after the backup/,
    );
    assert.deepEqual(await schemaShape(pg, "shop"), shape);
    assert.deepEqual(await appliedVersions(), [1]);
    await new Promise((resolve) => setTimeout(resolve, 1100));
  });

  it("applies v2's schema after a verified backup, records the run, and keeps DATABASE_URL out of argv", async () => {
    const backup = await runOps(backupArgs("v2"), env());
    assert.equal(backup.code, 0, backup.stderr);
    const manifest = backup.json as unknown as BackupManifest;
    fs.rmSync(argvLog, { force: true });
    const run = await runOps(migrateArgs("v2"), env());
    assert.equal(run.code, 0, run.stderr);
    const record = run.json as unknown as MigrationRecord;
    assert.equal(record.outcome, "succeeded");
    assert.equal(record.release, "v2");
    assert.equal(record.backupKey, manifest.dumpKey, "the newest backup of its release");
    assert.equal(record.backupSha256, manifest.sha256);
    assert.equal(record.error, null);
    assert.match(run.stderr, /sha256 matches/);

    assert.deepEqual(await appliedVersions(), [1, 2]);
    const columns = await schemaShape(pg, "shop");
    assert.ok(columns.includes("public.orders.status:text"));
    assert.ok(columns.some((column) => column.startsWith("public.order_events.")));
    assert.equal((await sql(pg, "shop", "SELECT count(*)::int AS n FROM orders"))[0].n, 500);
    const last = (await records()).pop();
    assert.equal(last?.release, "v2");
    assert.equal(last?.outcome, "succeeded");
    assert.ok(last && last.finished_at >= last.started_at);

    const argv = fs.readFileSync(argvLog, "utf8");
    assert.match(
      argv,
      /create --rm --name (greenlight-migrate-v2-\d+) --network host .* -e DATABASE_URL --entrypoint node greenlight-sample:v2 \/app\/migrate\.js\nstart --attach \1\n/,
    );
    assert.doesNotMatch(argv, new RegExp(MIGRATOR_PASSWORD));
    assert.doesNotMatch(argv, /postgresql:\/\//);
  });

  it("a release and image already recorded as succeeded: a no-op that prints the existing record", async () => {
    const [stored] = await sql<{ id: string }>(
      pg,
      "shop",
      "SELECT id FROM greenlight.migrations WHERE release = 'v2' AND image = $1 AND outcome = 'succeeded'",
      [images.v2],
    );
    const countBefore = (await records()).length;
    const versionsBefore = await appliedVersions();
    fs.rmSync(argvLog, { force: true });
    const run = await runOps(migrateArgs("v2"), env());
    assert.equal(run.code, 0, run.stderr);
    const record = run.json as unknown as MigrationRecord;
    assert.equal(record.id, Number(stored.id), "the stored record, not a new one");
    assert.equal(record.outcome, "succeeded");
    assert.equal(record.release, "v2");
    assert.equal(record.image, images.v2);
    assert.match(
      run.stderr,
      new RegExp(
        `release v2 with image ${images.v2} already migrated \\(greenlight\\.migrations id ${stored.id}, succeeded`,
      ),
    );
    assert.equal(fs.existsSync(argvLog), false, "no container was started");
    assert.equal((await records()).length, countBefore);
    assert.deepEqual(await appliedVersions(), versionsBefore);
  });

  it("refuses a backup of another database taken for the same stack and release; the migration never starts", async () => {
    await pg.query("CREATE DATABASE shop_other");
    const backup = await runOps(backupArgs("v2-other"), stepEnv(pg, s3, "shop_other"));
    assert.equal(backup.code, 0, backup.stderr);
    const countBefore = (await records()).length;
    const run = await runOps(migrateArgs("v2-other"), env());
    assert.equal(run.code, 3, run.stderr);
    assert.match(
      reason(run),
      /^migrate: backup db\/local\/v2-other\/\S+\.dump is of database shop_other, not of shop: .*take a backup of shop/,
    );
    assert.equal((await records()).length, countBefore);
  });

  it("refuses a backup of a database of the same name on another server", async () => {
    const other = await startPostgres();
    try {
      await other.query("CREATE DATABASE shop");
      const backup = await runOps(backupArgs("v2-server"), stepEnv(other, s3, "shop"));
      assert.equal(backup.code, 0, backup.stderr);
      const [{ id }] = await pg.query<{ id: string }>(
        "SELECT system_identifier::text AS id FROM pg_control_system()",
      );
      const countBefore = (await records()).length;
      const run = await runOps(migrateArgs("v2-server"), env());
      assert.equal(run.code, 3, run.stderr);
      assert.match(
        reason(run),
        new RegExp(`is of database shop on server \\d+, not on this server \\(${id}\\)`),
      );
      assert.equal((await records()).length, countBefore);
    } finally {
      await other.stop();
    }
  });

  it("a failing migration (v5) is recorded as failed and leaves the schema exactly as it was", async () => {
    const backup = await runOps(backupArgs("v5"), env());
    assert.equal(backup.code, 0, backup.stderr);
    const shape = await schemaShape(pg, "shop");
    const run = await runOps(migrateArgs("v5"), env());
    assert.equal(run.code, 1);
    assert.match(
      reason(run),
      /migration of release v5 failed: node \/app\/migrate\.js exited 1: .*no_such_column.*recorded as failed/,
    );
    const record = run.json as unknown as MigrationRecord;
    assert.equal(record.outcome, "failed");
    assert.match(record.error ?? "", /migration failed, rolled back/);
    const last = (await records()).pop();
    assert.equal(last?.outcome, "failed");
    assert.match(last?.error ?? "", /no_such_column/);
    assert.deepEqual(
      await schemaShape(pg, "shop"),
      shape,
      "the sample migrator rolled the whole transaction back",
    );
    assert.deepEqual(await appliedVersions(), [1, 2]);
  });

  it("a failing migration that prints its DATABASE_URL: no secret reaches the step's stdout, stderr or the run's record", async () => {
    const release = "v2-leaks";
    const backup = await runOps(backupArgs(release), env());
    assert.equal(backup.code, 0, backup.stderr);
    // The migration prints the connection string and exits 1: the command provider would put the step's whole
    // stdout and stderr into the update's log (pulumi-command local/commandOutputs.go:113).
    const run = await runOps(
      migrateArgs(release, ["--command-json", '["node","-p","process.exitCode=1,process.env.DATABASE_URL"]']),
      env(),
    );
    assert.equal(run.code, 1);
    for (const [where, text] of [
      ["stdout", run.stdout],
      ["stderr", run.stderr],
    ] as const) {
      assert.ok(!text.includes(MIGRATOR_PASSWORD), `${where} carries the migrator's password`);
      assert.ok(!text.includes(encodeURIComponent(MIGRATOR_PASSWORD)), `${where} carries it URL-encoded`);
    }
    assert.match(run.stderr, /\[migrate\] container: \[secret\]\n/, "the line is there, the URL redacted");
    const last = (await records()).pop();
    assert.equal(last?.outcome, "failed");
    assert.ok(!(last?.error ?? "").includes(MIGRATOR_PASSWORD), "the recorded error carries no secret");
  });

  it("a migration that cannot get the lock within its timeout fails clearly and does not start", async () => {
    const holder = await adminClient(pg, "shop");
    try {
      await holder.query("SET application_name = 'greenlight-test-holder'");
      await holder.query("SELECT pg_advisory_lock($1, $2)", [...MIGRATION_LOCK]);
      const countBefore = (await records()).length;
      const shape = await schemaShape(pg, "shop");
      const run = await runOps(migrateArgs("v2", ["--timeout-seconds", "3"], images.again), env());
      assert.equal(run.code, 4);
      assert.match(
        reason(run),
        /another migration, greenlight-test-holder \(pid \d+, .*\), held the migration lock for the whole timeout .* release v2 did not start/,
      );
      assert.equal((await records()).length, countBefore);
      assert.deepEqual(await schemaShape(pg, "shop"), shape);
    } finally {
      await holder.end();
    }
  });

  it("two migrations at once: the second waits for the advisory lock, then runs", async () => {
    const holder = await adminClient(pg, "shop");
    try {
      await holder.query("SET application_name = 'greenlight-test-holder'");
      await holder.query("SELECT pg_advisory_lock($1, $2)", [...MIGRATION_LOCK]);
      const running = startOps(migrateArgs("v2", [], images.again), env());
      const deadline = Date.now() + 30_000;
      while (!/waiting for the migration lock held by greenlight-test-holder/.test(running.stderrSoFar())) {
        if (Date.now() > deadline) throw new Error(`never waited: ${running.stderrSoFar()}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const countBefore = (await records()).length;
      await holder.query("SELECT pg_advisory_unlock($1, $2)", [...MIGRATION_LOCK]);
      const run = await running.done;
      assert.equal(run.code, 0, run.stderr);
      assert.ok((run.json as unknown as MigrationRecord).lockWaitSeconds >= 1.5);
      assert.equal(
        (await records()).length,
        countBefore + 1,
        "it recorded its run only once it held the lock",
      );
    } finally {
      await holder.end();
    }
  });

  it("SIGTERM while the migration runs: the container is killed and removed, the run recorded as failed, the lock released, exit 143", async () => {
    const countBefore = (await records()).length;
    // The app's server never exits: a stand-in for a long migration.
    const running = startOps(
      migrateArgs("v2", ["--command-json", '["node","/app/app.js"]', "--network", "none"], images.stopped),
      env(),
    );
    const deadline = Date.now() + 60_000;
    while (!/\[migrate\] container: sample app release v2 .*listening/.test(running.stderrSoFar())) {
      if (Date.now() > deadline) throw new Error(`the container never started: ${running.stderrSoFar()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const container = `greenlight-migrate-v2-${running.pid}`;
    const containers = () =>
      execFileSync("docker", ["ps", "-a", "-q", "--filter", `name=^/${container}$`], {
        encoding: "utf8",
      }).trim();
    assert.notEqual(containers(), "", "the container runs");
    const children = childrenOf(running.pid as number);
    process.kill(running.pid as number, "SIGTERM");
    const run = await running.done;
    assert.deepEqual(children.filter(alive), [], "docker run ended with the step");
    assert.equal(run.code, 143, run.stderr);
    assert.match(
      reason(run),
      new RegExp(
        `^migrate: stopped by SIGTERM; the container ${container} was killed and removed; recorded as failed in greenlight\\.migrations \\(id \\d+\\); the migration lock is released$`,
      ),
    );
    assert.equal(run.stdout, "");
    assert.equal(containers(), "", "no container left, running or stopped");
    const runs = (await records()).slice(countBefore);
    assert.deepEqual(
      runs.map((row) => [row.release, row.outcome]),
      [["v2", "failed"]],
    );
    assert.match(runs[0].error ?? "", /stopped by SIGTERM/);
    const locks = await sql(
      pg,
      "shop",
      "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objid = $2",
      [...MIGRATION_LOCK],
    );
    assert.deepEqual(locks, [], "the migration lock is free");
  });

  it("two real runs started together never overlap: one migrates, the other waits for it and then has nothing to do", async () => {
    const countBefore = (await records()).length;
    const [first, second] = await Promise.all([
      runOps(migrateArgs("v2", [], images.twice), env()),
      runOps(migrateArgs("v2", [], images.twice), env()),
    ]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(second.code, 0, second.stderr);
    const runs = (await records()).slice(countBefore);
    assert.equal(runs.length, 1, "one run recorded");
    const ids = [first, second].map((run) => (run.json as unknown as MigrationRecord).id);
    assert.equal(ids[0], ids[1], "both print the one record");
    assert.equal(
      [first, second].filter((run) => /already migrated/.test(run.stderr)).length,
      1,
      "the second saw the first's record once it held the lock",
    );
    assert.deepEqual(await appliedVersions(), [1, 2]);
  });
});
