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
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { pgBinary } from "../ops/lib/postgres";
import { downloadObject, s3Client } from "../ops/lib/s3";
import { childExit } from "../ops/lib/stream";
import { buildSampleImage } from "../tests/fixtures/app/build";
import { ensureDocker } from "../tests/support/docker";
import { startPostgres } from "../tests/support/postgres";
import { startS3 } from "../tests/support/s3";
import { Measured, awsCli, compileCli, generateShop, lastReport, measure, median } from "./data-support";
import { BenchResult } from "./result";

const PROJECT_DIR = path.resolve(__dirname, "..");
const BUCKET = "bench-backups";
const GOAL_RATIO = 1.1;
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
/** The phase timings a restore drill reports in its JSON. */
type DrillPhases = { download: number; restore: number; compare: number; total: number };
/** The timings a rehearsal reports: getting the copy, dropping it, all of it. */
type RehearsalSeconds = { copy: number; drop: number; total: number; container: number };

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
    const client = s3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    const pgDump = pgBinary("pg_dump", env);
    const pgRestore = pgBinary("pg_restore", env);
    const jobs = Math.min(4, os.cpus().length);

    /** `pg_dump -Fc | <uploader>`, in processes of their own like the step (s3rver runs in this one). */
    const rawPipeline = (uploader: string) =>
      measure(
        "bash",
        ["-o", "pipefail", "-c", `"${pgDump}" --format=custom --no-password | ${uploader}`],
        env,
      );
    /** Baseline 1: the AWS SDK's multipart upload from stdin, as the step uploads (no hash, no checks). */
    const rawSdk = (round: number) =>
      rawPipeline(`"${process.execPath}" -e '${SDK_UPLOADER}' ${BUCKET} raw-sdk/${round}.dump`);
    /** Baseline 2: the awscli (another client, another language). */
    const rawCli = (round: number) =>
      rawPipeline(
        `"${aws}" --endpoint-url "${s3.endpoint}" --only-show-errors s3 cp - "s3://${BUCKET}/raw-cli/${round}.dump"`,
      );
    /** One data step of the compiled CLI on the bench's bucket, timed with its peak RSS. */
    const opsStep = (step: string, release: string, extra: string[], stepEnv = env) =>
      measure(
        process.execPath,
        [cli, step, "--bucket", BUCKET, "--prefix", "db", "--stack", "bench", "--release", release, ...extra],
        stepEnv,
      );
    /** migrate or rehearse: the sample app's migrator in `image`, as the migrator (here the admin). */
    const migratorStep = (step: string, release: string, image: string, extra: string[] = []) =>
      opsStep(
        step,
        release,
        ["--image", image, "--command-json", '["node","/app/migrate.js"]', "--network", "host", ...extra],
        { ...env, DATABASE_URL: pg.url("shop") },
      );
    const backupStep = (release: string, extra: string[] = []) =>
      opsStep("backup", release, ["--progress-seconds", "0", "--min-size-ratio", "0", ...extra]);

    await backupStep("previous");
    await migratorStep("migrate", "previous", migratedImage);

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
        if (run === "unverified") unverified.push(await backupStep(`u${round}`, ["--no-verify"]));
        if (run === "step") {
          const result = await backupStep(`r${round}`);
          steps.push(result);
          const manifest = lastReport<{ bytes: number; seconds?: BackupSeconds }>(result.stdout);
          dumpBytes = manifest.bytes;
          if (manifest.seconds) stepSeconds.push(manifest.seconds);
          release = `r${round}`;
        }
      }
    }

    const rawRestore = async (round: number) => {
      const file = path.join(work, "raw.dump");
      const database = `raw_restore_${round}`;
      const started = process.hrtime.bigint();
      const key = lastReport<{ dumpKey: string }>(steps[steps.length - 1].stdout).dumpKey;
      await downloadObject(client, BUCKET, key, file);
      await pg.query(`CREATE DATABASE ${database} TEMPLATE template0`);
      const restore = spawn(
        pgRestore,
        ["--no-password", `--jobs=${jobs}`, "--no-owner", "--no-acl", `--dbname=${database}`, file],
        { env, stdio: ["ignore", "ignore", "pipe"] },
      );
      if ((await childExit(restore)).code !== 0) throw new Error("raw pg_restore failed");
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      await pg.query(`DROP DATABASE ${database}`);
      fs.rmSync(file, { force: true });
      return seconds;
    };
    /** The same by hand in processes of their own: aws s3 cp, CREATE DATABASE with psql, pg_restore. */
    const psql = pgBinary("psql", env);
    const rawCliRestore = async (round: number) => {
      const file = path.join(work, "raw-cli.dump");
      const database = `raw_cli_restore_${round}`;
      const key = lastReport<{ dumpKey: string }>(steps[steps.length - 1].stdout).dumpKey;
      const result = await measure(
        "bash",
        [
          "-e",
          "-c",
          `"${aws}" --endpoint-url "${s3.endpoint}" --only-show-errors s3 cp "s3://${BUCKET}/${key}" "${file}"
           "${psql}" --no-password --quiet -d postgres -c "CREATE DATABASE ${database} TEMPLATE template0"
           "${pgRestore}" --no-password --jobs=${jobs} --no-owner --no-acl --dbname=${database} "${file}"`,
        ],
        env,
      );
      await pg.query(`DROP DATABASE ${database}`);
      fs.rmSync(file, { force: true });
      return result;
    };
    const drillStep = () =>
      opsStep("restore", release, ["--drill", `--jobs=${jobs}`, "--progress-seconds", "0"]);
    const handOverStep = () =>
      opsStep("restore", release, [
        "--drill",
        "--keep-for-rehearsal",
        `--jobs=${jobs}`,
        "--progress-seconds",
        "0",
      ]);
    const rehearsalStep = (copy: string) =>
      migratorStep("rehearse", release, sampleImage, ["--copy", copy, "--progress-seconds", "0"]);
    const rawRestores: number[] = [];
    const rawCliRestores: Measured[] = [];
    const drills: Measured[] = [];
    const handOvers: Measured[] = [];
    const rehearsals: Measured[] = [];
    const rehearsalSeconds: RehearsalSeconds[] = [];
    const phases: DrillPhases[] = [];
    const handOverPhases: DrillPhases[] = [];
    for (let round = 0; round < rounds; round++) {
      const drillFirst = round % 2 === 1;
      if (!drillFirst) rawRestores.push(await rawRestore(round));
      if (!drillFirst) rawCliRestores.push(await rawCliRestore(round));
      const result = await drillStep();
      drills.push(result);
      phases.push(lastReport<{ seconds: DrillPhases }>(result.stdout).seconds);
      const handOver = await handOverStep();
      handOvers.push(handOver);
      const kept = lastReport<{ seconds: DrillPhases; keptDatabase: string }>(handOver.stdout);
      handOverPhases.push(kept.seconds);
      const rehearsal = await rehearsalStep(kept.keptDatabase);
      rehearsals.push(rehearsal);
      const rehearsed = lastReport<{
        seconds: RehearsalSeconds;
        durationMs: number;
        migration: { outcome: string };
      }>(rehearsal.stdout);
      if (rehearsed.migration.outcome !== "skipped")
        throw new Error(`the migration-free rehearsal ran its migrator (${rehearsed.migration.outcome})`);
      rehearsalSeconds.push({ ...rehearsed.seconds, container: rehearsed.durationMs / 1000 });
      if (drillFirst) rawCliRestores.push(await rawCliRestore(round));
      if (drillFirst) rawRestores.push(await rawRestore(round));
    }
    const startup = await measure(process.execPath, [cli, "--help"], env);

    const seconds = (runs: Measured[]) => median(runs.map((run) => run.seconds));
    const cpu = (runs: Measured[]) =>
      runs.every((run) => run.cpuSeconds !== undefined)
        ? median(runs.map((run) => run.cpuSeconds as number))
        : NaN;
    const backup = seconds(steps);
    const drill = seconds(drills);
    const ratio = (name: string, value: number, base: number): BenchResult => ({
      name,
      value: value / base,
      unit: "×",
      goal: `≤ ${GOAL_RATIO}`,
      ok: value / base <= GOAL_RATIO,
    });
    const awsVersion = execFileSync(aws, ["--version"], { encoding: "utf8" }).trim().split(" ")[0];
    const results: BenchResult[] = [
      {
        name: `data: generated database (${dataMb} MB of rows asked)`,
        value: Math.round(databaseMb),
        unit: "MB",
      },
      { name: "data: pg_dump -Fc archive", value: Math.round(dumpBytes / 1e6), unit: "MB" },
      {
        name: `data: baseline pg_dump -Fc | SDK upload (median of ${rounds})`,
        value: seconds(sdk),
        unit: "s",
      },
      { name: `data: baseline pg_dump -Fc | ${awsVersion} s3 cp -`, value: seconds(awsRuns), unit: "s" },
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
      {
        name: `data: baseline SDK download + pg_restore -j${jobs} (median of ${rounds})`,
        value: median(rawRestores),
        unit: "s",
      },
      {
        name: `data: baseline ${awsVersion} s3 cp, psql CREATE DATABASE, pg_restore -j${jobs}`,
        value: seconds(rawCliRestores),
        unit: "s",
      },
      { name: `data: restore drill -j${jobs} (median of ${rounds})`, value: drill, unit: "s" },
      ratio("data: drill ÷ SDK baseline (in-process download)", drill, median(rawRestores)),
      {
        name: `data:   the same per round (${drills.map((run, round) => (run.seconds / rawRestores[round]).toFixed(2)).join(", ")}), worst`,
        value: Math.max(...drills.map((run, round) => run.seconds / rawRestores[round])),
        unit: "×",
      },
      ratio("data: drill ÷ awscli baseline", drill, seconds(rawCliRestores)),
      {
        name: "data: drill handing its copy to the rehearsal (as the program runs it)",
        value: seconds(handOvers),
        unit: "s",
      },
      ratio("data: that drill ÷ SDK baseline (in-process download)", seconds(handOvers), median(rawRestores)),
      ratio("data: that drill ÷ awscli baseline", seconds(handOvers), seconds(rawCliRestores)),
      {
        name: "data:   that drill's start-up and exit (no drop)",
        value: seconds(handOvers) - median(handOverPhases.map((report) => report.total)),
        unit: "s",
      },
      { name: "data: rehearsal of a migration-free release", value: seconds(rehearsals), unit: "s" },
      {
        name: "data:   of which dropping the copy (the drill alone drops it)",
        value: median(rehearsalSeconds.map((item) => item.drop)),
        unit: "s",
      },
      {
        name: "data:   of which the migrator's container (none: nothing pending)",
        value: median(rehearsalSeconds.map((item) => item.container)),
        unit: "s",
      },
      {
        name: "data:   what the rehearsal adds (rehearsal − its drop)",
        value: seconds(rehearsals) - median(rehearsalSeconds.map((item) => item.drop)),
        unit: "s",
        goal: "≤ 1 s",
        ok: seconds(rehearsals) - median(rehearsalSeconds.map((item) => item.drop)) <= 1,
      },
      {
        name: "data: drill + rehearsal ÷ the drill alone",
        value: (seconds(handOvers) + seconds(rehearsals)) / drill,
        unit: "×",
      },
      ...(["download", "restore", "compare"] as const).map((phase) => ({
        name: `data:   drill ${phase} phase (its own report)`,
        value: median(phases.map((report) => report[phase])),
        unit: "s",
      })),
      {
        name: "data:   drill start-up, scratch drop and exit",
        value: drill - median(phases.map((report) => report.total)),
        unit: "s",
      },
      { name: "data: compiled CLI start-up (--help)", value: startup.seconds, unit: "s" },
    ];
    for (const [name, runs] of [
      ["backup", steps],
      ["restore drill", drills],
    ] as const) {
      const peaks = runs.map((run) => run.peakMb).filter((peak): peak is number => peak !== undefined);
      if (peaks.length === 0) continue;
      const peak = Math.max(...peaks);
      results.push({
        name: `data: ${name} peak RSS`,
        value: Math.round(peak),
        unit: "MB",
        goal: `< ${GOAL_RSS_MB} MB`,
        ok: peak < GOAL_RSS_MB,
      });
    }
    return results;
  } finally {
    await s3.stop();
    await pg.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
