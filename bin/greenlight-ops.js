#!/usr/bin/env node
// Entry point the command resources call: `node bin/greenlight-ops.js <step> [options]`.
// Runs the compiled steps (`npm run build`, also run by `npm ci`) when they are at least as new as
// every source they were built from; otherwise compiles on the fly with ts-node, which costs seconds.
const fs = require("fs");
const path = require("path");

const root = path.join(__dirname, "..");
const build = path.join(__dirname, "build");
const stamp = path.join(build, "ops", "cli.js");

function newestSource(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(full));
    else if (entry.name.endsWith(".ts")) newest = Math.max(newest, fs.statSync(full).mtimeMs);
  }
  return newest;
}

function buildIsFresh() {
  if (!fs.existsSync(stamp)) return false;
  const built = fs.statSync(stamp).mtimeMs;
  return ["ops", "schema", path.join("policies", "lib")].every(
    (dir) => newestSource(path.join(root, dir)) <= built,
  );
}

let cli;
if (buildIsFresh()) {
  cli = require(path.join(build, "ops", "cli.js"));
} else {
  // Silent on purpose: a step's stderr is its one-line reason; a stale build only costs start-up time.
  require("ts-node").register({ transpileOnly: true, project: path.join(root, "tsconfig.json") });
  cli = require("../ops/cli");
}
cli.main(process.argv.slice(2)).then((code) => process.exit(code));
