// The data steps against their raw tools, side by side in one run, on a generated database that
// compresses like real data (words of text, json documents, random bytes): the backup step against
// `pg_dump -Fc` streamed to the same S3 server through the AWS SDK's multipart upload and through
// `aws s3 cp -` (the awscli); the restore drill against downloading the dump and `pg_restore` with
// the same jobs, in the bench's own process and by hand (aws s3 cp, psql, pg_restore). It also says
// where the steps' extra time goes: the backup without its read-back (--no-verify), its checksum
// pass, the drill's own phases, CPU seconds and peak RSS. The drill runs twice: alone (it drops its
// copy) and as the program runs it before a migration rehearsal (it hands its copy over), then the
// rehearsal of a migration-free release on that copy, which drops it: production was migrated by a
// release whose image carries the same greenlight.migrations label, so no container runs.
// Size: GREENLIGHT_BENCH_DATA_MB (default 300, about four minutes on 2 CPUs); rounds:
// GREENLIGHT_BENCH_ROUNDS (default 3). The steps run as a compiled `greenlight-ops` (a build's
// start-up, not ts-node's); runs alternate raw/step, and each side reports its median.
// The restore half is bench/data-drill.ts; what both halves share, bench/data-support.ts.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { pgBinary } from "../ops/lib/postgres";
import { s3Client } from "../ops/lib/s3";
import { buildSampleImage } from "../tests/fixtures/app/build";
import { ensureDocker } from "../tests/support/docker";
import { startPostgres } from "../tests/support/postgres";
import { startS3 } from "../tests/support/s3";
import {
  BUCKET,
  DataBench,
  Measured,
  awsCli,
  compileCli,
  generateShop,
  lastReport,
  measure,
  median,
  ratio,
  seconds,
} from "./data-support";
import { restoreRounds } from "./data-drill";
import { BenchResult } from "./result";

const PROJECT_DIR = path.resolve(__dirname, "..");
const GOAL_RSS_MB = 200;

/** Baseline uploader run with `node -e`: stdin to s3://<argv[1]>/<argv[2]> with the step's part size and queue. */
const SDK_UPLOADER = [
  'const { S3Client } = require("@aws-sdk/client-s3");',
  'const { Upload } = require("@aws-sdk/lib-storage");',
  "const client = new S3Client({ endpoint: process.env.GREENLIGHT_S3_ENDPOINT, forcePathStyle: true, region: process.env.AWS_REGION });",
  "const [bucket, key] = process.argv.slice(1);",
  "new Upload({ client, params: { Bucket: bucket, Key: key, Body: process.stdin }, partSize: 8 * 1024 * 1024, queueSize: 4 })",
  "  .done().catch((error) => { console.error(error.message); process.exit(1); });",
].join("\n");

/** The backup manifest's timings (when the step reports them). */
type BackupSeconds = { dump: number; checksums: number; total: number };

