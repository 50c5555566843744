// bin/launch.js turns on Node's module compile cache (node 22.1+) in the user's cache directory: a step
// started again does not compile its modules again; nothing is written into the checkout.
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as nodeModule from "module";
import * as os from "os";
import * as path from "path";

const ROOT = path.join(__dirname, "..", "..");

function runOps(cacheHome: string, extra: NodeJS.ProcessEnv = {}): string {
  return execFileSync(process.execPath, [path.join(ROOT, "bin", "greenlight-ops.js"), "--help"], {
    cwd: ROOT,
    env: { ...process.env, XDG_CACHE_HOME: cacheHome, NODE_COMPILE_CACHE: "", ...extra },
    encoding: "utf8",
  });
}

const cacheFiles = (dir: string): string[] =>
  fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true, encoding: "utf8" }) : [];

describe("bin/launch.js: the module compile cache", function () {
  this.timeout(60_000);
  let cacheHome: string;
  beforeEach(() => (cacheHome = fs.mkdtempSync(path.join(os.tmpdir(), "gl-compile-cache-"))));
  afterEach(() => fs.rmSync(cacheHome, { recursive: true, force: true }));

  it("is kept in the user's cache directory (XDG_CACHE_HOME) when node has it", function () {
    if (typeof (nodeModule as { enableCompileCache?: unknown }).enableCompileCache !== "function")
      this.skip();
    assert.match(runOps(cacheHome), /switch-hosts/);
    const cache = path.join(cacheHome, "greenlight", "node-compile-cache");
    assert.ok(
      cacheFiles(cache).length > 10,
      `compiled modules cached in ${cache}: ${cacheFiles(cache).length}`,
    );
    assert.match(runOps(cacheHome), /switch-hosts/, "a second start reads it and still works");
  });

  it("is off with GREENLIGHT_NO_COMPILE_CACHE=1", () => {
    assert.match(runOps(cacheHome, { GREENLIGHT_NO_COMPILE_CACHE: "1" }), /switch-hosts/);
    assert.deepEqual(cacheFiles(cacheHome), []);
  });
});
