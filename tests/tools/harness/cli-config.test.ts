// The Pulumi CLI's config rule, enforced offline: cases derived from Pulumi.yaml's declarations and run
// through `npm run plan`. The rule and its messages are the CLI's: pulumi/pulumi pkg/workspace/config.go
// (mergeConfig, validateStackConfigValue) and sdk/go/common/workspace/project.go (ValidateConfigValue);
// pkg/workspace/config_project_test.go asserts "Stack 'dev' is missing configuration value 'values'".
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, parseDocument } from "yaml";
import { projectDeclarations } from "../../../schema/declarations";
import { cliConfigProblem, validConfigValue } from "../../../tools/harness/cli-config";
import { readStackConfig } from "../../../tools/harness/stack-file";
import { EXIT, plan } from "../../../tools/plan";

const PROJECT_DIR = path.join(__dirname, "..", "..", "..");
const STACKS = ["local", "staging", "production"] as const;
const AT = new Date("2026-12-02T11:00:00Z");

/** A copy of a stack file with one key changed (null removes it), where `plan --stack-file` reads it. */
function stackFileWith(dir: string, stack: string, key: string, value: unknown): string {
  const document = parseDocument(fs.readFileSync(path.join(PROJECT_DIR, `Pulumi.${stack}.yaml`), "utf8"));
  if (value === null) document.deleteIn(["config", key]);
  else document.setIn(["config", key], document.createNode(value));
  const file = path.join(dir, `Pulumi.${stack}.${key.replace(/\W/g, "_")}.yaml`);
  fs.writeFileSync(file, document.toString());
  return file;
}

async function planOf(
  stack: string,
  stackFile: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await plan(
    { stack, stackFile, at: AT, json: true, preview: false },
    (text) => (stdout += text),
    (text) => (stderr += text),
  );
  return { code, stdout, stderr };
}

/** A value of the wrong type for a declared type, as a user might write it. */
function wrongValue(type: string): unknown {
  switch (type) {
    case "integer":
      return "twelve";
    case "boolean":
      return "yes";
    case "array":
      return "not-a-list";
    default:
      return undefined;
  }
}

