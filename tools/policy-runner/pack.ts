// Where the policy pack lives (the folder `pulumi preview --policy-pack policies` points at) and its
// compiled form: policies/package.json's main is bin/index.js, built by `npm ci --prefix policies`
// (its prepare script) or `npm run build`, so the pack starts without compiling TypeScript.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PROJECT_DIR } from "../project-root";

/** The policy pack's folder. */
export const POLICIES_DIR = path.join(PROJECT_DIR, "policies");

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (["node_modules", "bin", "config"].includes(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(full));
    else if (entry.name.endsWith(".ts") || entry.name === "tsconfig.json")
      newest = Math.max(newest, fs.statSync(full).mtimeMs);
  }
  return newest;
}

/** Compiles the pack when its build is missing or older than a source, so no stale policy ever runs. */
export function ensurePackBuilt(): void {
  const main = path.join(POLICIES_DIR, "bin", "index.js");
  if (fs.existsSync(main) && fs.statSync(main).mtimeMs >= newestSource(POLICIES_DIR)) return;
  const tsc = require.resolve("typescript/bin/tsc", { paths: [POLICIES_DIR] });
  const built = spawnSync(process.execPath, [tsc, "-p", POLICIES_DIR], { encoding: "utf8" });
  if (built.status !== 0) {
    throw new Error(
      `the policy pack does not compile (tsc -p policies): ${(built.stdout + built.stderr).trim()}`,
    );
  }
  // tsc leaves an unchanged output file's time alone; mark the build as newer than every source.
  const now = new Date();
  fs.utimesSync(main, now, now);
}
