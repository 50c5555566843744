import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { rehearsalSummary } from "../../../components/data/Rehearsal";
import { RehearsalReport } from "../../../ops/rehearse";
import { MigrationRecord } from "../../../ops/migrate";
import { MIGRATIONS_LABEL } from "../../../ops/migrate/pending";
import { parseHistoryText } from "../../../tools/history/read";
import { planRollback } from "../../../tools/rollback";
import { recordedClassifications } from "../../../tools/rollback/schema-breaking";
import { RestoreReport } from "../../../ops/restore";
import { checksumTable, listTables } from "../../../ops/lib/postgres";
import { formatBytes } from "../../../ops/lib/disk";
import { buildSampleImage } from "../../fixtures/app/build";
import { ensureDocker } from "../../support/docker";
import { PgCluster, startPostgres } from "../../support/postgres";
import { S3Server, startS3 } from "../../support/s3";
import { needService } from "../../support/service";
import {
  BUCKET,
  adminClient,
  backupArgs,
  databasesLike,
  locationArgs,
  reason,
  runOps,
  sql,
  startOps,
  stepEnv,
} from "../support/data";
import { startWebhook } from "../support/release";

const MIGRATOR_PASSWORD = "migrator-Secret-4711";
const RELEASES = [
  "v2",
  "mig-additive",
  "mig-none",
  "mig-drop-column",
  "mig-rename-column",
  "mig-not-null",
  "mig-narrow-type",
  "mig-enum-swap",
  "mig-slow",
  "mig-failing",
];

