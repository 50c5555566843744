// The smoke step's command line: each --check parsed as the stack config writes it (index.ts runs them).
import { Command, InvalidArgumentError } from "commander";
import { parseSmokeCheck } from "../../schema/smoke";
import { SmokeCheck } from "../../schema/types";
import { withGateFailureNotice } from "../notify";
import { addTargetOptions, repeatable, targetFromOptions } from "../lib/options";
import { StepCommand, progress } from "../lib/step";
import type { SmokeOptions } from ".";

function smokeCheck(value: string): SmokeCheck {
  const parsed = parseSmokeCheck(value);
  if (typeof parsed === "string") throw new InvalidArgumentError(parsed);
  return parsed;
}

export const smokeCommand: StepCommand = {
  name: "smoke",
  description: "Runs the smoke checks once against every replica of a color, directly",
  options: (command: Command) =>
    addTargetOptions(command).option(
      "--check <check>",
      `a smoke check '<path> <status> [text="…"] [maxMs=<n>]'; repeatable`,
      repeatable(smokeCheck),
    ),
  run: (options, env) => {
    const smoke: SmokeOptions = {
      ...targetFromOptions(options),
      checks: (options.check as SmokeCheck[] | undefined) ?? [],
    };
    return withGateFailureNotice("smoke", "smoke checks", smoke, env, async () => {
      const { runSmoke } = await import(".");
      const report = await runSmoke(smoke);
      progress("smoke", `${report.results.length} checks passed on ${smoke.color}`);
      return report;
    });
  },
};
