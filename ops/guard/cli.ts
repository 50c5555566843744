// The guard's command line: watches a color on the proxy's access log and flips back on a breach
// (index.ts listens, judges and reverts; requests.ts counts). The switch takes the same threshold options.
import { Command } from "commander";
import { Color } from "../../schema/types";
import { addProxyOptions, proxySpecFromOptions } from "../proxy/cli";
import { color, integer } from "../lib/options";
import { GuardThresholds } from "./requests";
import { StepCommand } from "../lib/step";

export function guardThresholdOptions(command: Command): Command {
  return command
    .option("--guard-seconds <seconds>", "how long the guard watches (0: no guard)", integer(0, 86400), 300)
    .option("--guard-error-rate <percent>", "revert above this error rate", integer(1, 100), 5)
    .option("--guard-p95-ms <ms>", "revert above this p95 latency", integer(1, 600_000), 2000)
    .option("--guard-min-requests <n>", "requests needed before judging", integer(1, 1_000_000), 20);
}

export function thresholdsFromOptions(options: Record<string, unknown>): GuardThresholds {
  return {
    errorRatePercent: Number(options.guardErrorRate),
    p95Ms: Number(options.guardP95Ms),
    minRequests: Number(options.guardMinRequests),
  };
}

export const guardCommand: StepCommand = {
  name: "guard",
  description: "Watches the proxy's access log for a color and flips back to the other color on a breach",
  options: (command: Command) =>
    guardThresholdOptions(
      addProxyOptions(command.requiredOption("--color <color>", "the color now serving", color)),
    ),
  run: async (options, env) => {
    const { guardServing } = await import(".");
    return guardServing(
      proxySpecFromOptions(options),
      options.color as Color,
      { durationSeconds: Number(options.guardSeconds), thresholds: thresholdsFromOptions(options) },
      env,
    );
  },
};
