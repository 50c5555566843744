// npm run bench [-- <suite> …]: the performance targets, measured side by side in one run.
// Suites: policies (the pack over 1,000 resources), data (backup/restore vs raw pg_dump/pg_restore),
// switch (failed requests under load, flip latency), hosts (the switch across 3 simulated hosts), plan
// (npm run plan's median time), delivery (an image over SSH to 3 air-gapped hosts vs docker save | ssh),
// progressive (canary steps across 3 proxies under load, beside one move). A benchmark reports; it never fails the build.
import { execFileSync, spawnSync } from "child_process";
import * as path from "path";
import { BenchResult } from "./result";

const PROJECT_DIR = path.resolve(__dirname, "..");

type Suite = () => Promise<BenchResult[]>;

/** Suite name → module in this folder and the function it exports. */
const SUITES: Record<string, [module: string, exported: string]> = {
  policies: ["./policies", "benchPolicies"],
  data: ["./data", "benchData"],
  switch: ["./switch", "benchSwitch"],
  hosts: ["./hosts", "benchHosts"],
  plan: ["./plan", "benchPlan"],
  delivery: ["./delivery", "benchDelivery"],
  progressive: ["./progressive", "benchProgressive"],
};

async function load(name: string): Promise<Suite> {
  const [module, exported] = SUITES[name];
  const suite = ((await import(module)) as Record<string, unknown>)[exported];
  if (typeof suite !== "function") throw new Error(`bench/${module}.ts does not export ${exported}`);
  return suite as Suite;
}

function format(result: BenchResult): string {
  const value = Number.isInteger(result.value) ? String(result.value) : result.value.toFixed(3);
  const verdict = result.ok === undefined ? "" : result.ok ? "  ok" : "  MISSED";
  return `  ${result.name.padEnd(58)} ${`${value} ${result.unit}`.padStart(16)}${result.goal ? `  goal ${result.goal}` : ""}${verdict}`;
}

/**
 * Builds the project when its build is older than its sources: the steps run compiled, as `npm ci`
 * leaves them, and a stale build would measure ts-node's start-up instead (bin/launch.js).
 */
function buildWhenStale(): void {
  const fresh = spawnSync(
    process.execPath,
    ["-e", 'process.exit(["ops/cli", "tools/plan/cli"].every(require("./bin/launch").isFresh) ? 0 : 1)'],
    { cwd: PROJECT_DIR, env: { ...process.env, GREENLIGHT_NO_BUILD: "" } },
  );
  if (fresh.status === 0) return;
  console.log("bench: the build is older than the sources; npm run build first");
  execFileSync("npm", ["run", "--silent", "build"], { cwd: PROJECT_DIR, stdio: "inherit" });
}

async function main(): Promise<void> {
  buildWhenStale();
  const wanted = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(SUITES);
  for (const name of wanted) {
    if (!(name in SUITES))
      throw new Error(`unknown bench suite ${name}: choose from ${Object.keys(SUITES).join(", ")}`);
    console.log(`${name}:`);
    const started = Date.now();
    for (const result of await (await load(name))()) console.log(format(result));
    console.log(`  (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
