// `npm run plan -- --stack local`, as a user runs it (a new process each time), median of several runs:
// the compiled build (what npm ci leaves) side by side with the sources through ts-node (a stale build),
// alternated so a drifting machine speed moves both alike.
import { spawnSync } from "child_process";
import * as path from "path";
import { BenchResult } from "./result";

const RUNS = 7;
const GOAL_MS = 3000;
const ROOT = path.join(__dirname, "..");

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function planOnce(fromSources: boolean): number {
  const started = process.hrtime.bigint();
  const run = spawnSync(process.execPath, ["bin/launch.js", "tools/plan/cli", "--stack", "local"], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, ...(fromSources ? { GREENLIGHT_NO_BUILD: "1" } : {}) },
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (run.status !== 0) throw new Error(`npm run plan -- --stack local exited ${run.status}: ${run.stderr}`);
  return ms;
}

export async function benchPlan(): Promise<BenchResult[]> {
  const build = spawnSync(
    process.execPath,
    [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.build.json"],
    {
      cwd: ROOT,
      encoding: "utf8",
    },
  );
  if (build.status !== 0) throw new Error(`npm run build failed: ${build.stdout}${build.stderr}`);
  planOnce(false);
  const compiled: number[] = [];
  const sources: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    compiled.push(planOnce(false));
    sources.push(planOnce(true));
  }
  const [fast, slow] = [median(compiled), median(sources)];
  return [
    {
      name: `npm run plan -- --stack local, compiled (median of ${RUNS})`,
      value: Math.round(fast),
      unit: "ms",
      goal: `≤ ${GOAL_MS} ms`,
      ok: fast <= GOAL_MS,
    },
    {
      name: `  the same from the sources through ts-node (median of ${RUNS})`,
      value: Math.round(slow),
      unit: "ms",
    },
    { name: "  compiled ÷ sources", value: Math.round((fast / slow) * 100) / 100, unit: "×" },
  ];
}
