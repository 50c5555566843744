// The whole policy pack, in-process as npm run plan runs it, over a synthetic graph of 1,000+ resources
// (whole releases: bucket and companions, roles, record, backup, migration, slots, gate, switch).
import { evaluatePolicies } from "../tools/policy-runner";
import { loadPolicyConfig } from "../tools/policy-runner/config";
import { syntheticGraph } from "../tests/policies/release-graph";
import { BenchResult } from "./result";

const RUNS = 15;
/** Runs before measuring, so the median is of warmed-up code (the cold run is reported apart). */
const WARMUP = 3;
const GOAL_MS = 100;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function timeOnce(run: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

export async function benchPolicies(): Promise<BenchResult[]> {
  const resources = syntheticGraph(1000);
  const policyConfig = loadPolicyConfig("production");
  // Friday 15:00 UTC: outside the window, so the calendar searches for the next opening on every record.
  const at = new Date("2026-11-27T15:00:00Z");
  const judge = (preview: boolean) => () =>
    evaluatePolicies({ resources, stack: "production", at, preview, policyConfig });

  const cold = await timeOnce(judge(false));
  for (let run = 0; run < WARMUP; run++) await judge(run % 2 === 0)();
  const update: number[] = [];
  const preview: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    update.push(await timeOnce(judge(false)));
    preview.push(await timeOnce(judge(true)));
  }
  const result = (name: string, value: number, goal?: boolean): BenchResult => ({
    name,
    value: Math.round(value * 10) / 10,
    unit: "ms",
    ...(goal ? { goal: `< ${GOAL_MS} ms`, ok: value < GOAL_MS } : {}),
  });
  return [
    result(
      `policy pack, ${resources.length} resources, as an update (median of ${RUNS})`,
      median(update),
      true,
    ),
    result(
      `policy pack, ${resources.length} resources, as a preview (median of ${RUNS})`,
      median(preview),
      true,
    ),
    result(`policy pack, ${resources.length} resources, first run (cold caches)`, cold),
  ];
}
