import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import * as os from "os";
import { fixedDefault, keyKind } from "../../../schema/declarations";
import { CONFIG_KEYS, ConfigKey } from "../../../schema/keys";
import { validConfigValue } from "../../../tools/harness/cli-config";
import { README_END, README_START, renderProjectFile, spliceReference } from "../../../tools/gen-config";
import { main } from "../../../tools/gen-config/cli";
import { assertHelp, assertOneLine, snapshot, ToolRun } from "../support/run-tool";

const PROJECT_DIR = path.join(__dirname, "..", "..", "..");

describe("Pulumi.yaml and the README configuration reference", () => {
  it("Pulumi.yaml is what the schema generates (run npm run gen:config after changing schema/keys/)", () => {
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
      if (declaration.type === "array")
        assert.deepEqual(
          declaration.items,
          { type: (CONFIG_KEYS as Record<string, ConfigKey>)[key]?.itemType ?? "string" },
          key,
        );
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

  describe("npm run gen:config", function () {
    let project: string;
    let drifted: string;

    beforeEach(() => {
      project = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-gen-config-"));
      fs.copyFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), path.join(project, "Pulumi.yaml"));
      // A README whose reference has drifted from the schema: only a real write brings it back.
      drifted = fs
        .readFileSync(path.join(PROJECT_DIR, "README.md"), "utf8")
        .replace("| `greenlight:appPort` |", "| `greenlight:appPortOld` |");
      fs.writeFileSync(path.join(project, "README.md"), drifted);
    });
    afterEach(() => fs.rmSync(project, { recursive: true, force: true }));

    async function gen(args: string[]): Promise<ToolRun> {
      let out = "";
      let err = "";
      const code = await main(args, {
        out: (text) => (out += text),
        err: (text) => (err += text),
        stdinIsTTY: false,
      });
      return { code, out, err };
    }

    it("--help prints the options and writes nothing", async () => {
      const before = snapshot(project);
      assertHelp(await gen(["--help", "--project-dir", project]), "gen:config");
      assert.deepEqual(snapshot(project), before);
    });

    it("--check names the drifted file, exits 1 and writes nothing; a bad option exits 2", async () => {
      const before = snapshot(project);
      assertOneLine(
        await gen(["--check", "--project-dir", project]),
        1,
        /^gen:config: README\.md differs from schema\/keys\/; run npm run gen:config$/,
      );
      assertOneLine(
        await gen(["--chek", "--project-dir", project]),
        2,
        /^gen:config: unknown option '--chek' \(Did you mean --check\?\); npm run gen:config -- --help lists the options$/,
      );
      assert.deepEqual(snapshot(project), before);
    });

    it("a README without the reference markers: one line, exit 2, nothing written", async () => {
      fs.writeFileSync(
        path.join(project, "README.md"),
        drifted.replace(README_START, "").replace(README_END, ""),
      );
      fs.writeFileSync(path.join(project, "Pulumi.yaml"), "name: greenlight\n");
      const before = snapshot(project);
      assertOneLine(
        await gen(["--project-dir", project]),
        2,
        /^gen:config: README\.md: missing the <!-- config-reference:start/,
      );
      assert.deepEqual(snapshot(project), before, "Pulumi.yaml is not rewritten either");
    });

    it("without options, writes what drifted and says so", async () => {
      const run = await gen(["--project-dir", project]);
      assert.equal(run.code, 0, run.err);
      assert.equal(run.out, "wrote README.md from schema/keys/\n");
      assert.equal(fs.readFileSync(path.join(project, "README.md"), "utf8"), spliceReference(drifted));
      assert.equal((await gen(["--check", "--project-dir", project])).code, 0);
    });
  });
});
