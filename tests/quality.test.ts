import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
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

describe("layout", function () {
  this.timeout(120_000);

  it("has no import cycle, type-only imports included (dpdm, npm run check:cycles)", () => {
    const result = run("npm", ["run", "--silent", "check:cycles"]);
    assert.equal(result.status, 0, result.output);
    assert.match(result.output, /Circular Dependencies/, "dpdm ran and judged the graph");
  });

  it("has no unused file, export or dependency (knip, npm run check:unused)", () => {
    const result = run("npm", ["run", "--silent", "check:unused"]);
    assert.equal(result.status, 0, result.output);
  });

  it("no source folder holds more than 12 files", () => {
    const files = spawnSync("git", ["ls-files"], { cwd: PROJECT_DIR, encoding: "utf8" })
      .stdout.split("\n")
      .filter((file) => /\.(ts|js)$/.test(file));
    assert.ok(files.length > 100, "git ls-files listed the sources");
    const perFolder = new Map<string, number>();
    for (const file of files) perFolder.set(path.dirname(file), (perFolder.get(path.dirname(file)) ?? 0) + 1);
    const crowded = [...perFolder]
      .filter(([, count]) => count > 12)
      .map(([dir, count]) => `${dir} (${count})`);
    assert.deepEqual(crowded, []);
  });
});

describe("the program uses only the SDK's public API", () => {
  const programFiles = ["index.ts", "config.ts", ...walk("components"), ...walk("schema")];

  function walk(dir: string): string[] {
    return fs
      .readdirSync(path.join(PROJECT_DIR, dir), { withFileTypes: true })
      .flatMap((entry) =>
        entry.isDirectory()
          ? walk(path.join(dir, entry.name))
          : entry.name.endsWith(".ts")
            ? [path.join(dir, entry.name)]
            : [],
      );
  }

  it("no deep @pulumi/pulumi imports, no casts of pulumi.runtime, no isConfigSecret (an @internal helper)", () => {
    for (const file of programFiles) {
      const source = fs.readFileSync(path.join(PROJECT_DIR, file), "utf8");
      assert.ok(!/from "@pulumi\/pulumi\//.test(source), `${file} imports inside @pulumi/pulumi`);
      assert.ok(!/pulumi\.runtime as unknown/.test(source), `${file} casts pulumi.runtime`);
      assert.ok(!source.includes("isConfigSecret"), `${file} uses isConfigSecret`);
    }
    // Whatever it calls on pulumi.runtime is declared in the SDK's public typings without @internal.
    const runtimeTypes = fs.readFileSync(
      path.join(PROJECT_DIR, "node_modules", "@pulumi", "pulumi", "runtime", "config.d.ts"),
      "utf8",
    );
    assert.match(runtimeTypes, /export declare function allConfig\(\)/);
    assert.ok(!/@internal[\s\S]{0,80}allConfig/.test(runtimeTypes));
  });
});
