#!/usr/bin/env node
// Entry point the command resources call: `node bin/greenlight-ops.js <step> [options]`.
// Uses the compiled steps when `npm run build` has produced them, ts-node otherwise.
const fs = require("fs");
const path = require("path");

const compiled = path.join(__dirname, "build", "ops", "cli.js");
let cli;
if (fs.existsSync(compiled)) {
  cli = require(compiled);
} else {
  require("ts-node").register({ transpileOnly: true, project: path.join(__dirname, "..", "tsconfig.json") });
  cli = require("../ops/cli");
}
cli.main(process.argv.slice(2)).then((code) => process.exit(code));
