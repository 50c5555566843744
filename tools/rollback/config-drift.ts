// Where Pulumi.<stack>.yaml, which the rollback's commands run against, differs from the live update's
// config. Plain values only: secrets are never compared. Pure.
import { StackUpdate } from "../history/read";
import { FileConfigValue } from "../lib/stack-yaml";
import { recorded } from "../history/state";
import { effectiveConfig } from "../history/config";

/** One key whose value in the stack file differs from the live update's. */
export interface ConfigDrift {
  key: string;
  live: string;
  file: string;
}

function normalized(value: string): string {
  try {
    const parsed: unknown = JSON.parse(value);
    if (typeof parsed === "object" && parsed !== null) return JSON.stringify(parsed);
  } catch {
    // A scalar: compared as text.
  }
  return value;
}

/** Keys where Pulumi.<stack>.yaml and the live config disagree (plain values only). */
export function configDrift(update: StackUpdate, stackFile: Record<string, FileConfigValue>): ConfigDrift[] {
  // The keys a history predates count as they then were (latestColor was the active color).
  const live = { ...update, config: effectiveConfig(update) };
  const keys = new Set([...Object.keys(live.config), ...Object.keys(stackFile)]);
  const drift: ConfigDrift[] = [];
  for (const key of [...keys].sort()) {
    const liveValue = recorded(live, key);
    const fileValue = stackFile[key];
    if (liveValue.secret || fileValue?.secret) continue;
    const liveText = liveValue.set ? (liveValue.value ?? "") : undefined;
    const fileText = fileValue?.value;
    if (liveText === fileText) continue;
    if (liveText !== undefined && fileText !== undefined && normalized(liveText) === normalized(fileText))
      continue;
    drift.push({ key, live: liveText ?? "(not set)", file: fileText ?? "(not set)" });
  }
  return drift;
}