export async function benchData(): Promise<BenchResult[]> {
  const dataMb = Number(process.env.GREENLIGHT_BENCH_DATA_MB ?? "300");
  const rounds = Number(process.env.GREENLIGHT_BENCH_ROUNDS ?? "3");
  if (!(dataMb >= 10 && dataMb <= 20000))
    throw new Error(`GREENLIGHT_BENCH_DATA_MB=${dataMb}: use 10 to 20000 (MB of table data)`);
  if (!(Number.isInteger(rounds) && rounds >= 1 && rounds <= 20))
    throw new Error(`GREENLIGHT_BENCH_ROUNDS=${rounds}: use 1 to 20`);
  const aws = awsCli();
  if (!aws) throw new Error("the awscli baseline needs aws: apt-get install awscli");
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-bench-data-"));
  const pg = await startPostgres();
  const s3 = await startS3();
  try {
    await s3.createBucket(BUCKET);
    const cli = compileCli(path.join(work, "build"));
    await pg.query("CREATE DATABASE shop");
    await generateShop((sql) => pg.query(sql, [], "shop"), dataMb);
    // The sample app's migrations as already applied: its migrator then finds nothing to do.
    await pg.query(
      `CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
       INSERT INTO schema_migrations (version, name) VALUES (1, '001_create_orders.sql'), (2, '002_add_order_status.sql')`,
      [],
      "shop",
    );
    await ensureDocker();
    // Production was migrated by a release that brought migration 003 (mig-additive); the release the
    // rehearsal runs for carries the same migrations (mig-none), so nothing is pending.
    const migratedImage = buildSampleImage("mig-additive").ref;
    const sampleImage = buildSampleImage("mig-none").ref;
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
      PGSSLMODE: "disable",
      GREENLIGHT_S3_ENDPOINT: s3.endpoint,
      AWS_REGION: s3.region,
      AWS_DEFAULT_REGION: s3.region,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: "true",
    };
    const opsStep = (step: string, release: string, extra: string[], stepEnv = env) =>
      measure(
        process.execPath,
        [cli, step, "--bucket", BUCKET, "--prefix", "db", "--stack", "bench", "--release", release, ...extra],
        stepEnv,
      );
    const bench: DataBench = {
      pg,
      s3,
      client: s3Client({
        endpoint: s3.endpoint,
        region: s3.region,
        credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      }),
      env,
      work,
      aws,
      awsVersion: execFileSync(aws, ["--version"], { encoding: "utf8" }).trim().split(" ")[0],
      jobs: Math.min(4, os.cpus().length),
      rounds,
      opsStep,
      migratorStep: (step, release, image, extra = []) =>
        opsStep(
          step,
          release,
          ["--image", image, "--command-json", '["node","/app/migrate.js"]', "--network", "host", ...extra],
          { ...env, DATABASE_URL: pg.url("shop") },
        ),
    };

    await backupStep(bench, "previous");
    await bench.migratorStep("migrate", "previous", migratedImage);
    const backups = await backupRounds(bench);
    const restores = await restoreRounds(bench, backups.release, backups.dumpKey, sampleImage);
    const startup = await measure(process.execPath, [cli, "--help"], env);
    return [
      {
        name: `data: generated database (${dataMb} MB of rows asked)`,
        value: Math.round(databaseMb),
        unit: "MB",
      },
      ...backups.results,
      ...restores.results,
      { name: "data: compiled CLI start-up (--help)", value: startup.seconds, unit: "s" },
      ...peakRss([
        ["backup", backups.steps],
        ["restore drill", restores.drills],
      ]),
    ];
  } finally {
    await s3.stop();
    await pg.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

const backupStep = (bench: DataBench, release: string, extra: string[] = []) =>
  bench.opsStep("backup", release, ["--progress-seconds", "0", "--min-size-ratio", "0", ...extra]);

/**
 * The backup step against `pg_dump -Fc` streamed to S3 by the AWS SDK and by the awscli, `rounds` times
 * each in alternating order, with the step's own timings and a run without its read-back.
 */
async function backupRounds(
  bench: DataBench,
): Promise<{ results: BenchResult[]; steps: Measured[]; release: string; dumpKey: string }> {
  const { env, aws, s3, rounds } = bench;
  const pgDump = pgBinary("pg_dump", env);
  /** `pg_dump -Fc | <uploader>`, in processes of their own like the step (s3rver runs in this one). */
  const rawPipeline = (uploader: string) =>
    measure("bash", ["-o", "pipefail", "-c", `"${pgDump}" --format=custom --no-password | ${uploader}`], env);
  /** Baseline 1: the AWS SDK's multipart upload from stdin, as the step uploads (no hash, no checks). */
  const rawSdk = (round: number) =>
    rawPipeline(`"${process.execPath}" -e '${SDK_UPLOADER}' ${BUCKET} raw-sdk/${round}.dump`);
  /** Baseline 2: the awscli (another client, another language). */
  const rawCli = (round: number) =>
    rawPipeline(
      `"${aws}" --endpoint-url "${s3.endpoint}" --only-show-errors s3 cp - "s3://${BUCKET}/raw-cli/${round}.dump"`,
    );

  const sdk: Measured[] = [];
  const awsRuns: Measured[] = [];
  const steps: Measured[] = [];
  const unverified: Measured[] = [];
  const stepSeconds: BackupSeconds[] = [];
  let dumpBytes = 0;
  let release = "";
  for (let round = 0; round < rounds; round++) {
    // Alternate the order, so a machine getting busier does not favour one side.
    const order =
      round % 2 === 0 ? ["sdk", "aws", "step", "unverified"] : ["step", "unverified", "aws", "sdk"];
    for (const run of order) {
      if (run === "sdk") sdk.push(await rawSdk(round));
      if (run === "aws") awsRuns.push(await rawCli(round));
      if (run === "unverified") unverified.push(await backupStep(bench, `u${round}`, ["--no-verify"]));
      if (run === "step") {
        const result = await backupStep(bench, `r${round}`);
        steps.push(result);
        const manifest = lastReport<{ bytes: number; seconds?: BackupSeconds }>(result.stdout);
        dumpBytes = manifest.bytes;
        if (manifest.seconds) stepSeconds.push(manifest.seconds);
        release = `r${round}`;
      }
    }
  }
  const dumpKey = lastReport<{ dumpKey: string }>(steps[steps.length - 1].stdout).dumpKey;
  const cpu = (runs: Measured[]) =>
    runs.every((run) => run.cpuSeconds !== undefined)
      ? median(runs.map((run) => run.cpuSeconds as number))
      : NaN;
  const backup = seconds(steps);
  const results: BenchResult[] = [
    { name: "data: pg_dump -Fc archive", value: Math.round(dumpBytes / 1e6), unit: "MB" },
    { name: `data: baseline pg_dump -Fc | SDK upload (median of ${rounds})`, value: seconds(sdk), unit: "s" },
    { name: `data: baseline pg_dump -Fc | ${bench.awsVersion} s3 cp -`, value: seconds(awsRuns), unit: "s" },
    { name: `data: backup step (median of ${rounds})`, value: backup, unit: "s" },
    ratio("data: backup ÷ SDK baseline", backup, seconds(sdk)),
    ratio("data: backup ÷ awscli baseline", backup, seconds(awsRuns)),
    { name: "data:   backup --no-verify (no read-back)", value: seconds(unverified), unit: "s" },
    {
      name: "data:   read-back's share (backup − --no-verify)",
      value: backup - seconds(unverified),
      unit: "s",
    },
    ...(stepSeconds.length > 0
      ? [
          {
            name: "data:   pg_dump inside the step",
            value: median(stepSeconds.map((s) => s.dump)),
            unit: "s",
          },
          {
            name: "data:   checksum pass beside it (wall)",
            value: median(stepSeconds.map((s) => s.checksums)),
            unit: "s",
          },
        ]
      : []),
    { name: "data:   CPU: SDK baseline (pg_dump + node)", value: cpu(sdk), unit: "s" },
    { name: "data:   CPU: awscli baseline (pg_dump + aws)", value: cpu(awsRuns), unit: "s" },
    { name: "data:   CPU: backup step (node + pg_dump + pg_restore)", value: cpu(steps), unit: "s" },
  ];
  return { results, steps, release, dumpKey };
}

/** Each step's highest peak RSS over its runs, against the goal. */
function peakRss(steps: [string, Measured[]][]): BenchResult[] {
  return steps.flatMap(([name, runs]) => {
    const peaks = runs.map((run) => run.peakMb).filter((peak): peak is number => peak !== undefined);
    if (peaks.length === 0) return [];
    const peak = Math.max(...peaks);
    return [
      {
        name: `data: ${name} peak RSS`,
        value: Math.round(peak),
        unit: "MB",
        goal: `< ${GOAL_RSS_MB} MB`,
        ok: peak < GOAL_RSS_MB,
      },
    ];
  });
}
