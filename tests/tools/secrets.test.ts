import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { PassphraseCrypter, setSecretInStackFile } from "../../tools/secrets";

const PROJECT_DIR = path.join(__dirname, "..", "..");
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
});
