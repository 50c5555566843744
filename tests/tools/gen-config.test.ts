import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { CONFIG_KEYS } from "../../schema/keys";
import { renderProjectFile, spliceReference } from "../../tools/gen-config";

const PROJECT_DIR = path.join(__dirname, "..", "..");

describe("Pulumi.yaml and the README configuration reference", () => {
  it("Pulumi.yaml is what the schema generates (run npm run gen:config after changing schema/keys.ts)", () => {
    assert.equal(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), "utf8"), renderProjectFile());
  });

  it("declares every key with a type Pulumi accepts and a description, secrets marked", () => {
    const project = parse(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), "utf8")) as {
      name: string;
      runtime: { name: string; options: { typescript: boolean } };
      config: Record<
        string,
        { type: string; description: string; secret?: boolean; items?: { type: string } }
      >;
    };
    assert.equal(project.name, "greenlight");
    assert.equal(project.runtime.name, "nodejs");
    assert.equal(project.runtime.options.typescript, true);
    assert.deepEqual(Object.keys(project.config), Object.keys(CONFIG_KEYS));
    for (const [key, declaration] of Object.entries(project.config)) {
      assert.ok(["string", "integer", "boolean", "array"].includes(declaration.type), key);
      assert.ok(declaration.description.length > 10, key);
      if (declaration.type === "array") assert.deepEqual(declaration.items, { type: "string" }, key);
    }
    assert.deepEqual(
      Object.entries(project.config)
        .filter(([, declaration]) => declaration.secret)
        .map(([key]) => key),
      ["dbAdminPassword", "migratorPassword", "appPassword", "s3SecretAccessKey", "webhookUrl"],
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
