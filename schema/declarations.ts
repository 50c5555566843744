// What Pulumi.yaml declares for each greenlight: key, by the Pulumi CLI's rule for project config
// (pulumi/pulumi pkg/workspace/config.go, mergeConfig): a declared key without `default` must be set in
// every stack file or the CLI refuses the stack, so only two kinds of key are declared —
//   - keys with a fixed default, declared with that same default (the one zod applies), and
//   - required keys (no default), which every stack file sets;
// optional keys without a fixed default stay undeclared and are documented in the generated reference.
import { z } from "zod";
import { CONFIG_KEYS, ConfigKey, ConfigKeyName, PulumiConfigType } from "./keys";

/** One key as Pulumi.yaml declares it. */
export interface ProjectDeclaration {
  key: ConfigKeyName;
  type: PulumiConfigType;
  description: string;
  /** Declared `secret: true`: the CLI refuses a plaintext stack value. */
  secret: boolean;
  /** An array's item type, when not string. */
  itemType?: "integer";
  /** The declared default (the zod default); undefined for a required key. */
  default?: string | number | boolean | string[];
}

/** How a key relates to Pulumi.yaml. */
export type KeyKind = "default" | "required" | "undeclared";

export function keyKind(spec: ConfigKey): KeyKind {
  if (spec.schema instanceof z.ZodDefault) return "default";
  if (spec.schema instanceof z.ZodOptional) return "undeclared";
  return "required";
}

/** The zod default of a key, if it has one. */
export function fixedDefault(spec: ConfigKey): ProjectDeclaration["default"] {
  if (!(spec.schema instanceof z.ZodDefault)) return undefined;
  return spec.schema.def.defaultValue as ProjectDeclaration["default"];
}

/** Every declaration of Pulumi.yaml's config block, in the order of schema/keys/. */
export function projectDeclarations(): ProjectDeclaration[] {
  return (Object.entries(CONFIG_KEYS) as [ConfigKeyName, ConfigKey][])
    .filter(([, spec]) => keyKind(spec) !== "undeclared")
    .map(([key, spec]) => ({
      key,
      type: spec.type,
      description: spec.description,
      secret: spec.secret === true,
      ...(spec.itemType ? { itemType: spec.itemType } : {}),
      default: fixedDefault(spec),
    }));
}
