// What a key of the `greenlight:` config namespace is (ConfigKey), and the zod builders the key tables
// (app.ts, data.ts, hosts.ts, release.ts; merged in index.ts) share.
import * as fs from "fs";
import { z } from "zod";
import { caBundle, parseCaCertificates } from "../database-ca";
import * as p from "../../contract/patterns";

/** The Pulumi config types a project may declare in Pulumi.yaml. */
export type PulumiConfigType = "string" | "integer" | "boolean" | "array";

/** One key of the `greenlight:` config namespace. */
export interface ConfigKey {
  /** How the key is declared in Pulumi.yaml and how its string value is decoded. */
  type: PulumiConfigType;
  /** One line for Pulumi.yaml and the README reference. */
  description: string;
  /** Validates the decoded value; carries the default, if any. */
  schema: z.ZodType;
  /** The value must be set with `pulumi config set --secret`. */
  secret?: boolean;
  /** The README's "default" column when the default is computed rather than fixed. */
  defaultText?: string;
  /** For an array: its items are objects (structured config, `pulumi config set --path`), not strings. */
  items?: "object";
  /** For an array of scalars: the items' declared type (default string). */
  itemType?: "integer";
}

export const text = (pattern: RegExp, expected: string) => z.string().regex(pattern, `expected ${expected}`);
export const int = (min: number, max: number, unit: string) =>
  z
    .number()
    .int(`expected a whole number of ${unit}`)
    .min(min, `expected at least ${min} ${unit}`)
    .max(max, `expected at most ${max} ${unit}`);
export const port = () => int(1, 65535, "(a TCP port)");
export const seconds = (min: number, max: number) => int(min, max, "seconds");
export const releaseId = () =>
  text(p.RELEASE_ID, "a release id of 1-64 letters, digits, '.', '_' or '-' (no spaces or shell characters)");
export const imageRef = () =>
  text(p.IMAGE_REF, "a Docker image reference such as registry.example.com/shop@sha256:<64 hex digits>");
export const urlPath = () =>
  text(p.URL_PATH, "an absolute URL path such as /health (letters, digits, . _ ~ - /)");
export const identifier = () =>
  text(p.SQL_IDENTIFIER, "a lower-case PostgreSQL identifier ([a-z_][a-z0-9_]*)");
export const secretText = () => z.string().min(1, "expected a non-empty secret");

/**
 * CA certificates as PEM text, or the path of a PEM file (relative to the project directory, where
 * Pulumi runs the program): decoded to the certificates' PEM, each one parsed. Expiry is judged by a
 * cross-key rule, at the instant the config is judged.
 */
export const caCertificates = () =>
  z.string().transform((value, context) => {
    let pem = value;
    if (!value.includes("-----BEGIN")) {
      if (!p.FS_PATH.test(value) || !fs.existsSync(value) || !fs.statSync(value).isFile()) {
        context.addIssue({
          code: "custom",
          message: `expected PEM text or the path of a PEM file relative to the project directory; no file ${value}`,
        });
        return z.NEVER;
      }
      pem = fs.readFileSync(value, "utf8");
    }
    const certificates = parseCaCertificates(pem);
    if (typeof certificates === "string") {
      context.addIssue({ code: "custom", message: certificates });
      return z.NEVER;
    }
    return caBundle(certificates);
  });
