// The whole policy pack over a synthetic graph of 1,000+ resources (whole releases: bucket and companions,
// roles, record, backup, migration, slots, gate, switch), judged as npm run plan judges it: the pack served
// in its own process as the Pulumi CLI serves it, the engine's Analyze and AnalyzeStack calls over gRPC.
// The pack's start-up is reported apart; the goal is on judging the graph, within the plan's 3 s.
import { judge, startPack } from "../tools/policy-runner";
import { loadPolicyConfig } from "../tools/policy-runner/config";
import { syntheticGraph } from "../tests/policies/support/release-graph";
import { BenchResult } from "./result";

const RUNS = 15;
/** Runs before measuring, so the median is of warmed-up code (the cold run is reported apart). */
const WARMUP = 3;
// Served and called as the engine does, one Analyze per resource over gRPC (the in-process evaluator
// that met < 100 ms is gone: verdicts are judged one way only); the budget is now the plan's.
const GOAL_MS = 1000;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function timeOnce<T>(run: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = process.hrtime.bigint();
  const value = await run();
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, value };
}

export async function benchPolicies(): Promise<BenchResult[]> {
  const resources = syntheticGraph(1000);
  const policyConfig = loadPolicyConfig("production");
  // Friday 15:00 UTC: outside the window, so the calendar searches for the next opening on every record.
  const at = new Date("2026-11-27T15:00:00Z");
  const results: BenchResult[] = [];
  for (const preview of [false, true]) {
    const mode = preview ? "a preview" : "an update";
    const started = await timeOnce(() => startPack({ stack: "production", at, preview, policyConfig }));
    const server = started.value;
    try {
      const cold = await timeOnce(() => judge(server, resources, "production"));
      for (let run = 0; run < WARMUP; run++) await judge(server, resources, "production");
      const times: number[] = [];
      for (let run = 0; run < RUNS; run++)
        times.push((await timeOnce(() => judge(server, resources, "production"))).ms);
      const value = median(times);
      results.push(
        {
          name: `policy pack, ${resources.length} resources, as ${mode} (median of ${RUNS})`,
          value: Math.round(value * 10) / 10,
          unit: "ms",
          goal: `< ${GOAL_MS} ms`,
          ok: value < GOAL_MS,
        },
        { name: `  first judgement (cold), as ${mode}`, value: Math.round(cold.ms), unit: "ms" },
        {
          name: `  the pack's start-up (run-policy-pack, configure), as ${mode}`,
          value: Math.round(started.ms),
          unit: "ms",
        },
      );
    } finally {
      await server.close();
    }
  }
  return results;
}
