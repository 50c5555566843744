// Pulumi's passphrase secrets provider (AES-256-GCM, key from PBKDF2-SHA256 with 1,000,000 iterations),
// so a stack file's `secure:` values can be written without the Pulumi CLI, and the checks `npm run secret`
// (./cli.ts) makes before it writes one: a key greenlight does not read or that is not a secret (for an
// app variable: not listed in greenlight:secretEnv), an empty value, a passphrase that does not open the
// stack file are refused (BadInput) before anything is written.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { parseDocument } from "yaml";
import { CONFIG_KEYS, ConfigKey, ConfigKeyName, ENV_NAMESPACE, NAMESPACE } from "../../schema/keys";
import { configKeyProblem } from "../../schema/namespaces";
import { BadInput } from "../lib/io";

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

/** The passphrase does not open a stack file's `encryptionsalt`, or the salt is malformed. */
export class PassphraseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PassphraseError";
  }
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
      throw new PassphraseError(`encryptionsalt ${encryptionSalt}: expected v1:<salt>:<check>`);
    this.key = deriveKey(passphrase, Buffer.from(salt, "base64"));
    const check = encryptionSalt.split(":").slice(2).join(":");
    let decrypted: string | undefined;
    try {
      decrypted = decryptWithKey(this.key, check);
    } catch {
      decrypted = undefined;
    }
    if (decrypted !== "pulumi")
      throw new PassphraseError("incorrect passphrase for this stack's encryptionsalt");
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
  if (document.errors.length > 0) throw new BadInput(`${file}: ${document.errors[0].message.split("\n")[0]}`);
  const existingSalt = document.get("encryptionsalt");
  let crypter: PassphraseCrypter;
  try {
    crypter =
      typeof existingSalt === "string"
        ? new PassphraseCrypter(passphrase, existingSalt)
        : PassphraseCrypter.create(passphrase);
  } catch (error) {
    if (!(error instanceof PassphraseError)) throw error;
    throw new BadInput(
      `${path.basename(file)}: ${error.message}; export PULUMI_CONFIG_PASSPHRASE with the passphrase this stack was created with`,
    );
  }
  if (typeof existingSalt !== "string") document.set("encryptionsalt", crypter.encryptionSalt);
  document.setIn(["config", key], document.createNode({ secure: crypter.encrypt(value) }));
  fs.writeFileSync(file, document.toString());
}

/**
 * Refuses a key that greenlight does not read, or reads as plain config: a greenlight: key without
 * `secret` in schema/keys/, or an app variable the stack's greenlight:secretEnv does not list.
 */
export function checkSecretKey(key: string, stack: string, secretEnv: readonly string[]): void {
  const problem = configKeyProblem(key);
  if (problem !== undefined) throw new BadInput(`--key ${problem.message}`);
  const [namespace, name] = key.split(":");
  if (namespace === NAMESPACE && (CONFIG_KEYS[name as ConfigKeyName] as ConfigKey).secret !== true) {
    throw new BadInput(
      `--key ${key} is not a secret key; set it as plain config: pulumi config set ${key} <value> --stack ${stack}`,
    );
  }
  if (namespace === ENV_NAMESPACE && !secretEnv.includes(name)) {
    throw new BadInput(
      `--key ${key}: ${name} is not in ${NAMESPACE}:secretEnv of stack ${stack}, so the program reads it as plaintext; ` +
        `add ${name} to ${NAMESPACE}:secretEnv in Pulumi.${stack}.yaml first, or set it as plain config`,
    );
  }
}

/** The app variables a stack file lists in greenlight:secretEnv. */
export function listedSecretEnv(file: string): string[] {
  const document = parseDocument(fs.readFileSync(file, "utf8"));
  if (document.errors.length > 0) throw new BadInput(`${file}: ${document.errors[0].message.split("\n")[0]}`);
  const listed: unknown = document.toJS()?.config?.[`${NAMESPACE}:secretEnv`];
  return Array.isArray(listed) ? listed.map(String) : [];
}

/** Refuses an empty value, or one the key's schema refuses; the value itself is never printed. */
export function checkSecretValue(key: string, value: string): void {
  if (value.trim() === "") {
    throw new BadInput(
      `--key ${key}: the value on stdin is empty; pipe the secret in, e.g. printf %s "$VALUE" | npm run secret -- --stack <stack> --key ${key}`,
    );
  }
  const [namespace, name] = key.split(":");
  if (namespace !== NAMESPACE) return;
  const parsed = CONFIG_KEYS[name as ConfigKeyName].schema.safeParse(value);
  if (!parsed.success)
    throw new BadInput(`--key ${key}: the value on stdin is refused: ${parsed.error.issues[0].message}`);
}
