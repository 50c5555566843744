// What each provider stores after it created a resource (its read-back), and how it diffs the next
// update against that, per property: the harness records the read-back as a resource's outputs, and
// `npm run plan --diff-from` and the idempotence tests compare a run's inputs with it. Every provider
// resource type the program registers must have rules here, and every input it sets a rule with its
// source: an unknown one is an error, not a silent pass.
import { Apply, Inputs, PropertyRule, TypeRules, isZero, sameValue } from "./rules";
import * as aws from "./aws";
import * as command from "./command";
import * as docker from "./docker";
import * as postgresql from "./postgresql";

export type { Apply, PropertyRule, TypeRules } from "./rules";

const ALL: TypeRules[] = [
  ...Object.values(docker).filter(isRules),
  ...Object.values(aws),
  ...Object.values(postgresql),
  ...Object.values(command),
];

function isRules(value: unknown): value is TypeRules {
  return typeof value === "object" && value !== null && "properties" in value && "type" in value;
}

const BY_TYPE = new Map(ALL.map((rules) => [rules.type, rules]));

/** Every type with rules, for the documentation's table and its test. */
export const READBACK_RULES: readonly TypeRules[] = ALL;

/** The rules of a provider resource type; throws for a type nobody has read the provider for. */
export function rulesFor(type: string): TypeRules {
  const rules = BY_TYPE.get(type);
  if (!rules)
    throw new Error(
      `no read-back rules for ${type}: add them to tools/harness/readback/ with the provider's source, then run the idempotence tests`,
    );
  return rules;
}

function ruleFor(rules: TypeRules, property: string): PropertyRule {
  const rule = rules.properties[property];
  if (!rule)
    throw new Error(
      `no read-back rule for ${rules.type}.${property}: say what the provider stores for it and what a change does, with its source (tools/harness/readback/)`,
    );
  return rule;
}

/** What the provider stores after it created a resource with these inputs (its outputs, secrets kept marked). */
export function readBack(type: string, name: string, inputs: Inputs): Inputs {
  const rules = rulesFor(type);
  const state: Inputs = { ...(rules.computed?.(name, inputs) ?? {}) };
  for (const [property, value] of Object.entries(inputs)) {
    if (value === undefined) continue;
    const rule = ruleFor(rules, property);
    const planned = rule.planned ? rule.planned(value, inputs) : value;
    state[property] = rule.stored ? rule.stored(value, inputs) : planned;
  }
  for (const [property, rule] of Object.entries(rules.properties)) {
    if (property in inputs && inputs[property] !== undefined) continue;
    const unset = rule.default ?? rule.readWhenUnset;
    if (unset) state[property] = unset(inputs);
  }
  return state;
}

/** One property the provider would change in the next update. */
export interface PropertyChange {
  property: string;
  apply: Apply;
  before: unknown;
  after: unknown;
  rule: PropertyRule;
}

export interface DiffOptions {
  /** The resource's ignoreChanges: the engine keeps the old inputs' value (pkg/resource/deploy/step_generator.go). */
  ignoreChanges?: string[];
  /** The resource's replaceOnChanges: a change of these replaces it whatever the provider says. */
  replaceOnChanges?: string[];
}

/**
 * The provider's diff of the next update: the new inputs (ignoreChanges applied by the engine first)
 * against the stored state (a bridged resource) or the old inputs (a native one), per property.
 */
export function providerDiff(
  type: string,
  old: { inputs: Inputs; state: Inputs },
  newInputs: Inputs,
  options: DiffOptions = {},
): PropertyChange[] {
  const rules = rulesFor(type);
  const news: Inputs = { ...newInputs };
  for (const property of options.ignoreChanges ?? []) {
    if (property in old.inputs) news[property] = old.inputs[property];
    else delete news[property];
  }
  const changes: PropertyChange[] = [];
  const properties = new Set([...Object.keys(news), ...Object.keys(rules.properties)]);
  if (rules.diff === "inputs") for (const property of Object.keys(old.inputs)) properties.add(property);
  for (const property of properties) {
    const given = news[property] !== undefined;
    if (!given && !(property in rules.properties) && !(property in old.inputs)) continue;
    const rule = ruleFor(rules, property);
    const plan = (value: unknown, inputs: Inputs) => (rule.planned ? rule.planned(value, inputs) : value);
    let before: unknown;
    let after: unknown;
    let changed: boolean;
    if (rules.diff === "inputs") {
      before = old.inputs[property] === undefined ? undefined : plan(old.inputs[property], old.inputs);
      after = given ? plan(news[property], news) : undefined;
      changed = !sameValue(before, after, rule.set);
    } else {
      before = old.state[property];
      if (given) {
        after = plan(news[property], news);
        changed = !sameValue(after, before, rule.set);
      } else if (rule.computed) {
        changed = false;
      } else if (rule.default) {
        after = rule.default(news);
        changed = !sameValue(after, before);
      } else {
        // Terraform plans null, which matches a zero value in the state (schema.go diffString).
        changed = !isZero(before);
      }
    }
    if (!changed) continue;
    const replace =
      (options.replaceOnChanges ?? []).some((entry) => entry === "*" || entry === property) ||
      rule.apply === "replace";
    changes.push({ property, apply: replace ? "replace" : rule.apply, before, after, rule });
  }
  return changes;
}
