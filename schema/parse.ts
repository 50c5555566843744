import { CONFIG_KEYS, ConfigKey, ConfigKeyName, ENV_NAMESPACE, NAMESPACE, RETIRED_KEYS } from "./keys";
import { closestKey, namespaceProblem } from "./namespaces";
import { ENV_NAME, SECRET_ENV_NAME, STACK_NAME } from "../contract/patterns";
import { Decoded, crossKeyRules } from "./rules";
import { transportRules } from "./transport";
import { StackSettings } from "./types";
import { settingsFrom } from "./settings";

/** One bad key: where, what was received, what is expected. */
export interface ConfigProblem {
  key: string;
  received: string;
  expected: string;
}

/** A stack configuration that cannot be deployed; lists every bad key at once. */
export class ConfigError extends Error {
  constructor(
    readonly stack: string,
    readonly problems: ConfigProblem[],
  ) {
    super(
      `Invalid config for stack "${stack}" (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems
          .map((problem) => `  - ${problem.key}: got ${problem.received}; ${problem.expected}`)
          .join("\n"),
    );
    this.name = "ConfigError";
  }
}

/** What a config reader hands to the parser: every key as Pulumi gives it (strings, JSON for arrays). */
export interface RawStackConfig {
  stack: string;
  /** Fully qualified keys ("greenlight:appName") to their string values. */
  values: Record<string, string>;
  /**
   * Fully qualified keys whose values are encrypted in the stack file (`secure:`), when the reader can
   * tell (the offline harness and the tools can; a program run cannot without an internal SDK API, and
   * the CLI itself refuses plaintext for keys Pulumi.yaml declares secret). Unset: not checked here.
   */
  secretKeys?: ReadonlySet<string>;
  /** The instant time-dependent rules are judged at (override expiry). */
  now: Date;
}

/** Parses and validates a whole stack configuration, or throws one ConfigError naming every bad key. */
export function parseStackConfig(raw: RawStackConfig): StackSettings {
  const problems: ConfigProblem[] = [];
  const isSecret = (fullKey: string) => raw.secretKeys?.has(fullKey) === true;
  const knowsSecrets = raw.secretKeys !== undefined;
  const listedSecretEnv = listedNames(raw.values[`${NAMESPACE}:secretEnv`]);
  const mustBeSecret = (fullKey: string) => {
    const [namespace, key] = fullKey.split(":");
    if (namespace === ENV_NAMESPACE) return SECRET_ENV_NAME.test(key) || listedSecretEnv.has(key);
    const spec: ConfigKey | undefined = CONFIG_KEYS[key as ConfigKeyName];
    return spec?.secret === true;
  };
  // Never echo a value that is, or should have been, a secret.
  const shown = (fullKey: string, value: string | undefined) =>
    value === undefined
      ? "(not set)"
      : isSecret(fullKey) || mustBeSecret(fullKey)
        ? "[hidden]"
        : JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  const fail = (key: string, expected: string, received?: string) => {
    const fullKey = key.includes(":") ? key : `${NAMESPACE}:${key}`;
    problems.push({ key: fullKey, received: shown(fullKey, received ?? raw.values[fullKey]), expected });
  };

  if (!STACK_NAME.test(raw.stack)) {
    problems.push({
      key: "stack",
      received: JSON.stringify(raw.stack),
      expected: "expected a stack name of letters, digits, '.', '_' or '-'",
    });
  }

  const decoded: Record<string, unknown> = {};
  const envValues: Record<string, string> = {};
  const envNames: string[] = [];
  const present = new Set<string>();
  for (const [fullKey, value] of Object.entries(raw.values)) {
    const [namespace, ...rest] = fullKey.split(":");
    const key = rest.join(":");
    if (namespace === NAMESPACE) present.add(key);
    if (namespace === ENV_NAMESPACE) {
      envNames.push(key);
      if (!ENV_NAME.test(key)) {
        fail(
          fullKey,
          `expected an environment variable name ([A-Z_][A-Z0-9_]*) after ${ENV_NAMESPACE}:`,
          key,
        );
      } else {
        envValues[key] = value;
      }
      continue;
    }
    if (namespace !== NAMESPACE) {
      // A namespace that only looks like ours (greenlite:, greenlight_env:) would be passed on by Pulumi
      // and never read: refused, with the key it was meant to be.
      const lookalike = namespaceProblem(fullKey);
      if (lookalike)
        problems.push({
          key: fullKey,
          received: shown(fullKey, value),
          expected: lookalike.message.slice(fullKey.length + 2),
        });
      continue;
    }
    if (key in RETIRED_KEYS) {
      fail(fullKey, RETIRED_KEYS[key]);
      continue;
    }
    if (!(key in CONFIG_KEYS)) {
      const suggestion = closestKey(key);
      const hint = suggestion ? ` (did you mean ${NAMESPACE}:${suggestion}?)` : "";
      fail(fullKey, `expected a known key${hint}; see README "Configuration reference"`);
      continue;
    }
    const spec: ConfigKey = CONFIG_KEYS[key as ConfigKeyName];
    if (spec.secret && knowsSecrets && !isSecret(fullKey)) {
      fail(fullKey, `expected a secret, not plaintext; fix: pulumi config set --secret ${fullKey} <value>`);
      continue;
    }
    const result = decode(spec, value);
    if ("error" in result) fail(fullKey, result.error);
    else decoded[key] = result.value;
  }

  // Each key is validated on its own so one bad key never hides another.
  const valid: Partial<Decoded> = {};
  for (const [key, spec] of Object.entries(CONFIG_KEYS) as [ConfigKeyName, ConfigKey][]) {
    const fullKey = `${NAMESPACE}:${key}`;
    if (problems.some((problem) => problem.key === fullKey)) continue;
    const result = spec.schema.safeParse(decoded[key]);
    if (result.success) {
      (valid as Record<string, unknown>)[key] = result.data;
    } else if (raw.values[fullKey] === undefined) {
      fail(key, `expected a value: ${spec.description}`);
    } else {
      const issue = result.error.issues[0];
      fail(key, issue.message + (issue.path.length > 0 ? ` (item ${issue.path.join(".")})` : ""));
    }
  }
  crossKeyRules(valid, { stack: raw.stack, now: raw.now, envNames, present }, fail);
  transportRules(valid, { stack: raw.stack, now: raw.now, envNames, present }, fail);
  const { plain: envPlain, secret: envSecret } = splitEnv(envValues, valid.secretEnv, raw.secretKeys, fail);
  if (problems.length > 0) throw new ConfigError(raw.stack, problems);
  return settingsFrom(valid as Decoded, raw.stack, envPlain, envSecret);
}

/** The names a secretEnv value lists, for hiding their values in messages (empty when it is malformed). */
function listedNames(value: string | undefined): Set<string> {
  try {
    const names: unknown = JSON.parse(value ?? "[]");
    return new Set(Array.isArray(names) ? names.map(String) : []);
  } catch {
    return new Set();
  }
}

/**
 * The app's environment split by greenlight:secretEnv: listed names are secrets (the program reads
 * them with requireSecret), the rest plain. A secret-looking name must be listed; a listed name must
 * be set; where the reader knows what is encrypted, listed names must be and unlisted ones must not.
 */
function splitEnv(
  values: Record<string, string>,
  secretNames: string[] | undefined,
  secretKeys: ReadonlySet<string> | undefined,
  fail: (key: string, expected: string, received?: string) => void,
): { plain: Record<string, string>; secret: Record<string, string> } {
  const plain: Record<string, string> = {};
  const secret: Record<string, string> = {};
  const listed = new Set(secretNames ?? []);
  const setting = (name: string) => `pulumi config set --secret ${ENV_NAMESPACE}:${name} <value>`;
  for (const [name, value] of Object.entries(values)) {
    const fullKey = `${ENV_NAMESPACE}:${name}`;
    const encrypted = secretKeys?.has(fullKey);
    if (listed.has(name)) {
      if (encrypted === false)
        fail(
          fullKey,
          `expected a secret (it is in ${NAMESPACE}:secretEnv), not plaintext; fix: ${setting(name)}`,
        );
      secret[name] = value;
    } else if (SECRET_ENV_NAME.test(name)) {
      fail(
        fullKey,
        `expected a secret: add ${name} to ${NAMESPACE}:secretEnv and set it with ${setting(name)}`,
      );
    } else if (encrypted === true) {
      fail(
        fullKey,
        `expected ${name} in ${NAMESPACE}:secretEnv: it is encrypted, and unlisted values are read as plaintext`,
      );
    } else {
      plain[name] = value;
    }
  }
  for (const name of listed) {
    if (!(name in values))
      fail(
        `${NAMESPACE}:secretEnv`,
        `expected ${ENV_NAMESPACE}:${name} to be set: every listed name needs a value; fix: ${setting(name)}`,
      );
  }
  return { plain, secret };
}

/** Decodes a value the way Pulumi passes config to a program: scalars as strings, lists as JSON. */
function decode(spec: ConfigKey, value: string): { value: unknown } | { error: string } {
  switch (spec.type) {
    case "integer":
      return /^-?\d+$/.test(value.trim()) ? { value: Number(value) } : { error: "expected a whole number" };
    case "boolean":
      return value === "true" || value === "false"
        ? { value: value === "true" }
        : { error: "expected true or false" };
    case "array": {
      let array: unknown;
      try {
        array = JSON.parse(value);
      } catch {
        array = undefined;
      }
      if (!Array.isArray(array)) return { error: "expected a list" };
      // Structured items (pulumi config set --path 'greenlight:hosts[0].name' web-1) stay objects.
      if (spec.items === "object") return { value: array };
      return { value: array.map((item) => (typeof item === "string" ? item : JSON.stringify(item))) };
    }
    default:
      return { value };
  }
}
