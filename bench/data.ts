// The data steps against their raw tools, side by side in one run, on a generated database (~1 GB;
// GREENLIGHT_BENCH_SCALE=0.1 for a quick run): the backup step against `pg_dump -Fc` streamed to the
// same S3 server, the restore drill against downloading the dump and `pg_restore` with the same jobs,
// and the backup step's peak RSS. The steps run as a compiled `greenlight-ops` (a build's start-up,
// not ts-node's); runs alternate raw/step and each side reports its median.
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Upload } from "@aws-sdk/lib-storage";
import { pgBinary } from "../ops/postgres";
import { downloadObject, s3Client } from "../ops/s3";
import { childExit } from "../ops/stream";
import { startPostgres } from "../tests/support/postgres";
import { startS3 } from "../tests/support/s3";
import { BenchResult } from "./result";

const PROJECT_DIR = path.resolve(__dirname, "..");
const BUCKET = "bench-backups";
const GOAL_RATIO = 1.15;
const GOAL_RSS_MB = 256;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Compiles ops/ into a temporary folder, as `npm run build` would, and returns its cli.js. */
function compileCli(outDir: string): string {
  const tsc = path.join(PROJECT_DIR, "node_modules", "typescript", "bin", "tsc");
  const cli = path.join(outDir, "ops", "cli.js");
  try {
    execFileSync(
      process.execPath,
      [
        tsc,
        ...["--outDir", outDir, "--rootDir", PROJECT_DIR, "--module", "commonjs", "--target", "ES2022"],
        ...["--moduleResolution", "node", "--esModuleInterop", "--skipLibCheck", "--resolveJsonModule"],
        path.join(PROJECT_DIR, "ops", "cli.ts"),
      ],
      { stdio: "pipe" },
    );
  } catch (error) {
    // tsc emits despite type errors elsewhere in the tree; only a missing cli.js stops the bench.
    if (!fs.existsSync(cli)) throw error;
  }
  return cli;
}

/** Runs a process to completion; returns seconds and, when GNU time is there, its peak RSS in MB. */
async function measure(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ seconds: number; peakMb?: number; stdout: string }> {
  const timeFile = path.join(os.tmpdir(), `greenlight-bench-time-${process.pid}`);
  const gnuTime = fs.existsSync("/usr/bin/time");
  const started = process.hrtime.bigint();
  const child: ChildProcess = gnuTime
    ? spawn("/usr/bin/time", ["-f", "%M", "-o", timeFile, command, ...args], {
        env,
        stdio: ["ignore", "pipe", "pipe"],
      })
    : spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  const exit = await childExit(child);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (exit.code !== 0)
    throw new Error(
      `${path.basename(command)} ${args[1] ?? ""} failed: ${exit.stderr.trim().split("\n").pop()}`,
    );
  let peakMb: number | undefined;
  if (gnuTime) {
    peakMb = Number(fs.readFileSync(timeFile, "utf8").trim().split("\n").pop()) / 1024;
    fs.rmSync(timeFile, { force: true });
  }
  return { seconds, peakMb, stdout };
}

/** The JSON report a data step prints as its last stdout line. */
function lastReport(stdout: string): unknown {
  return JSON.parse(stdout.trim().split("\n").pop() ?? "{}");
}

/** The phase timings a restore drill reports in its JSON (download, restore, compare after restore). */
type DrillPhases = { download: number; restore: number; compare: number };

function drillPhases(stdout: string): DrillPhases {
  const report = lastReport(stdout) as { seconds?: DrillPhases };
  if (!report.seconds) throw new Error("the restore drill printed no report with phase timings");
  return report.seconds;
}

