import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { ListBucketsCommand, S3Client } from "@aws-sdk/client-s3";
import { ensureDocker } from "../support/docker";
import { freePort } from "../support/ports";
import { postgresBinDir, startPostgres } from "../support/postgres";
import { startS3 } from "../support/s3";
import { needService } from "../support/service";

const ROOT = path.resolve(__dirname, "..", "..");
const SCRIPT = path.join(ROOT, "scripts", "local-services.sh");

interface ScriptRun {
  code: number | null;
  out: string;
  err: string;
  /** The report's lines by service: state and detail. */
  lines: Record<string, { state: string; detail: string }>;
}

/**
 * Runs the script with its state and ports overridden (other suites run their services on this machine).
 * Asynchronous: a server this test process hosts must keep answering while the script runs.
 */
async function run(args: string[], env: Record<string, string>): Promise<ScriptRun> {
  const child = spawn("bash", [SCRIPT, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", resolve);
  });
  const lines: ScriptRun["lines"] = {};
  for (const line of out.split("\n").filter(Boolean)) {
    const match = /^(\S+)\s+(\S+)\s+(.*)$/.exec(line);
    if (match) lines[match[1]] = { state: match[2], detail: match[3] };
  }
  return { code, out, err, lines };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("scripts/local-services.sh: what pulumi up --stack local needs, started for real", function () {
  this.timeout(300_000);
  let state: string;
  let env: Record<string, string>;
  let pgPort: number;
  let s3Port: number;

  before(async function () {
    await needService(this, "PostgreSQL 15", async () => postgresBinDir());
    await needService(this, "Docker", ensureDocker);
    // A deep checkout: the cluster's socket path would pass the 107 bytes a Unix socket's path may hold.
    const top = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-local-services-"));
    fs.chmodSync(top, 0o755);
    state = path.join(top, "a-checkout-folder-name-as-long-as-real-ones-get", "local-services");
    fs.mkdirSync(state, { recursive: true, mode: 0o755 });
    assert.ok(`${state}/postgresql/socket/.s.PGSQL.${65535}`.length > 107);
    pgPort = await freePort();
    s3Port = await freePort();
    env = {
      GREENLIGHT_LOCAL_STATE: state,
      GREENLIGHT_PG_PORT: String(pgPort),
      GREENLIGHT_S3_PORT: String(s3Port),
    };
  });

  after(async () => {
    if (state === undefined) return;
    await run(["--stop"], env);
    fs.rmSync(path.dirname(path.dirname(state)), { recursive: true, force: true });
  });

  it("start, check, start again (idempotent), stop: every service, and only what it started", async () => {
    const before = await run(["--check"], env);
    assert.equal(before.code, 1, before.out + before.err);
    assert.match(before.lines.postgresql.detail, new RegExp(`nothing answers on 127\\.0\\.0\\.1:${pgPort}`));
    assert.equal(before.lines.s3.state, "down");

    const started = await run([], env);
    assert.equal(started.code, 0, started.out + started.err);
    assert.deepEqual(
      Object.fromEntries(Object.entries(started.lines).map(([name, line]) => [name, line.state])),
      { postgresql: "up", s3: "up", docker: "up", images: "up", tools: "present" },
    );
    assert.match(
      started.lines.postgresql.detail,
      new RegExp(`^127\\.0\\.0\\.1:${pgPort}, database shop created, postgres without password; started now`),
    );
    assert.match(
      started.lines.s3.detail,
      /bucket shop-backups-local: not there yet \(pulumi up creates it\); started now/,
    );
    assert.match(
      started.lines.images.detail,
      /^greenlight-sample:v1 [0-9a-f]{12} {2}greenlight-sample:v2 [0-9a-f]{12}/,
    );

    // What the stack needs of PostgreSQL: the admin without a password, every other role with its own.
    const admin = new Client({ host: "127.0.0.1", port: pgPort, user: "postgres", database: "shop" });
    await admin.connect();
    await admin.query("CREATE ROLE local_services_probe LOGIN PASSWORD 'probe-pw'");
    assert.equal((await admin.query("SHOW server_version_num")).rows[0].server_version_num.slice(0, 2), "15");
    await admin.end();
    const asProbe = (password: string) =>
      new Client({
        host: "127.0.0.1",
        port: pgPort,
        user: "local_services_probe",
        password,
        database: "shop",
      });
    const wrong = asProbe("wrong");
    await assert.rejects(wrong.connect(), /password authentication failed/);
    const right = asProbe("probe-pw");
    await right.connect();
    await right.end();
    // And of S3: the stack's endpoint with s3rver's credentials.
    const s3 = new S3Client({
      endpoint: `http://127.0.0.1:${s3Port}`,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    });
    assert.deepEqual((await s3.send(new ListBucketsCommand({}))).Buckets ?? [], []);
    s3.destroy();

    const pgPid = Number(
      fs.readFileSync(path.join(state, "postgresql", "data", "postmaster.pid"), "utf8").split("\n")[0],
    );
    const s3Pid = Number(fs.readFileSync(path.join(state, "s3rver", "s3rver.pid"), "utf8"));
    assert.ok(alive(pgPid) && alive(s3Pid));

    const again = await run([], env);
    assert.equal(again.code, 0, again.out + again.err);
    assert.match(
      again.lines.postgresql.detail,
      /database shop, postgres without password; already up, started by this script$/,
    );
    assert.match(
      again.lines.s3.detail,
      new RegExp(`already up, s3rver pid ${s3Pid} started by this script$`),
    );
    assert.match(again.lines.images.detail, /\(already built\)$/);
    assert.equal(
      Number(
        fs.readFileSync(path.join(state, "postgresql", "data", "postmaster.pid"), "utf8").split("\n")[0],
      ),
      pgPid,
      "the same postmaster: nothing restarted",
    );
    assert.equal(Number(fs.readFileSync(path.join(state, "s3rver", "s3rver.pid"), "utf8")), s3Pid);

    const check = await run(["--check"], env);
    assert.equal(check.code, 0, check.out);
    assert.match(check.lines.postgresql.detail, /; started by this script$/);

    const stopped = await run(["--stop"], env);
    assert.equal(stopped.code, 0, stopped.out + stopped.err);
    assert.equal(stopped.lines.postgresql.state, "stopped");
    assert.equal(stopped.lines.s3.state, "stopped");
    assert.deepEqual(stopped.lines.docker, { state: "left", detail: "not started by this script" });
    assert.ok(!alive(pgPid) && !alive(s3Pid));
    assert.ok(fs.existsSync(path.join(state, "postgresql", "data", "PG_VERSION")), "data kept");
    assert.equal((await run(["--check"], env)).code, 1);

    // Started again on the kept data: the database is still there.
    const restarted = await run([], env);
    assert.equal(restarted.code, 0, restarted.out + restarted.err);
    assert.match(restarted.lines.postgresql.detail, /database shop, postgres without password; started now/);
    assert.equal((await run(["--stop"], env)).code, 0);
  });

  it("uses a server it did not start when it fits, and --stop leaves it running", async () => {
    const foreign = await startS3();
    const otherState = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-local-services-foreign-"));
    const foreignEnv = {
      ...env,
      GREENLIGHT_LOCAL_STATE: otherState,
      GREENLIGHT_S3_PORT: String(foreign.port),
    };
    try {
      const check = await run(["--check"], foreignEnv);
      assert.match(check.lines.s3.detail, /; not started by this script \(--stop leaves it\)$/);
      const stop = await run(["--stop"], foreignEnv);
      assert.deepEqual(stop.lines.s3, { state: "left", detail: "not started by this script" });
      const answer = await fetch(`${foreign.endpoint}/`);
      assert.equal(answer.status, 200, "the foreign server still answers");
    } finally {
      await foreign.stop();
      fs.rmSync(otherState, { recursive: true, force: true });
    }
  });

  it("refuses a PostgreSQL on its port that wants the admin's password, saying what to do", async () => {
    const foreign = await startPostgres();
    const otherState = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-local-services-foreign-"));
    try {
      const started = await run([], {
        ...env,
        GREENLIGHT_LOCAL_STATE: otherState,
        GREENLIGHT_PG_PORT: String(foreign.port),
      });
      assert.equal(started.code, 1);
      assert.equal(started.lines.postgresql.state, "down");
      assert.match(
        started.lines.postgresql.detail,
        new RegExp(
          `127\\.0\\.0\\.1:${foreign.port} answers, but postgres cannot log in without a password .*run with GREENLIGHT_PG_PORT=<free port> and set greenlight:dbPort to it$`,
        ),
      );
      assert.ok(!fs.existsSync(path.join(otherState, "postgresql")), "no cluster of its own was made");
      assert.deepEqual(
        await foreign.query("SELECT 1 AS one"),
        [{ one: 1 }],
        "the foreign server is untouched",
      );
      await run(["--stop"], {
        ...env,
        GREENLIGHT_LOCAL_STATE: otherState,
        GREENLIGHT_PG_PORT: String(foreign.port),
      });
    } finally {
      await foreign.stop();
      fs.rmSync(otherState, { recursive: true, force: true });
    }
  });

  it("--check creates nothing, not even its state folder", async () => {
    const missing = path.join(state, "never-created");
    const check = await run(["--check"], { ...env, GREENLIGHT_LOCAL_STATE: missing });
    assert.equal(check.code, 1, check.out);
    assert.equal(check.lines.postgresql.state, "down");
    assert.ok(!fs.existsSync(missing));
  });

  it("a stack file that is not YAML is one line naming it, exit 2, no stack trace", async () => {
    const file = path.join(state, "..", "broken.yaml");
    fs.writeFileSync(file, "config:\n  greenlight:dbPort: [1\n");
    const broken = await run(["--check"], { ...env, GREENLIGHT_STACK_FILE: file });
    assert.equal(broken.code, 2);
    assert.equal(broken.out, "");
    assert.match(
      broken.err,
      /^local-services: .*broken\.yaml is not readable YAML: Flow sequence .*; fix the file/,
    );
    assert.equal(broken.err.trimEnd().split("\n").length, 1, broken.err);
    assert.doesNotMatch(broken.err, /\bat .*\(.*:\d+:\d+\)|node:internal/);
  });

  it("a user Docker's socket refuses is told to join the docker group, not that Docker is stopped", async function () {
    // Root passes any socket's permissions: the check runs as nobody (setpriv, util-linux).
    if (process.getuid?.() !== 0 || !fs.existsSync("/var/run/docker.sock")) this.skip();
    const child = spawn(
      "setpriv",
      ["--reuid=65534", "--regid=65534", "--clear-groups", "bash", SCRIPT, "--check"],
      { cwd: ROOT, env: { ...process.env, ...env, HOME: "/tmp" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
    assert.equal(code, 1, out);
    assert.match(
      out,
      /^docker +down +Docker's socket refuses nobody \(permission denied\): add the user to the docker group/m,
    );
  });

  it("a usage error is one line and exit 2; --help exits 0", async () => {
    const bad = await run(["--restart"], env);
    assert.equal(bad.code, 2);
    assert.equal(bad.out, "");
    assert.equal(
      bad.err,
      "local-services: unknown argument '--restart'; use --check, --stop or nothing (start); --help explains\n",
    );
    const help = await run(["--help"], env);
    assert.equal(help.code, 0);
    assert.match(help.out, /^Starts and checks what a real `pulumi up --stack local` needs/);
    assert.match(help.out, /--stop +stop what this script started/);
  });
});
