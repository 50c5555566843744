import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { main } from "../../../tools/secret/cli";
import { PassphraseCrypter, setSecretInStackFile } from "../../../tools/secret";
import { assertHelp, assertOneLine, runToolScript, snapshot, ToolRun } from "../support/run-tool";

const PROJECT_DIR = path.join(__dirname, "..", "..", "..");
const PASSPHRASES: Record<string, string> = {
  local: "greenlight-local",
  staging: "greenlight-example",
  production: "greenlight-example",
};

interface StackFile {
  encryptionsalt: string;
  config: Record<string, unknown>;
}

describe("stack-file secrets (Pulumi's passphrase provider)", function () {
  this.timeout(60_000);

  for (const [stack, passphrase] of Object.entries(PASSPHRASES)) {
    it(`every secure: value of Pulumi.${stack}.yaml decrypts with its documented passphrase`, () => {
      const file = parse(
        fs.readFileSync(path.join(PROJECT_DIR, `Pulumi.${stack}.yaml`), "utf8"),
      ) as StackFile;
      const crypter = new PassphraseCrypter(passphrase, file.encryptionsalt);
      const secure = Object.entries(file.config).filter(
        ([, value]) => typeof value === "object" && value !== null && "secure" in value,
      );
      assert.ok(secure.length >= 4, "the stack's passwords are secure: entries");
      for (const [key, value] of secure) {
        assert.ok(crypter.decrypt((value as { secure: string }).secure).length > 0, key);
      }
    });
  }

  it("refuses a wrong passphrase", () => {
    const file = parse(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.local.yaml"), "utf8")) as StackFile;
    assert.throws(() => new PassphraseCrypter("wrong", file.encryptionsalt), /incorrect passphrase/);
  });

  it("sets a secret in a stack file, keeping its comments and other keys", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-secrets-"));
    try {
      const target = path.join(dir, "Pulumi.local.yaml");
      fs.copyFileSync(path.join(PROJECT_DIR, "Pulumi.local.yaml"), target);
      setSecretInStackFile(
        target,
        "greenlight:webhookUrl",
        "https://hooks.example.com/T1/B2/c3",
        "greenlight-local",
      );
      const text = fs.readFileSync(target, "utf8");
      assert.match(text, /^# The embedded default stack/);
      assert.ok(!text.includes("hooks.example.com"));
      const file = parse(text) as StackFile;
      assert.equal(file.config["greenlight:appName"], "shop");
      const crypter = new PassphraseCrypter("greenlight-local", file.encryptionsalt);
      assert.equal(
        crypter.decrypt((file.config["greenlight:webhookUrl"] as { secure: string }).secure),
        "https://hooks.example.com/T1/B2/c3",
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  describe("npm run secret: refuses bad input with one line and exit 2, writing nothing", function () {
    let project: string;
    const LOCAL = { PULUMI_CONFIG_PASSPHRASE: "greenlight-local" };

    beforeEach(() => {
      project = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-secret-"));
      for (const file of ["Pulumi.yaml", "Pulumi.local.yaml", "Pulumi.staging.yaml"]) {
        fs.copyFileSync(path.join(PROJECT_DIR, file), path.join(project, file));
      }
    });
    afterEach(() => fs.rmSync(project, { recursive: true, force: true }));

    async function secret(
      args: string[],
      env: NodeJS.ProcessEnv,
      value = "s3cr3t-value\n",
    ): Promise<ToolRun> {
      let out = "";
      let err = "";
      const code = await main(
        ["--project-dir", project, ...args],
        env,
        { out: (text) => (out += text), err: (text) => (err += text), stdinIsTTY: false },
        () => value,
      );
      return { code, out, err };
    }

    async function refused(
      args: string[],
      env: NodeJS.ProcessEnv,
      line: RegExp,
      value?: string,
    ): Promise<void> {
      const before = snapshot(project);
      const run = await secret(args, env, value);
      assertOneLine(run, 2, line);
      assert.equal(run.out, "");
      assert.deepEqual(snapshot(project), before, "no file changed");
    }

    it("writes a secret the program reads, from stdin, and says where", async () => {
      const run = await secret(
        ["--stack", "local", "--key", "greenlight-env:SESSION_SECRET"],
        LOCAL,
        "s3ss10n\n",
      );
      assert.equal(run.code, 0, run.err);
      assert.equal(run.out, "set greenlight-env:SESSION_SECRET (secret) in Pulumi.local.yaml\n");
      const file = parse(fs.readFileSync(path.join(project, "Pulumi.local.yaml"), "utf8")) as StackFile;
      const crypter = new PassphraseCrypter("greenlight-local", file.encryptionsalt);
      assert.equal(
        crypter.decrypt((file.config["greenlight-env:SESSION_SECRET"] as { secure: string }).secure),
        "s3ss10n",
      );
    });

    it("an app variable the stack does not list in greenlight:secretEnv", () =>
      refused(
        ["--stack", "local", "--key", "greenlight-env:API_TOKEN"],
        LOCAL,
        /^secret: --key greenlight-env:API_TOKEN: API_TOKEN is not in greenlight:secretEnv of stack local, so the program reads it as plaintext; add API_TOKEN to greenlight:secretEnv in Pulumi\.local\.yaml first, or set it as plain config$/,
      ));

    it("a wrong passphrase", () =>
      refused(
        ["--stack", "local", "--key", "greenlight:appPassword"],
        { PULUMI_CONFIG_PASSPHRASE: "not-the-passphrase" },
        /^secret: Pulumi\.local\.yaml: incorrect passphrase for this stack's encryptionsalt; export PULUMI_CONFIG_PASSPHRASE with the passphrase this stack was created with$/,
      ));
    it("no passphrase", () =>
      refused(
        ["--stack", "local", "--key", "greenlight:appPassword"],
        {},
        /^secret: PULUMI_CONFIG_PASSPHRASE is not set: export the stack's passphrase first$/,
      ));
    it("an unknown stack", () =>
      refused(
        ["--stack", "qa", "--key", "greenlight:appPassword"],
        LOCAL,
        /^secret: .*Pulumi\.qa\.yaml does not exist: there is no stack "qa" in this project \(its stacks: local, staging\); check --stack, or create it with pulumi stack init qa$/,
      ));
    it("a missing Pulumi.yaml", async () => {
      fs.rmSync(path.join(project, "Pulumi.yaml"));
      await refused(
        ["--stack", "local", "--key", "greenlight:appPassword"],
        LOCAL,
        /^secret: .*Pulumi\.yaml does not exist: run this in the greenlight project, or pass --project-dir/,
      );
    });
    it("a misspelt key, with the key it resembles", () =>
      refused(
        ["--stack", "local", "--key", "greenlight:appPasword"],
        LOCAL,
        /^secret: --key greenlight:appPasword: not a key greenlight reads; did you mean greenlight:appPassword\?$/,
      ));
    it("a key in a namespace that looks like ours", () =>
      refused(
        ["--stack", "local", "--key", "greenlite:appPassword"],
        LOCAL,
        /^secret: --key greenlite:appPassword: the namespace greenlite: is not greenlight's, so the program would never read this key; did you mean greenlight:appPassword\?$/,
      ));
    it("a key of another namespace, or an env name the app cannot have", async () => {
      await refused(
        ["--stack", "local", "--key", "aws:secretKey"],
        LOCAL,
        /^secret: --key "aws:secretKey": expected greenlight:<key> \(schema\/keys\/\) or greenlight-env:<NAME>$/,
      );
      await refused(
        ["--stack", "local", "--key", "greenlight-env:api-token"],
        LOCAL,
        /"api-token" is not an environment variable name; use \[A-Z_\]\[A-Z0-9_\]\* after greenlight-env:$/,
      );
    });
    it("a key that is not a secret key", () =>
      refused(
        ["--stack", "local", "--key", "greenlight:memoryMb"],
        LOCAL,
        /^secret: --key greenlight:memoryMb is not a secret key; set it as plain config: pulumi config set greenlight:memoryMb <value> --stack local$/,
      ));
    it("an empty value (a newline alone, or blanks)", async () => {
      for (const value of ["", "\n", "   \n"]) {
        await refused(
          ["--stack", "local", "--key", "greenlight:appPassword"],
          LOCAL,
          /^secret: --key greenlight:appPassword: the value on stdin is empty; pipe the secret in/,
          value,
        );
      }
    });
    it("--help and a missing option write nothing", async () => {
      const before = snapshot(project);
      assertHelp(await secret(["--help"], LOCAL), "secret");
      await refused(
        ["--stack", "local"],
        LOCAL,
        /^secret: required option '--key <key>' not specified; npm run secret -- --help lists the options$/,
      );
      assert.deepEqual(snapshot(project), before);
    });

    it("as a script (npm run secret): a wrong passphrase and an unknown stack are one line, exit 2, no stack trace", () => {
      const before = snapshot(project);
      const script = (stack: string) =>
        runToolScript(
          "secret/cli.ts",
          ["--project-dir", project, "--stack", stack, "--key", "greenlight:appPassword"],
          {
            input: "value\n",
            env: { PULUMI_CONFIG_PASSPHRASE: "wrong" },
          },
        );
      const wrong = script("local");
      assertOneLine(wrong, 2, /^secret: Pulumi\.local\.yaml: incorrect passphrase/);
      const unknown = script("qa");
      assertOneLine(unknown, 2, /^secret: .*Pulumi\.qa\.yaml does not exist/);
      assert.deepEqual(snapshot(project), before);
    });
  });
});
