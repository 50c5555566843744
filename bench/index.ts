// npm run bench [-- <suite> …]: the performance targets, measured side by side in one run.
// Suites: policies (the pack over 1,000 resources), data (backup/restore vs raw pg_dump/pg_restore),
// switch (failed requests under load, flip latency). A benchmark reports; it never fails the build.
import { BenchResult } from "./result";

type Suite = () => Promise<BenchResult[]>;

const SUITES: Record<string, () => Promise<Suite>> = {
  policies: async () => (await import("./policies")).benchPolicies,
  data: async () => (await import("./data")).benchData,
  switch: async () => (await import("./switch")).benchSwitch,
};

function format(result: BenchResult): string {
  const value = Number.isInteger(result.value) ? String(result.value) : result.value.toFixed(3);
  const verdict = result.ok === undefined ? "" : result.ok ? "  ok" : "  MISSED";
  return `  ${result.name.padEnd(58)} ${`${value} ${result.unit}`.padStart(16)}${result.goal ? `  goal ${result.goal}` : ""}${verdict}`;
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(SUITES);
  for (const name of wanted) {
    const load = SUITES[name];
    if (!load) throw new Error(`unknown bench suite ${name}: choose from ${Object.keys(SUITES).join(", ")}`);
    console.log(`${name}:`);
    const started = Date.now();
    for (const result of await (await load())()) console.log(format(result));
    console.log(`  (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
