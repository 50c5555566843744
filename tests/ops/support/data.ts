// Shared by the data-step tests: the step environment for a test PostgreSQL and S3 server, running
// the real CLI (`node bin/greenlight-ops.js`, see cli.ts), and looking into the bucket.
import { execFileSync, spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import {
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { Client } from "pg";
import { PgCluster } from "../../support/postgres";
import { S3Server } from "../../support/s3";
import { CliProcess, spawnOps } from "./cli";

export const BUCKET = "greenlight-backups";
export const PREFIX = "db";
export const STACK = "local";

/** The environment the command resources give the data steps: libpq and AWS variables only. */
export function stepEnv(
  pg: PgCluster,
  s3: S3Server,
  database: string,
  overrides: Record<string, string | undefined> = {},
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PGHOST: pg.host,
    PGPORT: String(pg.port),
    PGUSER: pg.adminUser,
    PGPASSWORD: pg.adminPassword,
    PGDATABASE: database,
    // What the program gives the local stack's steps for a loopback database (greenlight:dbSslMode).
    PGSSLMODE: "disable",
    GREENLIGHT_S3_ENDPOINT: s3.endpoint,
    AWS_REGION: s3.region,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
  };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

export interface OpsRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The step's JSON line on stdout, if any. */
  json: Record<string, unknown> | undefined;
}

/** A running CLI call whose stderr can be watched before it ends. */
export interface OpsProcess extends Omit<CliProcess, "done"> {
  done: Promise<OpsRun>;
}

export function startOps(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 180_000): OpsProcess {
  const run = spawnOps(args, env, timeoutMs);
  const done = run.done.then(({ code, stdout, stderr }) => {
    const line = stdout.trim().split("\n").filter(Boolean).pop();
    let json: Record<string, unknown> | undefined;
    try {
      json = line ? (JSON.parse(line) as Record<string, unknown>) : undefined;
    } catch {
      json = undefined;
    }
    return { code, stdout, stderr: withoutSdkNotice(stderr), json };
  });
  return { ...run, done };
}

export function runOps(args: string[], env: NodeJS.ProcessEnv, timeoutMs?: number): Promise<OpsRun> {
  return startOps(args, env, timeoutMs).done;
}

/** The AWS SDK's Node-version notice is not the step's output. */
function withoutSdkNotice(stderr: string): string {
  return stderr.replace(
    /\(node:\d+\) Warning: NodeVersionSupportWarning[\s\S]*?--trace-warnings \.\.\.` to show where the warning was created\)\n/g,
    "",
  );
}

/** The step's one-line reason: the last stderr line. */
export function reason(run: OpsRun): string {
  return run.stderr.trim().split("\n").pop() ?? "";
}

/** `--bucket … --prefix … --stack … --release <release>`: where a data step finds or puts a backup. */
export function locationArgs(release: string): string[] {
  return ["--bucket", BUCKET, "--prefix", PREFIX, "--stack", STACK, "--release", release];
}

export function backupArgs(release: string, extra: string[] = []): string[] {
  return ["backup", ...locationArgs(release), "--progress-seconds", "1", ...extra];
}

export async function listKeys(s3: S3Server, prefix = `${PREFIX}/`): Promise<string[]> {
  const page = await s3.client().send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (page.Contents ?? []).map((object) => object.Key ?? "").sort();
}

/** The multipart uploads the S3 server holds open in the bucket, as "key uploadId". */
export async function openUploads(s3: S3Server): Promise<string[]> {
  const listing = await s3.client().send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
  return (listing.Uploads ?? []).map((upload) => `${upload.Key} ${upload.UploadId}`);
}

export async function getObject(s3: S3Server, key: string): Promise<Buffer> {
  const object = await s3.client().send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(
    await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
  );
}

export async function putObject(s3: S3Server, key: string, body: Buffer): Promise<void> {
  await s3.client().send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
}

/** Flips one byte in the middle of a stored object; calling it again puts it back. */
export async function flipMiddleByte(s3: S3Server, key: string): Promise<void> {
  const object = await getObject(s3, key);
  object[Math.floor(object.length / 2)] ^= 0xff;
  await putObject(s3, key, object);
}

export function sha256(data: Buffer): string {
  return crypto.createHash("sha256").update(data).digest("hex");
}

/** Runs SQL in one database as the admin. */
export async function sql<T = Record<string, unknown>>(
  pg: PgCluster,
  database: string,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  return pg.query<T>(text, params, database);
}

/** The shape of a database's schema: every column of every user table, for before/after comparisons. */
export async function schemaShape(pg: PgCluster, database: string): Promise<string[]> {
  const rows = await pg.query<{ line: string }>(
    `SELECT table_schema || '.' || table_name || '.' || column_name || ':' || data_type AS line
       FROM information_schema.columns WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
      ORDER BY 1`,
    [],
    database,
  );
  return rows.map((row) => row.line);
}

/** Databases whose name starts with a prefix (scratch databases a drill must drop). */
export async function databasesLike(pg: PgCluster, prefix: string): Promise<string[]> {
  const rows = await pg.query<{ datname: string }>(
    "SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1",
    [prefix],
  );
  return rows.map((row) => row.datname);
}

/** A pg client on a database as the admin (the caller ends it). */
export async function adminClient(pg: PgCluster, database: string): Promise<Client> {
  const client = new Client({ connectionString: pg.url(database) });
  await client.connect();
  return client;
}

/**
 * Restarts a cluster whose postmaster was killed, on the same port and data directory, and returns
 * a function that stops it again (before PgCluster.stop() removes the directory).
 */
export async function restartKilled(pg: PgCluster): Promise<() => Promise<void>> {
  const root = path.dirname(pg.dataDir);
  const socketDir = path.join(root, "sock");
  const pidFile = path.join(pg.dataDir, "postmaster.pid");
  const deadline = Date.now() + 30_000;
  // The killed postmaster's children notice and exit; its pid file stays behind and is stale.
  while (fs.existsSync(pidFile)) {
    const pid = Number(fs.readFileSync(pidFile, "utf8").split("\n")[0]);
    if (!alive(pid)) {
      fs.rmSync(pidFile, { force: true });
      break;
    }
    if (Date.now() > deadline) throw new Error("the killed postmaster did not go away");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const asRoot = process.getuid?.() === 0;
  const postgres = path.join(pg.binDir, "postgres");
  const args = [
    "-D",
    pg.dataDir,
    "-p",
    String(pg.port),
    "-k",
    socketDir,
    "-c",
    "listen_addresses=127.0.0.1",
    "-c",
    "fsync=off",
  ];
  const log = fs.openSync(path.join(root, "postgres-restart.log"), "a");
  const server = asRoot
    ? spawn("runuser", ["-u", "postgres", "--", postgres, ...args], { stdio: ["ignore", log, log] })
    : spawn(postgres, args, { stdio: ["ignore", log, log] });
  for (;;) {
    try {
      await pg.query("SELECT 1");
      break;
    } catch (error) {
      if (server.exitCode !== null || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  return async () => {
    try {
      process.kill(Number(fs.readFileSync(pidFile, "utf8").split("\n")[0]), "SIGQUIT");
    } catch {
      // Already stopped.
    }
    await new Promise<void>((resolve) => {
      if (server.exitCode !== null) return resolve();
      const timer = setTimeout(resolve, 5000);
      server.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  };
}

/** A directory of wrappers put first on PATH: `pg_dump` that cuts its archive short but exits 0. */
export function truncatingPgDump(dir: string, keep: "percent60" | "bytes100"): string {
  fs.mkdirSync(dir, { recursive: true });
  const realDump = ["/usr/bin/pg_dump", "/usr/lib/postgresql/15/bin/pg_dump"].find((file) =>
    fs.existsSync(file),
  );
  if (!realDump) throw new Error("pg_dump not found");
  const cut = keep === "percent60" ? '$(( $(stat -c %s "$tmp") * 6 / 10 ))' : "100";
  fs.writeFileSync(
    path.join(dir, "pg_dump"),
    [
      "#!/bin/sh",
      "# Test double: a pg_dump whose archive is cut short although it exits 0.",
      "tmp=$(mktemp)",
      `${realDump} "$@" > "$tmp" || exit $?`,
      `head -c ${cut} "$tmp"`,
      'rm -f "$tmp"',
      "exit 0",
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  return dir;
}

/** A file system of `megabytes` (tmpfs, needs root) mounted on a new directory; unmount() removes it. */
export function mountTmpfs(megabytes: number, parent: string): { dir: string; unmount(): void } {
  const dir = fs.mkdtempSync(path.join(parent, "tmpfs-"));
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${megabytes}m,mode=0700`, "tmpfs", dir], {
    stdio: "pipe",
  });
  return {
    dir,
    unmount() {
      execFileSync("umount", [dir], { stdio: "pipe" });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The processes a process started (direct children). */
export function childrenOf(pid: number): number[] {
  try {
    return execFileSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" })
      .split("\n")
      .map((line) => Number(line.trim()))
      .filter((child) => child > 0);
  } catch {
    return [];
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
