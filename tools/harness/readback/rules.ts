// The shape of a provider's read-back and update rules, and the comparison they share. Each rule says,
// for one input property: what the provider stores after it created the resource (its read-back), how it
// plans the configured value when it diffs the next update, and whether a change replaces the resource,
// is applied in place, or is only recorded — with the provider source line that says so.
import { isSecretMarker } from "../types";

/** What a change of one property does, as the provider decides it. */
export type Apply =
  /** ForceNew (a bridged provider) or replaceOnChanges: the resource is deleted and created again. */
  | "replace"
  /** The provider's Update applies the new value to the live resource. */
  | "update"
  /** Written to the state only: nothing on the live resource changes (the provider never applies it). */
  | "state";

export type Inputs = Record<string, unknown>;

export interface PropertyRule {
  apply: Apply;
  /** How the provider plans a configured value before it compares it with the state (defaults, StateFunc). */
  planned?: (value: unknown, inputs: Inputs) => unknown;
  /** What the provider stores after create for a configured value (default: the planned value). */
  stored?: (value: unknown, inputs: Inputs) => unknown;
  /** The schema's Default: planned and stored when the program does not set the property. */
  default?: (inputs: Inputs) => unknown;
  /** What Read stores when the program does not set the property and the schema has no Default for it. */
  readWhenUnset?: (inputs: Inputs) => unknown;
  /** Optional and computed: an unset input keeps whatever the state holds (no diff). */
  computed?: boolean;
  /** A set (TypeSet): order does not matter, in the state or in a comparison. */
  set?: boolean;
  /** What the provider stores, in words, when it is not the value as given (docs/engine.md's table). */
  stores?: string;
  /** What the live resource does with the property, when the rule's consequence needs saying (docs, plan). */
  note?: string;
  /** A state-only property the running resource depends on: why a change recorded without a replace is refused. */
  unapplied?: string;
  /** The provider source that says so: repository path:lines at the pinned version. */
  source: string;
}

export interface TypeRules {
  type: string;
  /**
   * How the provider diffs the next update: "state" — the planned new inputs against the stored state (a
   * Terraform-bridged resource); "inputs" — the old inputs against the new (a native provider that keeps
   * its inputs, and the engine's provider resources).
   */
  diff: "state" | "inputs";
  properties: Record<string, PropertyRule>;
  /** Outputs the provider computes on create that the program reads (a name, an ARN, a digest). */
  computed?: (name: string, inputs: Inputs) => Inputs;
  /** Outputs an in-place update changes (everything computed from them changes too). */
  outputsChangedByUpdate?: string[];
  /** The provider version the rules were read at. */
  version: string;
}

/** A recorded value as comparable text: keys sorted, secrets compared by their (placeholder) content. */
export function canonical(value: unknown): string {
  if (isSecretMarker(value))
    return `{"secret":${value.digest !== undefined ? JSON.stringify(value.digest) : canonical(value.value)}}`;
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, inner]) => inner !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${canonical(inner)}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

/** A value without its secret marker, for rules that read inside a value. */
export function unwrap(value: unknown): unknown {
  return isSecretMarker(value) ? value.value : value;
}

/** Two values equal as the provider compares them (a set in any order; a secret by its digest). */
export function sameValue(a: unknown, b: unknown, set = false): boolean {
  if (set && Array.isArray(a) && Array.isArray(b)) {
    const sorted = (list: unknown[]) => list.map(canonical).sort().join(",");
    return sorted(a) === sorted(b);
  }
  return canonical(a) === canonical(b);
}

/**
 * Terraform's comparison of an unset (null) config value with the state: the zero value of its type
 * stands in for null, so 0, "", false and an empty list or map in the state are no change
 * (hashicorp/terraform-plugin-sdk helper/schema/schema.go diffString: `nraw = schema.Type.Zero()`).
 */
export function isZero(value: unknown): boolean {
  const inner = unwrap(value);
  if (inner === undefined || inner === null || inner === 0 || inner === "" || inner === false) return true;
  if (Array.isArray(inner)) return inner.length === 0;
  if (typeof inner === "object") return Object.keys(inner as object).length === 0;
  return false;
}

/** Fills an object's unset fields from `defaults` (the nested schema's Default values). */
export function withDefaults(value: unknown, defaults: Inputs): unknown {
  const inner = unwrap(value);
  if (inner === null || typeof inner !== "object" || Array.isArray(inner)) return value;
  const filled = { ...defaults, ...(inner as Inputs) };
  return isSecretMarker(value) ? { ...value, value: filled } : filled;
}
