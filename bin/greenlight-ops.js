#!/usr/bin/env node
// Entry point the command resources call: `node bin/greenlight-ops.js <step> [options]`.
// Runs the compiled steps when they are at least as new as their sources, else ts-node (bin/launch.js).
const { load } = require("./launch");

load("ops/cli")
  .main(process.argv.slice(2))
  .then((code) => process.exit(code));
