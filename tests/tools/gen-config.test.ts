import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { fixedDefault, keyKind } from "../../schema/declarations";
import { CONFIG_KEYS, ConfigKey } from "../../schema/keys";
import { validConfigValue } from "../../tools/harness/cli-config";
import { renderProjectFile, spliceReference } from "../../tools/gen-config";

const PROJECT_DIR = path.join(__dirname, "..", "..");

describe("Pulumi.yaml and the README configuration reference", () => {
  it("Pulumi.yaml is what the schema generates (run npm run gen:config after changing schema/keys.ts)", () => {
    assert.equal(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), "utf8"), renderProjectFile());
  });

  it("declares only what the CLI accepts for every stack: defaults as zod has them, required keys, secrets", () => {
    const project = parse(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), "utf8")) as {
      name: string;
      runtime: { name: string; options: { typescript: boolean } };
      config: Record<
        string,
        { type: string; description: string; secret?: boolean; items?: { type: string }; default?: unknown }
      >;
    };
    assert.equal(project.name, "greenlight");
    assert.equal(project.runtime.name, "nodejs");
    assert.equal(project.runtime.options.typescript, true);
    const declared = Object.keys(project.config);
    for (const [key, spec] of Object.entries(CONFIG_KEYS) as [string, ConfigKey][]) {
      const kind = keyKind(spec);
      assert.equal(declared.includes(key), kind !== "undeclared", `${key} (${kind})`);
      if (kind === "default") assert.deepEqual(project.config[key].default, fixedDefault(spec), key);
      if (kind === "required") assert.equal(project.config[key].default, undefined, key);
    }
    for (const [key, declaration] of Object.entries(project.config)) {
      assert.ok(["string", "integer", "boolean", "array"].includes(declaration.type), key);
      assert.ok(declaration.description.length > 10, key);
      if (declaration.type === "array") assert.deepEqual(declaration.items, { type: "string" }, key);
      if (declaration.default !== undefined)
        assert.ok(validConfigValue(declaration.type, declaration.items, declaration.default), key);
    }
    // Declared secret only where required: the CLI merges a declared default in as plaintext and would
    // then refuse it, so optional secrets (dbAdminPassword, webhookUrl …) are checked by the plan instead.
    assert.deepEqual(
      Object.entries(project.config)
        .filter(([, declaration]) => declaration.secret)
        .map(([key]) => key),
      ["migratorPassword", "appPassword"],
    );
  });

  it("the README's reference is what the schema generates", () => {
    const readme = fs.readFileSync(path.join(PROJECT_DIR, "README.md"), "utf8");
    assert.equal(readme, spliceReference(readme));
    for (const key of Object.keys(CONFIG_KEYS)) assert.ok(readme.includes(`\`greenlight:${key}\``), key);
  });

  it("every committed stack file sets only declared keys of the project namespace", () => {
    for (const stack of ["local", "staging", "production"]) {
      const file = parse(fs.readFileSync(path.join(PROJECT_DIR, `Pulumi.${stack}.yaml`), "utf8")) as {
        config: Record<string, unknown>;
      };
      for (const key of Object.keys(file.config)) {
        const [namespace, name] = key.split(":");
        assert.ok(
          namespace === "greenlight-env" || (namespace === "greenlight" && name in CONFIG_KEYS),
          `${stack}: ${key}`,
        );
      }
    }
  });
});