describe("the Pulumi CLI's config rule, offline", function () {
  this.timeout(120_000);
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-cli-config-"))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe("ValidateConfigValue, as the CLI types a stack value", () => {
    it("integers: numbers and strings that parse as one; booleans: true/false only; arrays item by item", () => {
      assert.ok(validConfigValue("integer", undefined, "3000"));
      assert.ok(validConfigValue("integer", undefined, "-5"));
      assert.ok(!validConfigValue("integer", undefined, "3000.5"));
      assert.ok(!validConfigValue("integer", undefined, "twelve"));
      assert.ok(validConfigValue("boolean", undefined, "true"));
      assert.ok(!validConfigValue("boolean", undefined, "yes"));
      assert.ok(validConfigValue("string", undefined, "0.5"));
      assert.ok(validConfigValue("array", { type: "string" }, ["a", "b"]));
      assert.ok(!validConfigValue("array", { type: "string" }, ["a", 1]));
      assert.ok(!validConfigValue("array", { type: "string" }, "a"));
    });

    it("lists every missing key in one message, sorted, as the CLI does", () => {
      const problem = cliConfigProblem(
        "p",
        "dev",
        {
          a: { type: "string" },
          c: { type: "string" },
          b: { type: "string" },
          d: { type: "string", default: "x" },
        },
        {},
      );
      assert.deepEqual(problem, {
        message: "Stack 'dev' is missing configuration values 'a', 'b' and 'c'",
        keys: ["a", "b", "c"],
      });
    });
  });

  it("every committed stack file passes the rule", () => {
    for (const stack of STACKS) {
      const config = readStackConfig(PROJECT_DIR, stack);
      assert.equal(
        cliConfigProblem(config.project, stack, config.declarations, config.stackValues),
        undefined,
      );
    }
  });

  const declarations = projectDeclarations();
  const required = declarations.filter((declaration) => declaration.default === undefined);
  const typed = declarations.filter((declaration) => wrongValue(declaration.type) !== undefined);
  const secret = declarations.filter((declaration) => declaration.secret);

  it("derives cases from Pulumi.yaml: required keys, typed keys and secrets all exist", () => {
    assert.ok(required.length >= 8, required.map((d) => d.key).join(", "));
    assert.ok(typed.length >= 20);
    assert.deepEqual(
      secret.map((d) => d.key),
      ["migratorPassword", "appPassword"],
    );
    // What the generated Pulumi.yaml holds is exactly these declarations.
    const project = parse(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), "utf8")) as {
      config: Record<string, unknown>;
    };
    assert.deepEqual(
      Object.keys(project.config),
      declarations.map((d) => d.key),
    );
  });

  for (const stack of STACKS) {
    it(`${stack}: a declared key without default missing from the stack file exits 2, naming stack and key`, async () => {
      for (const declaration of required) {
        const result = await planOf(stack, stackFileWith(dir, stack, `greenlight:${declaration.key}`, null));
        assert.equal(result.code, EXIT.usage, `${declaration.key}: ${result.stderr}`);
        assert.equal(result.stdout, "", "nothing is planned");
        assert.ok(
          result.stderr.includes(`Stack '${stack}' is missing configuration value '${declaration.key}'`),
          result.stderr,
        );
      }
    });
  }

  it("an empty stack file: the fix sets every missing key, each secret with --secret and no value on the command line", async () => {
    const empty = path.join(dir, "Pulumi.local.empty.yaml");
    fs.writeFileSync(empty, "config: {}\n");
    const result = await planOf("local", empty);
    assert.equal(result.code, EXIT.usage, result.stderr);
    for (const declaration of required) {
      const fix = declaration.secret
        ? `pulumi config set --stack local --secret greenlight:${declaration.key} (it asks for the value)`
        : `pulumi config set --stack local greenlight:${declaration.key} <value>`;
      assert.ok(result.stderr.includes(fix), `${fix}\n${result.stderr}`);
    }
    assert.doesNotMatch(result.stderr, /greenlight:(migratorPassword|appPassword) <value>/);
  });

  it("a value of the wrong declared type exits 2 with the CLI's message", async () => {
    for (const declaration of typed) {
      const value = wrongValue(declaration.type);
      const result = await planOf(
        "local",
        stackFileWith(dir, "local", `greenlight:${declaration.key}`, value),
      );
      assert.equal(result.code, EXIT.usage, `${declaration.key}: ${result.stderr}`);
      const typeName =
        declaration.type === "array" ? `array<${declaration.itemType ?? "string"}>` : declaration.type;
      assert.ok(
        result.stderr.includes(
          `Stack 'local' with configuration key '${declaration.key}' must be of type '${typeName}'`,
        ),
        result.stderr,
      );
    }
  });

  it("a key Pulumi.yaml declares secret, set in plaintext, exits 2 with the CLI's message", async () => {
    for (const declaration of secret) {
      const result = await planOf(
        "production",
        stackFileWith(dir, "production", `greenlight:${declaration.key}`, "hunter2-in-the-clear"),
      );
      assert.equal(result.code, EXIT.usage);
      assert.ok(
        result.stderr.includes(
          `Stack 'production' with configuration key '${declaration.key}' must be encrypted as it's secret`,
        ),
        result.stderr,
      );
      assert.ok(!result.stderr.includes("hunter2"), "the plaintext is never echoed");
    }
  });

  it("an optional secret the CLI cannot check (not declared), set in plaintext, is refused by the plan", async () => {
    const result = await planOf(
      "production",
      stackFileWith(dir, "production", "greenlight:webhookUrl", "https://hooks.example.com/in-the-clear"),
    );
    assert.equal(result.code, EXIT.usage);
    assert.match(result.stderr, /greenlight:webhookUrl: got \[hidden\]; expected a secret, not plaintext/);
    assert.ok(!result.stderr.includes("in-the-clear"));
  });
});
