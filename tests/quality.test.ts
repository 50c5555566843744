import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";

const PROJECT_DIR = path.join(__dirname, "..");

function run(command: string, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(command, args, {
    cwd: PROJECT_DIR,
    encoding: "utf8",
    maxBuffer: 16 * 1024 * 1024,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}`.slice(-4000) };
}

describe("code quality", function () {
  this.timeout(300_000);

  it("type-checks (tsc --noEmit, strict)", () => {
    const result = run(process.execPath, [
      require.resolve("typescript/bin/tsc"),
      "--noEmit",
      "-p",
      "tsconfig.json",
    ]);
    assert.equal(result.status, 0, result.output);
  });

  it("lints clean (eslint)", () => {
    const result = run(process.execPath, [
      path.join(PROJECT_DIR, "node_modules", "eslint", "bin", "eslint.js"),
      ".",
    ]);
    assert.equal(result.status, 0, result.output);
  });

  it("is formatted (prettier --check)", () => {
    const result = run(process.execPath, [
      path.join(PROJECT_DIR, "node_modules", "prettier", "bin", "prettier.cjs"),
      "--check",
      ".",
    ]);
    assert.equal(result.status, 0, result.output);
  });
});
