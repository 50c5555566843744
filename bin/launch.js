// Runs one of greenlight's TypeScript entry points the fast way: the compiled build (`npm run build`,
// also run by `npm ci`) when it is at least as new as every source it was built from, otherwise the
// sources through ts-node (correct, only seconds slower). Used by bin/greenlight-ops.js (the steps) and
// `npm run plan`.
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");

/**
 * Node 22.1+ keeps V8's compiled code of every module loaded from here on between runs, so a step (the
 * switch's coordinator above all) does not compile its modules again each time it starts. The cache is
 * the user's own (XDG cache, never the checkout or a shared /tmp); GREENLIGHT_NO_COMPILE_CACHE=1 or an
 * older node leaves it off, and a cache that cannot be written only costs nothing.
 */
function enableCompileCache() {
  const nodeModule = require("module");
  if (typeof nodeModule.enableCompileCache !== "function" || process.env.GREENLIGHT_NO_COMPILE_CACHE === "1")
    return;
  try {
    const cacheHome = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
    nodeModule.enableCompileCache(path.join(cacheHome, "greenlight", "node-compile-cache"));
  } catch {
    // No home directory or no cache: modules compile as they always did.
  }
}
enableCompileCache();

const root = path.join(__dirname, "..");
const build = path.join(__dirname, "build");

/** What each entry is compiled from: a change to any of these makes its build stale. */
const SOURCES = {
  "ops/cli": ["ops", "schema", "contract"],
  "tools/plan/cli": ["tools", "schema", "contract", "components", "ops", "index.ts", "config.ts", "args.ts"],
  "tools/harness/child": [
    "tools/harness",
    "schema",
    "contract",
    "components",
    "index.ts",
    "config.ts",
    "args.ts",
  ],
};

function newestSource(entry) {
  const full = path.join(root, entry);
  const stat = fs.statSync(full);
  if (!stat.isDirectory()) return entry.endsWith(".ts") ? stat.mtimeMs : 0;
  let newest = 0;
  for (const child of fs.readdirSync(full)) newest = Math.max(newest, newestSource(path.join(entry, child)));
  return newest;
}

/** Whether the compiled `entry` (e.g. "ops/cli") is at least as new as every source it is built from. */
function isFresh(entry) {
  // GREENLIGHT_NO_BUILD=1 runs the sources (the bench compares both; a debugger wants them).
  if (process.env.GREENLIGHT_NO_BUILD === "1") return false;
  const compiled = path.join(build, `${entry}.js`);
  if (!fs.existsSync(compiled)) return false;
  const built = fs.statSync(compiled).mtimeMs;
  return (SOURCES[entry] || [entry]).every((source) => newestSource(source) <= built);
}

/** Loads `entry` compiled when fresh, else from source with ts-node (silent: a stale build only costs time). */
function load(entry) {
  if (isFresh(entry)) return require(path.join(build, entry));
  require("ts-node").register({ transpileOnly: true, project: path.join(root, "tsconfig.json") });
  return require(path.join(root, entry));
}

module.exports = { isFresh, load, build, root };

// `node bin/launch.js tools/plan/cli <args>`: runs the entry's main(argv) and exits with its code.
if (require.main === module) {
  const [entry, ...argv] = process.argv.slice(2);
  load(entry)
    .main(argv)
    .then((code) => process.exit(code));
}
