// What the plan says about progressive delivery, read from the switch's own command line (the one the
// update runs): a preview (the color on the preview front only, users where they are), the canary steps
// and how long they take, and whether an update is a promotion that runs the switch and nothing else.
import { STEP, STEP_ENV } from "../../contract/resources";
import { CANARY_WAIT_FACTOR } from "../../contract/canary";
import type { RecordedResource } from "../harness/types";

export interface Progressive {
  /** The switch only previews its color (greenlight:promote false). */
  preview: boolean;
  previewPort?: number;
  /** Canary steps in percent (empty: one move). */
  steps: number[];
  stepSeconds: number;
  guardSeconds: number;
}

/** The switch command's flags, each with its values (a flag without a value: ""). */
function flags(commandLine: string): Record<string, string[]> {
  const found: Record<string, string[]> = {};
  const words = commandLine.split(/\s+/);
  words.forEach((word, index) => {
    if (!word.startsWith("--")) return;
    const next = words[index + 1];
    (found[word.slice(2)] ??= []).push(
      next === undefined || next.startsWith("--") ? "" : next.replace(/^'|'$/g, ""),
    );
  });
  return found;
}

/** The switch's progressive settings, or undefined when the program has no switch. */
export function progressiveOf(resources: RecordedResource[]): Progressive | undefined {
  const run = resources.find((resource) => {
    const environment = resource.inputs.environment as Record<string, unknown> | undefined;
    return environment?.[STEP_ENV.step] === STEP.switch;
  });
  if (!run || typeof run.inputs.create !== "string") return undefined;
  const given = flags(run.inputs.create);
  return {
    preview: given.preview !== undefined,
    ...(given["preview-port"] ? { previewPort: Number(given["preview-port"][0]) } : {}),
    steps: (given["traffic-step"] ?? []).map(Number),
    stepSeconds: Number(given["traffic-step-seconds"]?.[0] ?? 60),
    guardSeconds: Number(given["guard-seconds"]?.[0] ?? 300),
  };
}

/** The header's lines: the preview, or the steps with their total time. */
export function progressiveLines(
  progressive: Progressive | undefined,
  active: string,
  warm: string,
): string[] {
  if (!progressive) return [];
  if (progressive.preview)
    return [`  previewing ${active} on :${progressive.previewPort ?? "?"}, users on ${warm}`];
  if (progressive.steps.length === 0) return [];
  const judged = progressive.steps.filter((percent) => percent < 100).length;
  const total = judged * progressive.stepSeconds + progressive.guardSeconds;
  const longest = judged * progressive.stepSeconds * CANARY_WAIT_FACTOR + progressive.guardSeconds;
  return [
    `  canary ${progressive.steps.map((percent) => `${percent} %`).join(" → ")} of new requests on ${active}, each step below 100 % judged ${progressive.stepSeconds} s against ${warm}, then the guard ${progressive.guardSeconds} s: about ${total} s in all (${Math.round(total / 6) / 10} min), at most ${longest} s if every step waits for its minimum sample`,
  ];
}
