// The policy pack config a stack runs with: policies/config/<stack>.json, reconciled with the policies'
// schema defaults and checked against their schemas the way the Pulumi engine does.
import * as fs from "fs";
import * as path from "path";
import type { EnforcementLevel, Policies, PolicyConfigSchema } from "@pulumi/policy";
import type { PolicyConfigJSONSchema } from "@pulumi/policy/schema";
import { POLICIES_DIR } from "./pack";

/** A policy pack config file, as `pulumi preview --policy-pack-config` reads it. */
export type PolicyPackConfig = Record<string, unknown>;

/** A policy config file that is missing or does not fit the policies' schemas. */
export class PolicyConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PolicyConfigError";
  }
}

/** Reads policies/config/<stack>.json. */
export function loadPolicyConfig(
  stack: string,
  configDir = path.join(POLICIES_DIR, "config"),
): PolicyPackConfig {
  const file = path.join(configDir, `${stack}.json`);
  if (!fs.existsSync(file)) {
    const known = fs.existsSync(configDir)
      ? fs
          .readdirSync(configDir)
          .filter((entry) => entry.endsWith(".json"))
          .map((entry) => entry.slice(0, -5))
      : [];
    throw new PolicyConfigError(
      `no policy config for stack "${stack}": expected ${file} (known: ${known.join(", ") || "none"})`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (error) {
    throw new PolicyConfigError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new PolicyConfigError(
      `${file}: expected an object mapping policy names to a level or a config object`,
    );
  }
  return parsed as PolicyPackConfig;
}

const LEVELS: readonly EnforcementLevel[] = ["advisory", "mandatory", "remediate", "disabled"];

/** One policy's level and config after reconciling. */
export interface ResolvedConfig {
  enforcementLevel: EnforcementLevel;
  properties: Record<string, unknown>;
}

/**
 * The engine's ReconcilePolicyPackConfig: schema defaults, then "all", then each policy's entry, then
 * validation against the schema. Unlike the engine it also refuses names of policies the pack lacks.
 */
export function reconcilePolicyConfig(
  policies: Policies,
  config: PolicyPackConfig,
): Map<string, ResolvedConfig> {
  const problems: string[] = [];
  const known = new Set(policies.map((policy) => policy.name));
  const result = new Map<string, ResolvedConfig>();
  for (const policy of policies) {
    const properties: Record<string, unknown> = {};
    for (const [key, schema] of Object.entries(policy.configSchema?.properties ?? {})) {
      if (schema.default !== undefined) properties[key] = structuredClone(schema.default);
    }
    result.set(policy.name, { enforcementLevel: policy.enforcementLevel ?? "advisory", properties });
  }
  const levelOf = (name: string, value: unknown): EnforcementLevel | undefined => {
    if (value === undefined) return undefined;
    if (typeof value === "string" && (LEVELS as string[]).includes(value)) return value as EnforcementLevel;
    problems.push(`${name}: enforcementLevel ${JSON.stringify(value)} is not one of ${LEVELS.join(", ")}`);
    return undefined;
  };
  const all = config.all;
  const allLevel = levelOf(
    "all",
    typeof all === "object" && all !== null ? (all as Record<string, unknown>).enforcementLevel : all,
  );
  if (allLevel) for (const resolved of result.values()) resolved.enforcementLevel = allLevel;
  for (const [name, entry] of Object.entries(config)) {
    if (name === "all") continue;
    const resolved = result.get(name);
    if (!resolved) {
      problems.push(`${name}: no such policy in the pack (known: ${[...known].join(", ")})`);
      continue;
    }
    if (typeof entry === "string") {
      resolved.enforcementLevel = levelOf(name, entry) ?? resolved.enforcementLevel;
    } else if (typeof entry === "object" && entry !== null && !Array.isArray(entry)) {
      const { enforcementLevel, ...properties } = entry as Record<string, unknown>;
      resolved.enforcementLevel = levelOf(name, enforcementLevel) ?? resolved.enforcementLevel;
      Object.assign(resolved.properties, properties);
    } else {
      problems.push(`${name}: expected an enforcement level or an object, got ${JSON.stringify(entry)}`);
    }
  }
  for (const policy of policies) {
    const schema = policy.configSchema;
    if (!schema) continue;
    const resolved = result.get(policy.name) as ResolvedConfig;
    problems.push(
      ...validateConfig(schema, resolved.properties).map((problem) => `${policy.name}: ${problem}`),
    );
  }
  if (problems.length > 0) throw new PolicyConfigError(`policy config: ${problems.join("; ")}`);
  return result;
}

/** The subset of JSON Schema the pack's configSchemas use, checked the way gojsonschema would. */
function validateConfig(schema: PolicyConfigSchema, properties: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const key of schema.required ?? []) {
    if (properties[key] === undefined) problems.push(`${key} is required`);
  }
  for (const [key, value] of Object.entries(properties)) {
    const propertySchema = schema.properties[key];
    if (propertySchema) problems.push(...validateValue(propertySchema, value, key));
  }
  return problems;
}

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function validateValue(schema: PolicyConfigJSONSchema | boolean, value: unknown, where: string): string[] {
  if (schema === true) return [];
  if (schema === false) return [`${where} is not allowed`];
  const problems: string[] = [];
  const actual = typeOf(value);
  if (schema.type !== undefined) {
    const allowed = Array.isArray(schema.type) ? schema.type : [schema.type];
    const fits = allowed.some((type) => type === actual || (type === "number" && actual === "integer"));
    if (!fits) return [`${where}: expected ${allowed.join(" or ")}, got ${JSON.stringify(value)}`];
  }
  if (
    schema.enum !== undefined &&
    !schema.enum.some((option) => JSON.stringify(option) === JSON.stringify(value))
  ) {
    problems.push(
      `${where}: ${JSON.stringify(value)} is not one of ${schema.enum.map((option) => JSON.stringify(option)).join(", ")}`,
    );
  }
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum)
      problems.push(`${where}: ${value} is below ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum)
      problems.push(`${where}: ${value} is above ${schema.maximum}`);
  }
  if (typeof value === "string") {
    if (schema.minLength !== undefined && value.length < schema.minLength) {
      problems.push(`${where}: ${JSON.stringify(value)} is shorter than ${schema.minLength} characters`);
    }
    if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value)) {
      problems.push(`${where}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
    }
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      problems.push(`${where}: expected at least ${schema.minItems} item(s)`);
    }
    if (schema.items !== undefined && !Array.isArray(schema.items)) {
      const itemSchema = schema.items;
      value.forEach((item, index) => problems.push(...validateValue(itemSchema, item, `${where}[${index}]`)));
    }
  }
  if (actual === "object") {
    const object = value as Record<string, unknown>;
    for (const key of schema.required ?? []) {
      if (object[key] === undefined) problems.push(`${where}.${key} is required`);
    }
    for (const [key, inner] of Object.entries(object)) {
      const innerSchema = schema.properties?.[key] ?? schema.additionalProperties;
      if (innerSchema !== undefined) problems.push(...validateValue(innerSchema, inner, `${where}.${key}`));
    }
  }
  return problems;
}
