import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { policies } from "../../policies/all";
import { POLICIES_DIR } from "../../tools/policy-runner/pack";

const CONTRACT_DIR = path.join(POLICIES_DIR, "..", "contract");

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === "node_modules" || entry.name === "bin") return [];
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return entry.name.endsWith(".ts") ? [full] : [];
  });
}

const packageJson = JSON.parse(fs.readFileSync(path.join(POLICIES_DIR, "package.json"), "utf8")) as {
  name: string;
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

describe("policies/ is a pack of its own", () => {
  it("imports nothing outside policies/ and contract/ but its own dependencies; contract/ imports nothing else", () => {
    const allowed = new Set([...Object.keys(packageJson.dependencies), "@pulumi/policy/schema"]);
    let imports = 0;
    for (const file of [...sources(POLICIES_DIR), ...sources(CONTRACT_DIR)]) {
      const text = fs.readFileSync(file, "utf8");
      const inContract = file.startsWith(CONTRACT_DIR + path.sep);
      assert.doesNotMatch(text, /\brequire\(/, `${file} uses require`);
      for (const match of text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+["']([^"']+)["'];/gms)) {
        const target = match[1];
        imports++;
        if (target.startsWith(".")) {
          const resolved = path.resolve(path.dirname(file), target);
          assert.ok(
            resolved.startsWith(CONTRACT_DIR + path.sep) ||
              (!inContract && resolved.startsWith(POLICIES_DIR + path.sep)),
            `${file} imports ${target}, outside ${inContract ? "contract/" : "policies/ and contract/"}`,
          );
        } else {
          assert.ok(!inContract, `${file} imports the package ${target}: contract/ is plain TypeScript`);
          assert.ok(
            allowed.has(target),
            `${file} imports ${target}, not a dependency in policies/package.json`,
          );
        }
      }
    }
    assert.ok(imports > 30, `found ${imports} imports`);
  });

  it("index.ts only constructs the PolicyPack from all.ts", () => {
    const code = fs
      .readFileSync(path.join(POLICIES_DIR, "index.ts"), "utf8")
      .split("\n")
      .filter((line) => line.trim() !== "" && !line.startsWith("//"));
    assert.deepEqual(code, [
      'import { PolicyPack } from "@pulumi/policy";',
      'import { policies } from "./all";',
      'new PolicyPack("greenlight", { policies });',
    ]);
  });

  it("PulumiPolicy.yaml names the nodejs runtime and describes the pack", () => {
    const manifest = parse(fs.readFileSync(path.join(POLICIES_DIR, "PulumiPolicy.yaml"), "utf8")) as Record<
      string,
      unknown
    >;
    assert.equal(manifest.runtime, "nodejs");
    assert.ok(typeof manifest.description === "string" && manifest.description.length > 40);
  });

  it("package.json pins the majors the pack is written for, and the lockfile agrees", () => {
    assert.ok(packageJson.version, "PolicyPack reads the version from package.json");
    assert.match(packageJson.dependencies["@pulumi/policy"], /^\^1\.2[1-9]\./);
    assert.match(packageJson.dependencies["@pulumi/pulumi"], /^\^3\./);
    assert.match(packageJson.dependencies.luxon, /^\^3\./);
    assert.match(packageJson.devDependencies.typescript, /^\^5\./);
    const lock = JSON.parse(fs.readFileSync(path.join(POLICIES_DIR, "package-lock.json"), "utf8")) as {
      lockfileVersion: number;
      packages: Record<
        string,
        { dependencies?: Record<string, string>; devDependencies?: Record<string, string>; version?: string }
      >;
    };
    assert.equal(lock.lockfileVersion, 3);
    assert.deepEqual(
      lock.packages[""].dependencies,
      packageJson.dependencies,
      "npm ci needs the lockfile to match",
    );
    assert.deepEqual(lock.packages[""].devDependencies, packageJson.devDependencies);
    assert.match(lock.packages["node_modules/@pulumi/policy"].version ?? "", /^1\.2[1-9]\./);
    assert.match(lock.packages["node_modules/typescript"].version ?? "", /^5\./);
  });

  it("each policy: kebab-case name, a description saying what it checks or requires, defaults for every tunable", () => {
    const names = policies.map((policy) => policy.name);
    assert.equal(new Set(names).size, names.length, "unique names");
    for (const policy of policies) {
      assert.match(policy.name, /^[a-z]+(-[a-z]+)*$/);
      assert.match(policy.description, /^(Checks that|Requires) /, policy.name);
      assert.ok(policy.enforcementLevel, `${policy.name} declares its level`);
      for (const [key, schema] of Object.entries(policy.configSchema?.properties ?? {})) {
        if (key === "now") continue;
        assert.notEqual(schema.default, undefined, `${policy.name}.${key} has a default`);
        assert.ok(schema.description, `${policy.name}.${key} is described`);
      }
    }
  });

  it("one policy per file, named after it (the window's advisory twin shares its file)", () => {
    for (const policy of policies) {
      const base = policy.name === "deployment-window-advisory" ? "deployment-window" : policy.name;
      assert.ok(fs.existsSync(path.join(POLICIES_DIR, `${base}.ts`)), `policies/${base}.ts`);
    }
  });
});
