// A data step's secrets from the view of someone on the host who can list processes or read container
// metadata (`docker inspect`, which log and monitoring agents collect): the exact command line the
// program sends a data host (ops/hosts/remote.ts opsRunCommand), run by a shell against this machine's
// Docker engine, with a real PostgreSQL 15 and S3-compatible server. While the migrate step waits for
// the migration lock (held by the test), neither its container's configuration nor any process's
// argument list holds the admin password, the AWS secret key or the migrator's DATABASE_URL; released,
// the step migrates as it should.
import { strict as assert } from "assert";
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import { Readable } from "stream";
import { readEnvEntries } from "../../ops/cli";
import { ENV_STDIN_FLAG, opsRunCommand } from "../../ops/hosts/remote";
import { MIGRATION_LOCK } from "../../ops/migrate";
import { Client } from "pg";
import { buildSampleImage } from "../fixtures/app/build";
import { BUCKET, PREFIX, STACK, backupArgs, runOps, stepEnv } from "../ops/support/data";
import { ensureDocker } from "../support/docker";
import { buildLocalOpsImage } from "../support/ops-image";
import { PgCluster, startPostgres } from "../support/postgres";
import { S3Server, startS3 } from "../support/s3";
import { needService } from "../support/service";

// Canaries unique to this run: a process of another test on this machine cannot hold them.
const MIGRATOR_PASSWORD = `Migrator-Canary-${process.pid}-${Date.now()}`;
const ADMIN_PASSWORD = `Admin-Canary-${process.pid}-${Date.now()}`;
// The webhook URL carries its token: a secret by listing (isSecretEnvName), not by its name's pattern.
const WEBHOOK_URL = `https://hooks.example.invalid/services/Webhook-Canary-${process.pid}-${Date.now()}`;

describe("a host's step container: secrets on stdin, never in its configuration or an argument list", function () {
  this.timeout(900_000);
  let pg: PgCluster;
  let s3: S3Server;
  let opsImage: { name: string; remove(): void } | undefined;
  let release: string;
  let step: ChildProcess | undefined;

  before(async function () {
    await needService(this, "Docker", ensureDocker);
    pg = await needService(this, "PostgreSQL 15", () => startPostgres());
    s3 = await needService(this, "S3-compatible server", () => startS3());
    opsImage = buildLocalOpsImage();
    release = buildSampleImage("v1").ref;
    await s3.createBucket(BUCKET);
    await pg.query("CREATE DATABASE shop");
    await pg.query(`CREATE ROLE shop_migrator LOGIN PASSWORD '${MIGRATOR_PASSWORD}'`);
    await pg.query("ALTER SCHEMA public OWNER TO shop_migrator", [], "shop");
    await pg.query(`CREATE ROLE greenlight_step_admin SUPERUSER LOGIN PASSWORD '${ADMIN_PASSWORD}'`);
  });
  after(async () => {
    step?.kill("SIGKILL");
    await s3?.stop();
    await pg?.stop();
    opsImage?.remove();
  });

  it("reads NAME=value entries from stdin: NUL-separated, an empty value unset, a malformed entry refused", async () => {
    assert.deepEqual(await readEnvEntries(Readable.from([Buffer.from("A=1\0B=x=y\nz\0C=\0")])), {
      A: "1",
      B: "x=y\nz",
    });
    await assert.rejects(readEnvEntries(Readable.from([Buffer.from("A=1\0not-a-name=2\0")])), {
      message: `${ENV_STDIN_FLAG}: entry 2 on stdin is not NAME=value`,
    });
  });

  it("migrate on a data host: docker inspect and every process's argv hold none of its secrets; it migrates once the lock is free", async () => {
    const env = stepEnv(pg, s3, "shop", {
      PGUSER: "greenlight_step_admin",
      PGPASSWORD: ADMIN_PASSWORD,
      DATABASE_URL: pg.url("shop", "shop_migrator", MIGRATOR_PASSWORD),
      GREENLIGHT_WEBHOOK_URL: WEBHOOK_URL,
    });
    const secrets = [ADMIN_PASSWORD, MIGRATOR_PASSWORD, WEBHOOK_URL];
    assert.equal((await runOps(backupArgs("v1"), env)).code, 0);
    const envNames = Object.keys(env).filter((name) => name !== "PATH" && name !== "HOME");
    const line = opsRunCommand(
      opsImage?.name ?? "",
      "migrate",
      {
        bucket: BUCKET,
        prefix: PREFIX,
        stack: STACK,
        release: "v1",
        image: release,
        "command-json": '["node","/app/migrate.js"]',
        network: "host",
        "timeout-seconds": 120,
      },
      { envNames, dockerSocket: true },
    );
    for (const secret of secrets) assert.ok(!line.includes(secret), "the command line holds no secret");

    const holder = new Client({ connectionString: pg.url("shop") });
    await holder.connect();
    await holder.query("SELECT pg_advisory_lock($1, $2)", [...MIGRATION_LOCK]);
    let stderr = "";
    let stdout = "";
    const exit = new Promise<number | null>((resolve) => {
      step = spawn("sh", ["-c", line], { env, stdio: ["ignore", "pipe", "pipe"] });
      step.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      step.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      step.once("close", (code) => {
        step = undefined;
        resolve(code);
      });
    });
    try {
      const deadline = Date.now() + 120_000;
      while (!/waiting for the migration lock/.test(stderr)) {
        assert.ok(Date.now() < deadline, `the step never waited for the lock: ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const ids = execFileSync("docker", ["ps", "-q", "--filter", `ancestor=${opsImage?.name}`], {
        encoding: "utf8",
      })
        .trim()
        .split("\n")
        .filter(Boolean);
      assert.equal(ids.length, 1, "the step's container runs");
      const inspected = execFileSync("docker", ["inspect", ids[0]], { encoding: "utf8" });
      assert.match(inspected, /"PGHOST=127\.0\.0\.1"/, "docker inspect shows the plain variables");
      assert.match(inspected, /"--env-stdin",\s*"migrate"/);
      const config = (JSON.parse(inspected) as { Config: { Env: string[] } }[])[0].Config.Env;
      assert.ok(
        !config.some((entry) => entry.startsWith("GREENLIGHT_WEBHOOK_URL=")),
        `the webhook URL is in the container's Config.Env: ${config.join(" ")}`,
      );
      for (const secret of [...secrets, String(env.AWS_SECRET_ACCESS_KEY), "postgresql://"])
        assert.ok(!inspected.includes(secret), `docker inspect of the step's container shows ${secret}`);
      for (const pid of fs.readdirSync("/proc").filter((entry) => /^\d+$/.test(entry))) {
        let argv = "";
        try {
          argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
        } catch {
          continue;
        }
        for (const secret of secrets)
          assert.ok(!argv.includes(secret), `process ${pid}'s argv holds a secret`);
      }
    } finally {
      await holder.query("SELECT pg_advisory_unlock($1, $2)", [...MIGRATION_LOCK]);
      await holder.end();
    }
    assert.equal(await exit, 0, stderr);
    assert.equal(JSON.parse(stdout.trim().split("\n").pop() ?? "{}").outcome, "succeeded");
    const applied = await pg.query<{ version: number }>("SELECT version FROM schema_migrations", [], "shop");
    assert.deepEqual(
      applied.map((row) => row.version),
      [1],
    );
  });
});