/** Every table's rows and checksum, every column, and greenlight's own records: production as it is. */
async function fingerprint(pg: PgCluster, database: string): Promise<string[]> {
  const client = await adminClient(pg, database);
  try {
    const lines: string[] = [];
    for (const table of await listTables(client)) {
      const summary = await checksumTable(client, table);
      lines.push(`${table.schema}.${table.name}: ${summary.rows} rows, checksum ${summary.checksum}`);
    }
    const columns = await client.query<{ line: string }>(
      `SELECT table_schema || '.' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable AS line
         FROM information_schema.columns WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
    );
    const types = await client.query<{ line: string }>(
      "SELECT t.typname || ': ' || string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) AS line FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname ORDER BY 1",
    );
    return [...lines, ...columns.rows.map((row) => row.line), ...types.rows.map((row) => row.line)];
  } finally {
    await client.end();
  }
}

/**
 * What `npm run rollback` plans after `release` went live, with the stack output the program makes of
 * the rehearsal's report: production's saved history with that release as the live one (flag false).
 */
async function rollbackAfter(release: string, rehearsalStdout: string): Promise<string> {
  const history = fs
    .readFileSync(path.join(__dirname, "..", "..", "fixtures", "history", "production.json"), "utf8")
    .replaceAll("2026.11.20-1", release);
  const plan = await planRollback({
    stack: "production",
    updates: parseHistoryText(history, "production.json"),
    now: new Date("2026-11-24T12:00:00Z"),
    maxAgeDays: 30,
    classifications: recordedClassifications({ schemaCompatibility: rehearsalSummary(rehearsalStdout) }),
  });
  return plan.action;
}

describe("rehearse step on Docker, PostgreSQL 15 and an S3-compatible server", function () {
  this.timeout(600_000);
  let pg: PgCluster;
  let s3: S3Server;
  const images: Record<string, string> = {};

  before(async function () {
    await needService(this, "Docker", ensureDocker);
    pg = await needService(this, "PostgreSQL 15", startPostgres);
    s3 = await needService(this, "S3-compatible server", () => startS3());
    for (const release of RELEASES) images[release] = buildSampleImage(release).ref;
    await s3.createBucket(BUCKET);
    await pg.query("CREATE DATABASE shop");
    await pg.query(`CREATE ROLE shop_migrator LOGIN PASSWORD '${MIGRATOR_PASSWORD}'`);
    await pg.query("CREATE ROLE shop_app LOGIN PASSWORD 'app-Secret-1'");
    await sql(pg, "shop", "ALTER SCHEMA public OWNER TO shop_migrator");
    await sql(pg, "shop", "REVOKE CREATE ON SCHEMA public FROM PUBLIC");
    await sql(
      pg,
      "shop",
      "ALTER DEFAULT PRIVILEGES FOR ROLE shop_migrator GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO shop_app",
    );
    // Production runs release v2 (schema 2) with 2,000 orders.
    assert.equal((await runOps(backupArgs("v2"), env())).code, 0);
    const migrated = await runOps(migrateArgs("v2"), env());
    assert.equal(migrated.code, 0, migrated.stderr);
    await sql(
      pg,
      "shop",
      "INSERT INTO orders (customer, total_cents) SELECT 'customer-' || g, g FROM generate_series(1, 2000) g",
    );
  });
  after(async () => {
    await s3?.stop();
    await pg?.stop();
  });
  afterEach(async () => {
    // Whatever a test did, no rehearsal copy and no rehearsal container survives it.
    assert.deepEqual(await databasesLike(pg, "shop_rehearse_"), []);
    const containers = execFileSync("docker", ["ps", "-aq", "--filter", `name=greenlight-rehearse-`], {
      encoding: "utf8",
    }).trim();
    assert.equal(containers, "", "a rehearsal container survived");
  });

  function env(overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
    return stepEnv(pg, s3, "shop", {
      DATABASE_URL: pg.url("shop", "shop_migrator", MIGRATOR_PASSWORD),
      ...overrides,
    });
  }

  function migrateArgs(release: string): string[] {
    return [
      "migrate",
      ...locationArgs(release),
      ...["--image", images[release], "--command-json", '["node","/app/migrate.js"]', "--network", "host"],
    ];
  }

  function rehearseArgs(release: string, extra: string[] = []): string[] {
    return [
      "rehearse",
      ...locationArgs(release),
      ...["--image", images[release], "--command-json", '["node","/app/migrate.js"]', "--network", "host"],
      ...["--large-table-mb", "0", "--max-migration-seconds", "60", "--progress-seconds", "0"],
      ...extra,
    ];
  }

  /** Backup, then the drill that leaves its verified copy for the rehearsal. */
  async function backupAndDrill(release: string): Promise<RestoreReport> {
    const backup = await runOps(backupArgs(release), env());
    assert.equal(backup.code, 0, backup.stderr);
    const drill = await runOps(
      ["restore", ...locationArgs(release), "--drill", "--keep-for-rehearsal", "--progress-seconds", "0"],
      env(),
    );
    assert.equal(drill.code, 0, drill.stderr);
    return drill.json as unknown as RestoreReport;
  }

  it("additive: the drill's copy, with production's owners and grants, takes the migration; classified additive, each object named; the copy is dropped, production untouched", async () => {
    const drill = await backupAndDrill("mig-additive");
    assert.ok(drill.keptDatabase?.startsWith("shop_rehearse_"), JSON.stringify(drill));
    assert.deepEqual(await databasesLike(pg, "shop_rehearse_"), [drill.keptDatabase]);
    const copy = drill.keptDatabase as string;
    assert.deepEqual(
      await sql(pg, copy, "SELECT tableowner AS owner FROM pg_tables WHERE tablename = 'orders'"),
      [{ owner: "shop_migrator" }],
      "the copy keeps production's owners",
    );
    assert.deepEqual(
      await sql(pg, copy, "SELECT has_table_privilege('shop_app', 'public.orders', 'INSERT') AS app_writes"),
      [{ app_writes: true }],
      "and its grants",
    );
    const before = await fingerprint(pg, "shop");
    const run = await runOps(rehearseArgs("mig-additive", ["--copy", copy]), env());
    assert.equal(run.code, 0, run.stderr);
    const report = run.json as unknown as RehearsalReport;
    assert.equal(report.copy, copy);
    assert.equal(report.copyFrom, "drill");
    assert.equal(report.classification, "additive");
    assert.equal(report.verdict, "passed");
    assert.equal(report.migration.outcome, "succeeded");
    assert.equal(
      report.migrations,
      labelOf(images["mig-additive"]),
      "a label production never recorded: the migrator runs",
    );
    assert.deepEqual(
      report.changes
        .map((change) => `${change.effect} ${change.change} ${change.object} ${change.name}`)
        .sort(),
      [
        "additive added column public.orders.channel",
        "additive added column public.orders.gift_note",
        "additive added index public.orders_customer",
        "additive added enum type public.order_channel",
        "additive added table public.coupons",
      ].sort(),
    );
    assert.ok(report.durationMs > 0 && report.durationMs < 60_000);
    assert.deepEqual(await fingerprint(pg, "shop"), before, "production is untouched by the rehearsal");
    assert.match(run.stderr, /release mig-additive: additive, 5 change\(s\)/);
    assert.equal(await rollbackAfter("mig-additive", run.stdout), "flip", "a rollback after it flips back");

    // Production then migrates for real; later releases build on schema 3.
    const migrated = await runOps(migrateArgs("mig-additive"), env());
    assert.equal(migrated.code, 0, migrated.stderr);
    await sql(pg, "shop", "UPDATE orders SET channel = (ARRAY['web', 'store'])[1 + id % 2]::order_channel");
  });

  /** The migrations label a sample image carries. */
  const labelOf = (image: string) =>
    execFileSync(
      "docker",
      ["image", "inspect", "--format", `{{index .Config.Labels "${MIGRATIONS_LABEL}"}}`, image],
      {
        encoding: "utf8",
      },
    ).trim();

  /** A docker CLI that logs each call's arguments to `log`, then runs the real one. */
  function dockerSpy(log: string): string {
    const spy = path.join(path.dirname(log), "docker");
    fs.writeFileSync(spy, `#!/bin/sh\nprintf '%s\\n' "$*" >> ${log}\nexec docker "$@"\n`, { mode: 0o755 });
    return spy;
  }

  it("no migration pending: the image carries the migrations label production's newest migration recorded; no container runs, additive with no change, the migration skips too; a copy an interrupted update left is dropped by the next drill", async () => {
    // Production runs mig-additive's migrations (the test before migrates it; run alone, this one does).
    const migratedBefore = await sql<{ n: number }>(
      pg,
      "shop",
      "SELECT count(*)::int AS n FROM greenlight.migrations WHERE release = 'mig-additive' AND outcome = 'succeeded'",
    );
    if (migratedBefore[0].n === 0) {
      assert.equal((await runOps(backupArgs("mig-additive"), env())).code, 0);
      const migrated = await runOps(migrateArgs("mig-additive"), env());
      assert.equal(migrated.code, 0, migrated.stderr);
    }
    const label = labelOf(images["mig-none"]);
    assert.match(label, /^sha256:[0-9a-f]{64}$/);
    assert.equal(labelOf(images["mig-additive"]), label, "the same migrations, the same label");
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-rehearse-spy-"));
    try {
      const log = path.join(work, "argv.log");
      const docker = dockerSpy(log);
      const first = await backupAndDrill("mig-none");
      const second = await backupAndDrill("mig-none");
      assert.notEqual(first.keptDatabase, second.keptDatabase);
      assert.deepEqual(await databasesLike(pg, "shop_rehearse_"), [second.keptDatabase]);
      const before = await fingerprint(pg, "shop");
      const run = await runOps(
        rehearseArgs("mig-none", ["--copy", second.keptDatabase as string, "--docker", docker]),
        env(),
      );
      assert.equal(run.code, 0, run.stderr);
      const report = run.json as unknown as RehearsalReport;
      assert.equal(report.classification, "additive");
      assert.equal(report.verdict, "passed");
      assert.deepEqual(report.changes, []);
      assert.deepEqual(report.locks, []);
      assert.deepEqual(report.migration, { outcome: "skipped", error: null });
      assert.equal(report.durationMs, 0);
      assert.equal(report.migrations, label);
      assert.match(
        report.notes[0],
        new RegExp(
          `^no migration pending: ${images["mig-none"]} carries greenlight\\.migrations=${label}, the migrations release mig-additive applied \\(greenlight\\.migrations id \\d+\\)$`,
        ),
      );
      assert.deepEqual(
        fs.readFileSync(log, "utf8").trim().split("\n"),
        [`image inspect --format {{json .Config.Labels}} ${images["mig-none"]}`],
        "the label read, no container",
      );
      assert.deepEqual(await fingerprint(pg, "shop"), before, "production is untouched by the rehearsal");

      // Production's migration skips its container as well, and records the run with its label.
      fs.rmSync(log);
      const versions = await sql(pg, "shop", "SELECT version FROM schema_migrations ORDER BY 1");
      const migrated = await runOps([...migrateArgs("mig-none"), "--docker", docker], env());
      assert.equal(migrated.code, 0, migrated.stderr);
      const record = migrated.json as unknown as MigrationRecord;
      assert.equal(record.outcome, "succeeded");
      assert.equal(record.ranMigrator, false);
      assert.equal(record.migrations, label);
      assert.match(
        migrated.stderr,
        /release mig-none: no migration pending: .* the migrations release mig-additive applied/,
      );
      assert.doesNotMatch(fs.readFileSync(log, "utf8"), /^(create|start|run) /m, "no container");
      assert.deepEqual(
        await sql(
          pg,
          "shop",
          "SELECT release, outcome, migrations FROM greenlight.migrations ORDER BY id DESC LIMIT 1",
        ),
        [{ release: "mig-none", outcome: "succeeded", migrations: label }],
      );
      assert.deepEqual(await sql(pg, "shop", "SELECT version FROM schema_migrations ORDER BY 1"), versions);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });

  const BREAKING: { release: string; change: string; detail: RegExp }[] = [
    {
      release: "mig-drop-column",
      change: "dropped column public.orders.status",
      detail: /queries that name it fail/,
    },
    {
      release: "mig-rename-column",
      change: "renamed column public.orders.customer",
      detail: /renamed to customer_name/,
    },
    {
      release: "mig-narrow-type",
      change: "changed column public.orders.customer",
      detail: /type text → character varying\(40\): narrowed/,
    },
    {
      release: "mig-enum-swap",
      change: "dropped enum value public.order_channel.'phone'",
      detail: /may write 'phone'/,
    },
  ];
  for (const { release, change, detail } of BREAKING) {
    it(`breaking ${release}: declared additive, refused naming ${change}; production untouched; the copy dropped`, async () => {
      const drill = await backupAndDrill(release);
      const before = await fingerprint(pg, "shop");
      const run = await runOps(rehearseArgs(release, ["--copy", drill.keptDatabase as string]), env());
      assert.equal(run.code, 1, run.stderr);
      assert.match(
        reason(run),
        new RegExp(
          `^rehearse: release ${release} refused: it is declared additive \\(greenlight:schemaBreaking false\\) but its migration is breaking: [^;]*${change.replace(/[.()'|]/g, "\\$&")}`,
        ),
      );
      assert.match(reason(run), new RegExp(`; dropped ${drill.keptDatabase}; production was not touched$`));
      const report = run.json as unknown as RehearsalReport;
      assert.equal(report.classification, "breaking");
      assert.equal(report.verdict, "refused");
      const named = report.changes.find((item) => `${item.change} ${item.object} ${item.name}` === change);
      assert.ok(named, `${change} in ${JSON.stringify(report.changes)}`);
      assert.equal(named.effect, "breaking");
      assert.match(named.detail, detail);
      assert.deepEqual(await fingerprint(pg, "shop"), before, "production is untouched");
      assert.equal(
        await rollbackAfter(release, run.stdout),
        "restore",
        "a rollback after it restores the backup",
      );
    });
  }

  it("breaking and declared so: passes; the copy handed over is gone, so the rehearsal restores its own", async () => {
    const drill = await backupAndDrill("mig-drop-column");
    await sql(pg, "postgres", `DROP DATABASE ${drill.keptDatabase}`);
    const before = await fingerprint(pg, "shop");
    const run = await runOps(
      rehearseArgs("mig-drop-column", ["--copy", drill.keptDatabase as string, "--declared", "breaking"]),
      env(),
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stderr,
      /is gone \(an earlier run of this rehearsal dropped it\): restoring the backup into a new copy/,
    );
    const report = run.json as unknown as RehearsalReport;
    assert.equal(report.copyFrom, "restore");
    assert.notEqual(report.copy, drill.keptDatabase);
    assert.equal(report.classification, "breaking");
    assert.equal(report.declared, "breaking");
    assert.equal(report.verdict, "passed");
    assert.deepEqual(await fingerprint(pg, "shop"), before);
    assert.equal(await rollbackAfter("mig-drop-column", run.stdout), "restore");
  });

  it("SET NOT NULL over NULLs: the migration fails on the copy; the step fails with its error, production untouched", async () => {
    const drill = await backupAndDrill("mig-not-null");
    const before = await fingerprint(pg, "shop");
    const run = await runOps(rehearseArgs("mig-not-null", ["--copy", drill.keptDatabase as string]), env());
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      reason(run),
      /^rehearse: release mig-not-null failed its rehearsal: its migration failed on a restored copy of shop: node \/app\/migrate\.js exited 1: migration failed, rolled back: column "gift_note" of relation "orders" contains null values; dropped shop_rehearse_\w+; production was not touched$/,
    );
    const report = run.json as unknown as RehearsalReport;
    assert.equal(report.verdict, "failed");
    assert.equal(report.migration.outcome, "failed");
    assert.deepEqual(report.changes, [], "the failed migration rolled back on the copy");
    assert.deepEqual(await fingerprint(pg, "shop"), before);
  });

  it("a failing migration: the step fails with the migration's error before production is touched; the notice keeps the app's text out", async () => {
    const webhook = await startWebhook();
    try {
      const drill = await backupAndDrill("mig-failing");
      const before = await fingerprint(pg, "shop");
      const run = await runOps(
        rehearseArgs("mig-failing", ["--copy", drill.keptDatabase as string]),
        env({ GREENLIGHT_WEBHOOK_URL: webhook.url }),
      );
      assert.equal(run.code, 1, run.stderr);
      assert.match(
        reason(run),
        /failed its rehearsal: .*column "no_such_column" does not exist; dropped shop_rehearse_/,
      );
      assert.deepEqual(await fingerprint(pg, "shop"), before);
      assert.equal(webhook.messages.length, 1);
      assert.match(webhook.messages[0].text, /release mig-failing \(\w+\) failed its migration rehearsal/);
      const notice = JSON.stringify(webhook.messages[0]);
      assert.match(notice, /its error is in the update's log/);
      assert.doesNotMatch(notice, /no_such_column/, "the migration's own output stays out of the notice");
    } finally {
      await webhook.close();
    }
  });

  it("slow, maintenance off: stopped at greenlight:maxMigrationSeconds and refused; production untouched", async () => {
    const drill = await backupAndDrill("mig-slow");
    const before = await fingerprint(pg, "shop");
    const run = await runOps(
      rehearseArgs("mig-slow", ["--copy", drill.keptDatabase as string, "--max-migration-seconds", "2"]),
      env(),
    );
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      reason(run),
      /^rehearse: release mig-slow refused: its migration ran longer than greenlight:maxMigrationSeconds \(2 s\) and was stopped after \d+\.\d s, and greenlight:maintenanceMode is off: .*set greenlight:maintenanceMode read-only \(or on\) for this release; dropped shop_rehearse_\w+; production was not touched$/,
    );
    const report = run.json as unknown as RehearsalReport;
    // Stopped one second past the limit, well before its 6 s sleep ends.
    assert.ok(report.durationMs >= 3000 && report.durationMs < 6000, String(report.durationMs));
    assert.deepEqual(await fingerprint(pg, "shop"), before);
  });

  it("slow, read-only maintenance: accepted; its ACCESS EXCLUSIVE lock on orders is reported and notified", async () => {
    const webhook = await startWebhook();
    try {
      const drill = await backupAndDrill("mig-slow");
      const run = await runOps(
        rehearseArgs("mig-slow", [
          ...["--copy", drill.keptDatabase as string, "--maintenance", "read-only"],
          ...["--max-migration-seconds", "2"],
        ]),
        env({ GREENLIGHT_WEBHOOK_URL: webhook.url }),
      );
      assert.equal(run.code, 0, run.stderr);
      const report = run.json as unknown as RehearsalReport;
      assert.equal(report.verdict, "passed");
      assert.equal(report.classification, "additive");
      assert.ok(report.durationMs >= 6000, String(report.durationMs));
      assert.match(report.notes.join("\n"), /accepted because greenlight:maintenanceMode is read-only/);
      const lock = report.locks.find(
        (item) => item.table === "public.orders" && item.mode === "AccessExclusiveLock",
      );
      assert.ok(lock, JSON.stringify(report.locks));
      assert.ok(lock.heldMs >= 5500, `held ${lock.heldMs} ms`);
      assert.ok(lock.bytes > 100_000, `orders is ${lock.bytes} bytes`);
      // The lock is sampled every lockSampleMs: first seen to last seen, a sample short of the 6 s sleep
      // under a busy machine. The warning states what was sampled.
      assert.ok(
        report.warnings[0].startsWith(
          `ACCESS EXCLUSIVE lock on public.orders (${formatBytes(lock.bytes)}) for about ${(lock.heldMs / 1000).toFixed(1)} s: production's migration blocks every read and write of it`,
        ),
        report.warnings[0],
      );
      assert.equal(webhook.messages.length, 1);
      assert.equal(webhook.messages[0].event, "rehearsal");
      assert.match(webhook.messages[0].text, /passed, but production's migration will lock a large table/);
      assert.match(webhook.messages[0].text, /ACCESS EXCLUSIVE lock on public\.orders/);
    } finally {
      await webhook.close();
    }
  });

  it("SIGTERM mid-rehearsal: the container is killed and removed, the copy dropped, production untouched; exit 143", async () => {
    const drill = await backupAndDrill("mig-slow");
    const before = await fingerprint(pg, "shop");
    const running = startOps(
      rehearseArgs("mig-slow", ["--copy", drill.keptDatabase as string, "--maintenance", "on"]),
      env(),
    );
    // Signalled once the migration holds its lock on the copy, sleeping.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const sleeping = await sql(
        pg,
        "postgres",
        "SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()",
        [drill.keptDatabase],
      );
      if (sleeping.length > 0) break;
      assert.ok(Date.now() < deadline, `the migration never started: ${running.stderrSoFar()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    process.kill(running.pid as number, "SIGTERM");
    const run = await running.done;
    assert.equal(run.code, 143, run.stderr);
    assert.match(
      reason(run),
      new RegExp(
        `^rehearse: stopped by SIGTERM; the container greenlight-rehearse-mig-slow-${running.pid} was killed and removed; dropped ${drill.keptDatabase}; production was not touched$`,
      ),
    );
    assert.deepEqual(await fingerprint(pg, "shop"), before);
  });
});
