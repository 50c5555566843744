// Where the policy pack lives (the folder `pulumi preview --policy-pack policies` points at) and its
// compiled form: policies/package.json's main is bin/policies/index.js, built with the contract/ it imports
// (policies/tsconfig.json) by `npm ci --prefix policies` (its prepare script) or `npm run build`, so the
// pack starts without compiling TypeScript.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PROJECT_DIR } from "../lib/project-root";

/** The policy pack's folder. */
export const POLICIES_DIR = path.join(PROJECT_DIR, "policies");

/** The shared contract the pack compiles with its own sources. */
const CONTRACT_DIR = path.join(PROJECT_DIR, "contract");

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
  const { main: entry } = JSON.parse(fs.readFileSync(path.join(POLICIES_DIR, "package.json"), "utf8")) as {
    main: string;
  };
  const main = path.join(POLICIES_DIR, entry);
  const newest = Math.max(newestSource(POLICIES_DIR), newestSource(CONTRACT_DIR));
  if (fs.existsSync(main) && fs.statSync(main).mtimeMs >= newest) return;
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
