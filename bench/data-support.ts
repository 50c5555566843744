// The data bench's tools: timing a process (GNU time's peak RSS and CPU), compiling the steps as a
// build would, finding the awscli, and generating a database that compresses like real data; and what
// the backup and restore halves share (DataBench, the ratio against a baseline).
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { S3Client } from "@aws-sdk/client-s3";
import { childExit } from "../ops/lib/stream";
import { PgCluster } from "../tests/support/postgres";
import { S3Server } from "../tests/support/s3";
import { BenchResult } from "./result";

const PROJECT_DIR = path.resolve(__dirname, "..");

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Compiles ops/ into a temporary folder, as `npm run build` would, and returns its cli.js. */
export function compileCli(outDir: string): string {
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

/** Wall seconds, and with GNU time the peak RSS (MB) and CPU seconds of the process and its children. */
export interface Measured {
  seconds: number;
  peakMb?: number;
  cpuSeconds?: number;
  stdout: string;
}

/** Runs a process to completion under GNU time when it is there. */
export async function measure(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<Measured> {
  const timeFile = path.join(os.tmpdir(), `greenlight-bench-time-${process.pid}`);
  const gnuTime = fs.existsSync("/usr/bin/time");
  const started = process.hrtime.bigint();
  const child: ChildProcess = gnuTime
    ? spawn("/usr/bin/time", ["-f", "%M %U %S", "-o", timeFile, command, ...args], {
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
      `${path.basename(command)} ${args.slice(0, 2).join(" ")} failed: ${exit.stderr.trim().split("\n").pop()}`,
    );
  if (!gnuTime) return { seconds, stdout };
  const [peakKb, user, system] = fs.readFileSync(timeFile, "utf8").trim().split("\n").pop()?.split(" ") ?? [];
  fs.rmSync(timeFile, { force: true });
  return { seconds, peakMb: Number(peakKb) / 1024, cpuSeconds: Number(user) + Number(system), stdout };
}

/** The JSON report a data step prints as its last stdout line. */
export function lastReport<T>(stdout: string): T {
  return JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as T;
}

/** The Debian awscli when installed (apt-get install awscli), else the first `aws` on PATH. */
export function awsCli(): string | undefined {
  if (fs.existsSync("/usr/bin/aws")) return "/usr/bin/aws";
  try {
    return execFileSync("sh", ["-c", "command -v aws"], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * A shop whose data compresses like real data: notes of words drawn from a vocabulary, json
 * documents with numbers and words, random bytes (incompressible). `megabytes` is the table data.
 */
export async function generateShop(
  query: (sql: string) => Promise<unknown>,
  megabytes: number,
): Promise<void> {
  // About 1 KB per order (note ~350 B, bytes 256 B, rest) and 600 B per event.
  const orders = Math.max(1000, Math.round((megabytes * 1e6 * 0.6) / 1000));
  const events = Math.max(1000, Math.round((megabytes * 1e6 * 0.4) / 600));
  await query(`
    CREATE TABLE words (id int PRIMARY KEY, word text NOT NULL);
    INSERT INTO words
      SELECT g, substr(md5(g::text), 1, 3 + g % 7) || (ARRAY['ing', 'ed', 's', '', 'tion', 'ly'])[1 + g % 6]
        FROM generate_series(0, 1999) g;
    CREATE FUNCTION sentence(n int, seed float8) RETURNS text LANGUAGE sql AS $$
      SELECT string_agg(w.word, ' ') FROM generate_series(1, n) i
        JOIN words w ON w.id = (floor(2000 * power(abs(sin(seed * 1000 + i * 7.13)), 3)))::int % 2000 $$;
    CREATE TABLE orders (id bigserial PRIMARY KEY, customer text NOT NULL, total_cents int NOT NULL,
                         status text NOT NULL, note text, receipt bytea, created_at timestamptz NOT NULL);
    INSERT INTO orders (customer, total_cents, status, note, receipt, created_at)
      SELECT 'customer-' || (random() * 200000)::int, (random() * 100000)::int,
             (ARRAY['new', 'paid', 'shipped', 'returned'])[1 + (random() * 3)::int],
             sentence(50 + (random() * 20)::int, random()),
             sha512(random()::text::bytea) || sha512(random()::text::bytea) || sha512(random()::text::bytea) || sha512(random()::text::bytea),
             timestamptz '2026-01-01' + random() * interval '300 days'
        FROM generate_series(1, ${orders});
    CREATE TABLE order_events (id bigserial PRIMARY KEY, order_id bigint NOT NULL, kind text NOT NULL, payload jsonb NOT NULL);
    INSERT INTO order_events (order_id, kind, payload)
      SELECT 1 + (random() * ${orders - 1})::bigint, 'kind-' || (random() * 6)::int,
             jsonb_build_object('amount', round((random() * 1000)::numeric, 2), 'items', (random() * 9)::int,
                                'comment', sentence(25, random()), 'device', md5(random()::text),
                                'at', now() - random() * interval '90 days')
        FROM generate_series(1, ${events});
    CREATE INDEX order_events_order ON order_events (order_id);`);
  await query("VACUUM ANALYZE");
}

/** What both halves of the bench share: the services, the environment and the compiled steps. */
export interface DataBench {
  pg: PgCluster;
  s3: S3Server;
  client: S3Client;
  env: NodeJS.ProcessEnv;
  work: string;
  aws: string;
  awsVersion: string;
  jobs: number;
  rounds: number;
  /** One data step of the compiled CLI on the bench's bucket, timed with its peak RSS. */
  opsStep(step: string, release: string, extra: string[], stepEnv?: NodeJS.ProcessEnv): Promise<Measured>;
  /** migrate or rehearse: the sample app's migrator in `image`, as the migrator (here the admin). */
  migratorStep(step: string, release: string, image: string, extra?: string[]): Promise<Measured>;
}

export const BUCKET = "bench-backups";
export const GOAL_RATIO = 1.1;

export const seconds = (runs: Measured[]) => median(runs.map((run) => run.seconds));

export const ratio = (name: string, value: number, base: number): BenchResult => ({
  name,
  value: value / base,
  unit: "×",
  goal: `≤ ${GOAL_RATIO}`,
  ok: value / base <= GOAL_RATIO,
});
