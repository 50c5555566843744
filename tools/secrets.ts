// Pulumi's passphrase secrets provider (AES-256-GCM, key from PBKDF2-SHA256 with 1,000,000 iterations),
// so a stack file's `secure:` values can be written without the Pulumi CLI:
//   PULUMI_CONFIG_PASSPHRASE=... npm run secret -- --stack local --key greenlight:appPassword < value.txt
import { Command } from "commander";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { parseDocument } from "yaml";

const ITERATIONS = 1_000_000;
const KEY_BYTES = 32;

function deriveKey(passphrase: string, salt: Buffer): Buffer {
  return crypto.pbkdf2Sync(passphrase, salt, ITERATIONS, KEY_BYTES, "sha256");
}

function encryptWithKey(key: Buffer, plaintext: string): string {
  const nonce = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv("aes-256-gcm", key, nonce);
  const sealed = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
  return `v1:${nonce.toString("base64")}:${sealed.toString("base64")}`;
}

function decryptWithKey(key: Buffer, ciphertext: string): string {
  const [version, nonce, sealed] = ciphertext.split(":");
  if (version !== "v1" || !nonce || !sealed) throw new Error("not a v1 passphrase ciphertext");
  const bytes = Buffer.from(sealed, "base64");
  const decipher = crypto.createDecipheriv("aes-256-gcm", key, Buffer.from(nonce, "base64"));
  decipher.setAuthTag(bytes.subarray(bytes.length - 16));
  return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]).toString(
    "utf8",
  );
}

/** A crypter for one stack file's `encryptionsalt`. */
export class PassphraseCrypter {
  private readonly key: Buffer;

  constructor(
    passphrase: string,
    readonly encryptionSalt: string,
  ) {
    const [version, salt] = encryptionSalt.split(":");
    if (version !== "v1" || !salt)
      throw new Error(`encryptionsalt ${encryptionSalt}: expected v1:<salt>:<check>`);
    this.key = deriveKey(passphrase, Buffer.from(salt, "base64"));
    const check = encryptionSalt.split(":").slice(2).join(":");
    let decrypted: string | undefined;
    try {
      decrypted = decryptWithKey(this.key, check);
    } catch {
      decrypted = undefined;
    }
    if (decrypted !== "pulumi") throw new Error("incorrect passphrase for this stack's encryptionsalt");
  }

  /** A new salt for a stack file, as `pulumi stack init --secrets-provider passphrase` writes it. */
  static create(passphrase: string): PassphraseCrypter {
    const salt = crypto.randomBytes(8);
    const check = encryptWithKey(deriveKey(passphrase, salt), "pulumi");
    return new PassphraseCrypter(passphrase, `v1:${salt.toString("base64")}:${check}`);
  }

  encrypt(plaintext: string): string {
    return encryptWithKey(this.key, plaintext);
  }

  decrypt(ciphertext: string): string {
    return decryptWithKey(this.key, ciphertext);
  }
}

/** Sets one secret in a stack file, keeping its comments and order, like `pulumi config set --secret`. */
export function setSecretInStackFile(file: string, key: string, value: string, passphrase: string): void {
  const document = parseDocument(fs.readFileSync(file, "utf8"));
  const existingSalt = document.get("encryptionsalt");
  const crypter =
    typeof existingSalt === "string"
      ? new PassphraseCrypter(passphrase, existingSalt)
      : PassphraseCrypter.create(passphrase);
  if (typeof existingSalt !== "string") document.set("encryptionsalt", crypter.encryptionSalt);
  document.setIn(["config", key], document.createNode({ secure: crypter.encrypt(value) }));
  fs.writeFileSync(file, document.toString());
}

if (require.main === module) {
  const program = new Command("secret")
    .description("Encrypt a value from stdin into Pulumi.<stack>.yaml with the passphrase secrets provider")
    .requiredOption("--stack <name>", "stack whose file to change")
    .requiredOption("--key <key>", "fully qualified config key, e.g. greenlight:appPassword")
    .parse();
  const { stack, key } = program.opts<{ stack: string; key: string }>();
  const passphrase = process.env.PULUMI_CONFIG_PASSPHRASE;
  if (!passphrase) {
    console.error("PULUMI_CONFIG_PASSPHRASE is not set: export the stack's passphrase first");
    process.exit(2);
  }
  const value = fs.readFileSync(0, "utf8").replace(/\r?\n$/, "");
  setSecretInStackFile(path.resolve(__dirname, "..", `Pulumi.${stack}.yaml`), key, value, passphrase);
  console.log(`set ${key} (secret) in Pulumi.${stack}.yaml`);
}
