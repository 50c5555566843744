// Telling a secret input from a plaintext one. @pulumi/policy hands policies raw values; a secret is
// visible only where the analyzer keeps `Secret` wrappers behind its secrets-preserving proxy (the
// engine's remediate path, and tools/policy-runner.ts). Where they are not kept, the answer is "unknown".
import { Secret } from "@pulumi/policy";

/** @pulumi/policy's internal proxy markers (proxy.js isSpecialProxy / getSpecialProxyTarget). */
const IS_PROXY = "__isSpecialProxy";
const PROXY_TARGET = "__getSpecialProxyTarget";

export type Secretness = "secret" | "plain" | "unknown";

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** Peels the analyzer's proxies; counts them, since two layers mean secrets were preserved. */
function peel(container: unknown): { raw: unknown; layers: number } {
  let raw = container;
  let layers = 0;
  while (isObject(raw) && raw[IS_PROXY] === true && layers < 8) {
    raw = raw[PROXY_TARGET];
    layers++;
  }
  return { raw, layers };
}

/**
 * Whether `container[key]` was a secret input. "unknown" when the analyzer unwrapped secrets before the
 * policy saw them (the engine's validation path): then nobody can tell, and callers must not guess.
 */
export function secretness(container: unknown, key: string | number): Secretness {
  const { raw, layers } = peel(container);
  if (!isObject(raw)) return "unknown";
  if (raw[key as string] instanceof Secret) return "secret";
  return layers >= 2 ? "plain" : "unknown";
}

/** Secretness of an entry inside a property: the property itself may be the secret. */
export function entrySecretness(props: unknown, property: string, key: string | number): Secretness {
  const whole = secretness(props, property);
  if (whole === "secret") return "secret";
  const container = isObject(props) ? props[property] : undefined;
  return secretness(container, key);
}
