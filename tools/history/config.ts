// One recorded update's configuration as the engine handed it to the program, so the program can run
// again on it under the mock runtime (tools/harness): the values `pulumi stack history --json` recorded,
// each secret as the placeholder every offline run uses (its value is never in the history), on top of
// Pulumi.yaml's declared defaults. Pure.
import { SECRET_PLACEHOLDER } from "../harness/types";
import type { StackConfig } from "../harness/stack-file";
import type { StackValue } from "../harness/cli-config";
import { StackUpdate } from "./read";
import { plainValue, qualified, recorded } from "./state";
import { ENV_NAMESPACE } from "../../schema/keys";

/**
 * greenlight:latestColor as the update ran: recorded since the key exists; before it, backup and
 * migration followed the active color, which is what the key then meant.
 */
function recordedLatestColor(update: StackUpdate): string | undefined {
  return plainValue(recorded(update, "latestColor")) ?? plainValue(recorded(update, "activeColor"));
}

/**
 * greenlight:secretEnv as the update ran: recorded since the key exists; before it, an app variable was a
 * secret when the stack file encrypted it.
 */
function recordedSecretEnv(update: StackUpdate): string | undefined {
  if (qualified("secretEnv") in update.config) return undefined;
  const names = Object.entries(update.config)
    .filter(([key, entry]) => key.startsWith(`${ENV_NAMESPACE}:`) && entry.secret)
    .map(([key]) => key.slice(ENV_NAMESPACE.length + 1));
  return names.length > 0 ? JSON.stringify(names) : undefined;
}

/** The update's recorded config, with the keys it predates filled in as they then were. */
export function effectiveConfig(update: StackUpdate): StackUpdate["config"] {
  const config = { ...update.config };
  const latest = recordedLatestColor(update);
  if (!(qualified("latestColor") in config) && latest !== undefined)
    config[qualified("latestColor")] = { value: latest, secret: false };
  const secretEnv = recordedSecretEnv(update);
  if (secretEnv !== undefined)
    config[qualified("secretEnv")] = {
      value: secretEnv,
      objectValue: JSON.parse(secretEnv) as unknown,
      secret: false,
    };
  return config;
}

/** The update's config as a StackConfig of `project` (whose Pulumi.yaml declarations it keeps). */
export function updateStackConfig(update: StackUpdate, project: StackConfig): StackConfig {
  const config: Record<string, string> = {};
  const stackValues: Record<string, StackValue> = {};
  const secretKeys: string[] = [];
  for (const [key, declaration] of Object.entries(project.declarations)) {
    if (declaration && typeof declaration === "object" && "default" in declaration) {
      const value = declaration.default;
      config[`${project.project}:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
    }
  }
  for (const [key, entry] of Object.entries(effectiveConfig(update))) {
    if (entry.secret) {
      config[key] = SECRET_PLACEHOLDER;
      stackValues[key] = { secure: true, value: SECRET_PLACEHOLDER };
      secretKeys.push(key);
      continue;
    }
    const text = entry.value ?? (entry.objectValue !== undefined ? JSON.stringify(entry.objectValue) : "");
    config[key] = text;
    stackValues[key] = { secure: false, value: entry.objectValue ?? text };
  }
  return { ...project, config, secretKeys, stackValues };
}