export async function benchData(): Promise<BenchResult[]> {
  const scale = Number(process.env.GREENLIGHT_BENCH_SCALE ?? "1");
  const rounds = Number(process.env.GREENLIGHT_BENCH_ROUNDS ?? "2");
  if (!(scale > 0 && scale <= 10))
    throw new Error(`GREENLIGHT_BENCH_SCALE=${scale}: use a factor in (0, 10]`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-bench-data-"));
  const pg = await startPostgres();
  const s3 = await startS3();
  try {
    await s3.createBucket(BUCKET);
    const cli = compileCli(path.join(work, "build"));
    await pg.query("CREATE DATABASE shop");
    const orders = Math.round(4_000_000 * scale);
    const events = Math.round(2_500_000 * scale);
    await pg.query(
      `CREATE TABLE orders (id bigserial PRIMARY KEY, customer text NOT NULL, total_cents int NOT NULL, status text NOT NULL,
                            note text, created_at timestamptz NOT NULL);
       INSERT INTO orders (customer, total_cents, status, note, created_at)
         SELECT 'customer-' || (g % 200000), ((g::bigint * 7919) % 100000)::int, (ARRAY['new', 'paid', 'shipped'])[1 + g % 3],
                md5(g::text) || ' ' || md5((g * 31)::text), timestamptz '2026-01-01' + g * interval '1 second'
           FROM generate_series(1, ${orders}) g;
       CREATE TABLE order_events (id bigserial PRIMARY KEY, order_id bigint NOT NULL, kind text NOT NULL, payload jsonb NOT NULL);
       INSERT INTO order_events (order_id, kind, payload)
         SELECT 1 + g % ${orders}, 'kind-' || g % 7, jsonb_build_object('n', g, 'h', md5(g::text))
           FROM generate_series(1, ${events}) g;`,
      [],
      "shop",
    );
    await pg.query("VACUUM ANALYZE", [], "shop");
    const databaseMb =
      Number((await pg.query<{ size: string }>("SELECT pg_database_size('shop')::text AS size"))[0].size) /
      1e6;

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_PATH: path.join(PROJECT_DIR, "node_modules"),
      PGHOST: pg.host,
      PGPORT: String(pg.port),
      PGUSER: pg.adminUser,
      PGPASSWORD: pg.adminPassword,
      PGDATABASE: "shop",
      GREENLIGHT_S3_ENDPOINT: s3.endpoint,
      AWS_REGION: s3.region,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    };
    const client = s3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    const pgDump = pgBinary("pg_dump", env);
    const pgRestore = pgBinary("pg_restore", env);
    const jobs = Math.min(4, os.cpus().length);

    const rawDump = async (round: number) => {
      const started = process.hrtime.bigint();
      const dump = spawn(pgDump, ["--format=custom", "--no-password"], {
        env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      const exit = childExit(dump);
      const upload = new Upload({
        client,
        params: { Bucket: BUCKET, Key: `raw/${round}.dump`, Body: dump.stdout },
        partSize: 8 * 1024 * 1024,
        queueSize: 4,
      });
      await upload.done();
      if ((await exit).code !== 0) throw new Error("raw pg_dump failed");
      return Number(process.hrtime.bigint() - started) / 1e9;
    };
    /** One data step of the compiled CLI on the bench's bucket, timed with its peak RSS. */
    const opsStep = (step: string, release: string, extra: string[]) =>
      measure(
        process.execPath,
        [cli, step, "--bucket", BUCKET, "--prefix", "db", "--stack", "bench", "--release", release, ...extra],
        env,
      );
    const backupStep = (round: number) =>
      opsStep("backup", `r${round}`, ["--progress-seconds", "0", "--min-size-ratio", "0"]);

    const raw: number[] = [];
    const step: number[] = [];
    const stepRss: number[] = [];
    let dumpBytes = 0;
    let dumpKey = "";
    for (let round = 0; round < rounds; round++) {
      raw.push(await rawDump(round));
      const result = await backupStep(round);
      step.push(result.seconds);
      if (result.peakMb !== undefined) stepRss.push(result.peakMb);
      const manifest = lastReport(result.stdout) as {
        bytes: number;
        dumpKey: string;
      };
      dumpBytes = manifest.bytes;
      dumpKey = manifest.dumpKey;
    }

    const rawRestore = async (round: number) => {
      const file = path.join(work, "raw.dump");
      const database = `raw_restore_${round}`;
      const started = process.hrtime.bigint();
      await downloadObject(client, BUCKET, dumpKey, file);
      await pg.query(`CREATE DATABASE ${database} TEMPLATE template0`);
      const restore = spawn(
        pgRestore,
        ["--no-password", `--jobs=${jobs}`, "--no-owner", "--no-acl", `--dbname=${database}`, file],
        {
          env,
          stdio: ["ignore", "ignore", "pipe"],
        },
      );
      if ((await childExit(restore)).code !== 0) throw new Error("raw pg_restore failed");
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      await pg.query(`DROP DATABASE ${database}`);
      fs.rmSync(file, { force: true });
      return seconds;
    };
    const drillStep = () =>
      opsStep("restore", `r${rounds - 1}`, ["--drill", `--jobs=${jobs}`, "--progress-seconds", "0"]);
    const rawRestores: number[] = [];
    const drills: number[] = [];
    const drillRss: number[] = [];
    const phases: DrillPhases[] = [];
    for (let round = 0; round < rounds; round++) {
      rawRestores.push(await rawRestore(round));
      const result = await drillStep();
      drills.push(result.seconds);
      if (result.peakMb !== undefined) drillRss.push(result.peakMb);
      phases.push(drillPhases(result.stdout));
    }
    const startup = await measure(process.execPath, [cli, "--help"], env);

    const backupRatio = median(step) / median(raw);
    const drillRatio = median(drills) / median(rawRestores);
    const results: BenchResult[] = [
      { name: `data: generated database (scale ${scale})`, value: Math.round(databaseMb), unit: "MB" },
      { name: "data: pg_dump -Fc archive", value: Math.round(dumpBytes / 1e6), unit: "MB" },
      { name: `data: raw pg_dump -Fc → S3 upload (median of ${rounds})`, value: median(raw), unit: "s" },
      { name: `data: backup step (median of ${rounds})`, value: median(step), unit: "s" },
      {
        name: "data: backup step ÷ raw pg_dump",
        value: backupRatio,
        unit: "×",
        goal: `≤ ${GOAL_RATIO}`,
        ok: backupRatio <= GOAL_RATIO,
      },
      {
        name: `data: raw download + pg_restore -j${jobs} (median of ${rounds})`,
        value: median(rawRestores),
        unit: "s",
      },
      { name: `data: restore drill -j${jobs} (median of ${rounds})`, value: median(drills), unit: "s" },
      ...(["download", "restore", "compare"] as const).map((phase) => ({
        name: `data:   drill ${phase} phase (its own report, median)`,
        value: median(phases.map((report) => report[phase])),
        unit: "s",
      })),
      {
        name: "data: restore drill ÷ raw pg_restore",
        value: drillRatio,
        unit: "×",
        goal: `≤ ${GOAL_RATIO}`,
        ok: drillRatio <= GOAL_RATIO,
      },
      { name: "data: compiled CLI start-up (--help)", value: startup.seconds, unit: "s" },
    ];
    if (stepRss.length > 0) {
      const peak = Math.max(...stepRss);
      results.push({
        name: "data: backup step peak RSS (streamed)",
        value: Math.round(peak),
        unit: "MB",
        goal: `< ${GOAL_RSS_MB} MB`,
        ok: peak < GOAL_RSS_MB,
      });
    }
    if (drillRss.length > 0)
      results.push({
        name: "data: restore drill peak RSS",
        value: Math.round(Math.max(...drillRss)),
        unit: "MB",
      });
    return results;
  } finally {
    await s3.stop();
    await pg.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
