// Reads and edits Pulumi.<stack>.yaml the way `pulumi config set` / `pulumi config rm` change it, keeping
// comments, key order and the secure: entries. Pure functions over the file's text.
import { isMap, isPair, isScalar, parseDocument, Scalar, YAMLMap } from "yaml";
import { NAMESPACE } from "../../schema/keys";

/** A stack file's config value in the encoding `pulumi stack history --json` uses. */
export interface FileConfigValue {
  value?: string;
  secret: boolean;
}

/** The edits a release makes: values to set (always strings, as `pulumi config set` writes them) and keys to remove. */
export interface ConfigChanges {
  set: Record<string, string>;
  remove: string[];
}

/** The stack file has no usable config: block; the message says how to fix it. */
export class StackYamlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StackYamlError";
  }
}

function configMap(text: string, source: string) {
  const document = parseDocument(text);
  if (document.errors.length > 0) throw new StackYamlError(`${source}: ${document.errors[0].message}`);
  const config = document.get("config");
  if (config === undefined) {
    const created = document.createNode({}) as YAMLMap;
    document.set("config", created);
    return { document, config: created };
  }
  if (!isMap(config)) throw new StackYamlError(`${source}: config: is not a mapping of keys to values`);
  return { document, config };
}

function keyOf(item: unknown): string | undefined {
  if (!isPair(item)) return undefined;
  return isScalar(item.key) ? String(item.key.value) : undefined;
}

function isSecure(value: unknown): boolean {
  return isMap(value) && value.items.length === 1 && keyOf(value.items[0]) === "secure";
}

/** Reads a stack file's config: scalars as strings, lists and maps as JSON, secure: entries as secrets. */
export function readFileConfig(text: string, source: string): Record<string, FileConfigValue> {
  const { document } = configMap(text, source);
  const plain = document.toJS() as { config?: Record<string, unknown> };
  const result: Record<string, FileConfigValue> = {};
  for (const [key, value] of Object.entries(plain.config ?? {})) {
    if (value !== null && typeof value === "object" && !Array.isArray(value) && "secure" in value) {
      result[key] = { secret: true };
    } else if (value !== null && typeof value === "object") {
      result[key] = { value: JSON.stringify(value), secret: false };
    } else {
      result[key] = { value: value === null ? "" : String(value), secret: false };
    }
  }
  return result;
}

/** Applies `pulumi config set`/`rm` edits to a stack file's text; new keys go after the last plain greenlight: key. */
export function applyConfigChanges(text: string, changes: ConfigChanges, source: string): string {
  const { document, config } = configMap(text, source);
  const scalar = (value: string) => {
    const node = document.createNode(value) as Scalar;
    // A timestamp-looking plain scalar may be read back as a time by YAML 1.1 readers; pulumi quotes it.
    if (/^\d{4}-\d{2}-\d{2}[Tt ]/.test(value)) node.type = Scalar.QUOTE_DOUBLE;
    return node;
  };
  for (const key of changes.remove) {
    const index = config.items.findIndex((item) => keyOf(item) === key);
    if (index < 0) continue;
    const [removed] = config.items.splice(index, 1);
    // A comment above the removed key stays above whatever now takes its place.
    const commentBefore = isScalar(removed.key) ? removed.key.commentBefore : undefined;
    const next = config.items[index];
    if (commentBefore && next !== undefined && isScalar(next.key)) {
      next.key.commentBefore = [commentBefore, next.key.commentBefore].filter(Boolean).join("\n");
    }
  }
  for (const [key, value] of Object.entries(changes.set)) {
    const existing = config.items.find((item) => keyOf(item) === key);
    if (existing !== undefined) {
      if (isScalar(existing.value) && !isSecure(existing.value)) {
        // Keep the node (and its trailing comment); let the library quote the new value as it needs.
        const replacement = scalar(value);
        existing.value.value = replacement.value;
        existing.value.type = replacement.type;
      } else {
        existing.value = scalar(value);
      }
      continue;
    }
    let insertAt = config.items.length;
    for (let index = config.items.length - 1; index >= 0; index--) {
      const itemKey = keyOf(config.items[index]);
      if (itemKey?.startsWith(`${NAMESPACE}:`) && !isSecure(config.items[index].value)) {
        insertAt = index + 1;
        break;
      }
    }
    config.items.splice(insertAt, 0, document.createPair(key, scalar(value)));
  }
  return document.toString();
}
