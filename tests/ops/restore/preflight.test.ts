// `restore --preflight`, which a restore rollback runs before maintenance mode goes on: against a real
// PostgreSQL 15 and S3-compatible server, it passes on a restorable backup and changes nothing, and it
// refuses — naming what to fix — each thing that would make the real restore fail after traffic stopped.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PgCluster, startPostgres } from "../../support/postgres";
import { S3Server, startS3 } from "../../support/s3";
import { needService } from "../../support/service";
import {
  BUCKET,
  backupArgs,
  databasesLike,
  locationArgs,
  reason,
  runOps,
  sql,
  stepEnv,
} from "../support/data";

describe("restore --preflight on PostgreSQL 15 and an S3-compatible server", function () {
  this.timeout(180_000);
  let pg: PgCluster;
  let s3: S3Server;
  const spool = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-preflight-test-"));
  const preflight = (release: string, extra: string[] = []) => [
    "restore",
    ...locationArgs(release),
    "--target-db",
    "shop",
    "--spool-dir",
    spool,
    "--preflight",
    ...extra,
  ];
  const shopRows = async () => (await sql<{ n: string }>(pg, "shop", "SELECT count(*) AS n FROM items"))[0].n;

  before(async function () {
    pg = await needService(this, "PostgreSQL 15", startPostgres);
    s3 = await needService(this, "S3-compatible server", () => startS3());
    await s3.createBucket(BUCKET);
    await pg.query("CREATE DATABASE shop");
    await sql(
      pg,
      "shop",
      "CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items SELECT generate_series(1, 500)",
    );
    const run = await runOps(backupArgs("r1"), stepEnv(pg, s3, "shop"));
    assert.equal(run.code, 0, run.stderr);
    await sql(pg, "shop", "INSERT INTO items VALUES (501)");
  });
  after(async () => {
    await s3?.stop();
    await pg?.stop();
    fs.rmSync(spool, { recursive: true, force: true });
  });

  it("passes on a restorable backup, with --region and --endpoint taking the stack's values over the environment's, and changes nothing", async () => {
    // The environment points at a closed port and another region; the flags (as a rollback passes the
    // stack's greenlight:s3Endpoint and s3Region) win.
    const env = stepEnv(pg, s3, "shop", {
      GREENLIGHT_S3_ENDPOINT: "http://127.0.0.1:9",
      AWS_REGION: "ap-south-1",
    });
    const run = await runOps(preflight("r1", ["--region", s3.region, "--endpoint", s3.endpoint]), env);
    assert.equal(run.code, 0, run.stderr);
    const report = run.json as {
      mode: string;
      release: string;
      dumpKey: string;
      bytes: number;
      checked: string[];
    };
    assert.equal(report.mode, "preflight");
    assert.equal(report.release, "r1");
    assert.match(report.dumpKey, /^db\/local\/r1\/.*\.dump$/);
    assert.ok(report.bytes > 0);
    assert.equal(report.checked.length, 6, report.checked.join("\n"));
    assert.match(run.stderr, /preflight: database shop exists and this role may create and rename databases/);
    assert.deepEqual(await databasesLike(pg, "shop_"), [], "no database created");
    assert.deepEqual(fs.readdirSync(spool), [], "nothing downloaded");
    assert.equal(await shopRows(), "501", "the target untouched");
  });

  it("refuses, naming the fix: wrong S3 credentials, no backup of the release, a missing target database, a bad region", async () => {
    const cases: [string[], NodeJS.ProcessEnv, RegExp, number][] = [
      [
        preflight("r1"),
        // s3rver 3.7 checks the access key id but not a SigV4 signature (lib/middleware/authentication.js).
        stepEnv(pg, s3, "shop", { AWS_ACCESS_KEY_ID: "NOTAKEY" }),
        /S3 refused the credentials for .* fix AWS_ACCESS_KEY_ID\/AWS_SECRET_ACCESS_KEY/,
        1,
      ],
      [preflight("r2"), stepEnv(pg, s3, "shop"), /no backup of release r2 in .*take one first/, 3],
      [
        [...preflight("r1").map((arg) => (arg === "shop" ? "shop_gone" : arg)), "--allow-other-database"],
        stepEnv(pg, s3, "shop"),
        /database shop_gone does not exist on this server: check greenlight:dbName and PGHOST/,
        2,
      ],
      [
        preflight("r1", ["--region", "Frankfurt"]),
        stepEnv(pg, s3, "shop"),
        /--region "Frankfurt" is not an AWS region such as eu-central-1/,
        2,
      ],
    ];
    for (const [args, env, message, code] of cases) {
      const run = await runOps(args, env);
      assert.match(reason(run), message, run.stderr);
      assert.equal(run.code, code, `${args.join(" ")}: ${run.stderr}`);
    }
    assert.deepEqual(await databasesLike(pg, "shop_"), []);
    assert.equal(await shopRows(), "501");
  });

  it("refuses a role that may not create databases, before anything changes", async () => {
    await pg.query("CREATE ROLE plain_user LOGIN PASSWORD 'plain-password'");
    await pg.query("GRANT CONNECT ON DATABASE shop TO plain_user");
    const run = await runOps(
      preflight("r1", ["--maintenance-db", "shop"]),
      stepEnv(pg, s3, "shop", { PGUSER: "plain_user", PGPASSWORD: "plain-password" }),
    );
    assert.equal(run.code, 2, run.stderr);
    assert.match(reason(run), /the role plain_user may not create databases/);
  });
});
