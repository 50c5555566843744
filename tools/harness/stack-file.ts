import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { CliConfigProblem, ProjectConfigType, StackValue, cliConfigProblem } from "./cli-config";
import { SECRET_PLACEHOLDER } from "./types";

/** A stack's config as the Pulumi engine would hand it to the program. */
export interface StackConfig {
  /** The project name from Pulumi.yaml. */
  project: string;
  /** Fully qualified keys to string values (arrays and objects as JSON). */
  config: Record<string, string>;
  /** Keys whose value is (or contains) a `secure:` entry. */
  secretKeys: string[];
  /** Pulumi.yaml's `config:` declarations, as the CLI reads them. */
  declarations: Record<string, ProjectConfigType>;
  /** The stack's own values (no project defaults), fully qualified, as the CLI validates them. */
  stackValues: Record<string, StackValue>;
  /** Per encrypted key, a digest of its ciphertext: a rotated secret shows as a changed one (never its value). */
  secretVersions: Record<string, string>;
}

/** An override of one key in a test or tool run: a plain value, a secret, or removal (null). */
export type ConfigOverride = string | number | boolean | (string | number)[] | { secret: string } | null;

/** Thrown when a stack or project file is missing or malformed: a usage problem, not a config problem. */
export class StackFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StackFileError";
  }
}

/** The Pulumi CLI refuses this stack's configuration (a declared key missing, mistyped or not encrypted). */
export class CliConfigError extends StackFileError {
  constructor(
    readonly stack: string,
    readonly problem: CliConfigProblem,
    /** Keys Pulumi.yaml declares secret: their fix is `pulumi config set --secret`. */
    secretKeys: ReadonlySet<string> = new Set(),
  ) {
    // A secret's value is never typed on a command line (shell history): pulumi asks for it.
    const setting = (key: string, secret = false) =>
      secret
        ? `pulumi config set --stack ${stack} --secret greenlight:${key} (it asks for the value)`
        : `pulumi config set --stack ${stack} greenlight:${key} <value>`;
    const fix = problem.message.includes("missing")
      ? problem.keys.map((key) => setting(key, secretKeys.has(key))).join("; ")
      : problem.message.includes("encrypted")
        ? setting(problem.keys[0], true)
        : `give greenlight:${problem.keys[0]} a value of the declared type in Pulumi.${stack}.yaml`;
    super(`${problem.message} (the Pulumi CLI refuses this stack before the program runs); fix: ${fix}`);
    this.name = "CliConfigError";
  }
}

/** Throws CliConfigError when the Pulumi CLI would refuse to run the stack with this configuration. */
export function checkCliConfig(stack: string, stackConfig: StackConfig): void {
  const problem = cliConfigProblem(
    stackConfig.project,
    stack,
    stackConfig.declarations,
    stackConfig.stackValues,
  );
  if (problem) {
    const declaredSecret = Object.entries(stackConfig.declarations)
      .filter(([, declaration]) => declaration?.secret === true)
      .map(([key]) => key);
    throw new CliConfigError(stack, problem, new Set(declaredSecret));
  }
}

