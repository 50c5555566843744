// Which config namespaces are greenlight's, and what a key in a namespace that is almost ours means: a
// typo (`greenlite:memoryMb`, `greenlight_env:X`) that Pulumi would pass on and the program would never
// read. Such keys are refused with the key they were probably meant to be. Pure.
import { CONFIG_KEYS, ENV_NAMESPACE, NAMESPACE } from "./keys";
import { ENV_NAME } from "../contract/patterns";

/** The namespaces greenlight reads: its own keys and the app's environment variables. */
export const OUR_NAMESPACES = [NAMESPACE, ENV_NAMESPACE] as const;

/** Edit distance (insertions, deletions, substitutions) between two strings. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/** The closest candidate within `maxDistance` edits (case-insensitive), or undefined. */
export function closest(
  word: string,
  candidates: readonly string[],
  maxDistance: number,
): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= maxDistance ? best : undefined;
}

/** Letters and digits only, lower case: `Green_Light-Env` and `greenlightenv` compare equal. */
function squashed(namespace: string): string {
  return namespace.toLowerCase().replace(/[^a-z0-9]/g, "");
}

/**
 * The namespace of ours that `namespace` looks like a misspelling of, or undefined when it is one of ours
 * or unlike them (a provider's own namespace such as `aws:` is left alone).
 */
export function lookalikeNamespace(namespace: string): string | undefined {
  if ((OUR_NAMESPACES as readonly string[]).includes(namespace)) return undefined;
  const candidates = [...OUR_NAMESPACES].sort((a, b) => b.length - a.length);
  // Separators and case first: greenlight_env, GreenLight, green-light.
  const sameLetters = candidates.find((candidate) => squashed(candidate) === squashed(namespace));
  if (sameLetters !== undefined) return sameLetters;
  // Then typos: up to three edits in a ten-letter word (greenlite, greenligth, grenlight-env).
  return closest(namespace, candidates, 3);
}

/** A config key greenlight refuses, with the key it was probably meant to be. */
export interface KeyProblem {
  key: string;
  message: string;
  suggestion?: string;
}

/**
 * Refuses a fully qualified key in a namespace that looks like ours but is not: "did you mean
 * greenlight:memoryMb?". Keys in our namespaces and in unrelated ones (a provider's) pass.
 */
export function namespaceProblem(fullKey: string): KeyProblem | undefined {
  const separator = fullKey.indexOf(":");
  if (separator < 0) return undefined;
  const namespace = fullKey.slice(0, separator);
  const key = fullKey.slice(separator + 1);
  const meant = lookalikeNamespace(namespace);
  if (meant === undefined) return undefined;
  const suggestion = `${meant}:${meant === NAMESPACE ? (closestKey(key) ?? key) : key}`;
  return {
    key: fullKey,
    suggestion,
    message: `${fullKey}: the namespace ${namespace}: is not greenlight's, so the program would never read this key; did you mean ${suggestion}?`,
  };
}

/** The greenlight: key a misspelt key name was probably meant to be. */
export function closestKey(key: string): string | undefined {
  return closest(key, Object.keys(CONFIG_KEYS), Math.max(2, Math.floor(key.length / 4)));
}

/**
 * Refuses any key greenlight does not read: an unknown namespace, a lookalike of ours, an unknown
 * greenlight: key, or an environment variable name the app cannot have. For tools that write one key.
 */
export function configKeyProblem(fullKey: string): KeyProblem | undefined {
  const lookalike = namespaceProblem(fullKey);
  if (lookalike !== undefined) return lookalike;
  const separator = fullKey.indexOf(":");
  const namespace = separator < 0 ? "" : fullKey.slice(0, separator);
  const key = fullKey.slice(separator + 1);
  if (namespace === NAMESPACE) {
    if (key in CONFIG_KEYS) return undefined;
    const meant = closestKey(key);
    return {
      key: fullKey,
      suggestion: meant === undefined ? undefined : `${NAMESPACE}:${meant}`,
      message:
        `${fullKey}: not a key greenlight reads` +
        (meant !== undefined
          ? `; did you mean ${NAMESPACE}:${meant}?`
          : "; the keys are listed in schema/keys/"),
    };
  }
  if (namespace === ENV_NAMESPACE) {
    if (ENV_NAME.test(key)) return undefined;
    return {
      key: fullKey,
      message: `${fullKey}: ${JSON.stringify(key)} is not an environment variable name; use [A-Z_][A-Z0-9_]* after ${ENV_NAMESPACE}:`,
    };
  }
  return {
    key: fullKey,
    message: `${JSON.stringify(fullKey)}: expected ${NAMESPACE}:<key> (schema/keys/) or ${ENV_NAMESPACE}:<NAME>`,
  };
}