/** Reads Pulumi.yaml and Pulumi.<stack>.yaml the way the engine would; `secure:` values become placeholders. */
export function readStackConfig(projectDir: string, stack: string, stackFile?: string): StackConfig {
  const projectPath = path.join(projectDir, "Pulumi.yaml");
  if (!fs.existsSync(projectPath))
    throw new StackFileError(
      `no ${projectPath}: run this from a greenlight checkout (the Pulumi project file is missing)`,
    );
  const project = readYaml(projectPath) as { name?: string; config?: Record<string, ProjectConfigType> };
  if (project?.name === undefined)
    throw new StackFileError(`${projectPath}: no project name; is this a Pulumi project?`);

  const file = stackFile ?? path.join(projectDir, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) {
    const known = fs
      .readdirSync(projectDir)
      .map((entry) => /^Pulumi\.(.+)\.yaml$/.exec(entry)?.[1])
      .filter((name): name is string => name !== undefined);
    throw new StackFileError(`no stack file ${file} for stack "${stack}"; known stacks: ${known.join(", ")}`);
  }
  const stackDoc = (readYaml(file) ?? {}) as { config?: Record<string, unknown> };
  if (
    typeof stackDoc !== "object" ||
    (stackDoc.config !== undefined && typeof stackDoc.config !== "object")
  ) {
    throw new StackFileError(`${file}: expected a mapping with a config: block`);
  }

  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  const stackValues: Record<string, StackValue> = {};
  const secretVersions: Record<string, string> = {};
  const declarations = project.config ?? {};
  // As the CLI merges them: a declared default where the stack sets nothing, the stack's value otherwise.
  for (const [key, declaration] of Object.entries(declarations)) {
    if (declaration && typeof declaration === "object" && "default" in declaration) {
      config[qualify(project.name, key)] = encode(declaration.default).value;
    }
  }
  for (const [key, value] of Object.entries(stackDoc.config ?? {})) {
    const encoded = encode(value);
    const fullKey = qualify(project.name, key);
    config[fullKey] = encoded.value;
    stackValues[fullKey] = { secure: isSecure(value), value: isSecure(value) ? SECRET_PLACEHOLDER : value };
    if (encoded.secret) secretKeys.push(fullKey);
    if (encoded.secret)
      secretVersions[fullKey] = createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 16);
  }
  return { project: project.name, config, secretKeys, declarations, stackValues, secretVersions };
}

/** Applies overrides on top of a stack's config (tests and tools use this to vary one key). */
export function applyOverrides(base: StackConfig, overrides: Record<string, ConfigOverride>): StackConfig {
  const config = { ...base.config };
  const stackValues = { ...base.stackValues };
  const secretKeys = new Set(base.secretKeys);
  for (const [key, value] of Object.entries(overrides)) {
    secretKeys.delete(key);
    if (value === null) {
      delete config[key];
      delete stackValues[key];
      // Removing a key brings back its declared default, as `pulumi config rm` does.
      const declared = base.declarations[key.slice(base.project.length + 1)];
      if (key.startsWith(`${base.project}:`) && declared?.default !== undefined)
        config[key] = encode(declared.default).value;
    } else if (typeof value === "object" && !Array.isArray(value)) {
      config[key] = value.secret;
      stackValues[key] = { secure: true, value: SECRET_PLACEHOLDER };
      secretKeys.add(key);
    } else {
      config[key] = typeof value === "string" ? value : JSON.stringify(value);
      stackValues[key] = { secure: false, value };
    }
  }
  return { ...base, config, secretKeys: [...secretKeys], stackValues };
}

function qualify(project: string, key: string): string {
  return key.includes(":") ? key : `${project}:${key}`;
}

function isSecure(value: unknown): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).length === 1 &&
    "secure" in value
  );
}

function readYaml(file: string): unknown {
  try {
    return parse(fs.readFileSync(file, "utf8"));
  } catch (error) {
    throw new StackFileError(`${file}: ${(error as Error).message}`);
  }
}

/** Encodes a YAML value as the engine passes config: scalars as strings, lists and maps as JSON. */
function encode(value: unknown): { value: string; secret: boolean } {
  let secret = false;
  const strip = (item: unknown): unknown => {
    if (Array.isArray(item)) return item.map(strip);
    if (item !== null && typeof item === "object") {
      const entries = Object.entries(item as Record<string, unknown>);
      if (entries.length === 1 && entries[0][0] === "secure") {
        secret = true;
        return SECRET_PLACEHOLDER;
      }
      return Object.fromEntries(entries.map(([key, inner]) => [key, strip(inner)]));
    }
    return item;
  };
  const stripped = strip(value);
  if (typeof stripped === "string") return { value: stripped, secret };
  if (typeof stripped === "number" || typeof stripped === "boolean")
    return { value: String(stripped), secret };
  return { value: JSON.stringify(stripped), secret };
}
