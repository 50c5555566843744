// The guard's command line: watches a color on the proxy's access log and flips back on a breach
// (index.ts listens and judges, requests.ts counts). The switch takes the same threshold options.
import { Command } from "commander";
import { Color, otherColor } from "../../schema/types";
import { activate } from "../proxy/activate";
import { addProxyOptions, proxySpecFromOptions } from "../proxy/cli";
import { proxyUrl } from "../proxy/spec";
import { notifyFromStep } from "../notify";
import { color, integer } from "../lib/options";
import { GuardThresholds } from "./requests";
import { StepCommand, StepError, progress } from "../lib/step";
import { AccessLogListener, describeGuard, watchGuard } from ".";

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
    const spec = proxySpecFromOptions(options);
    const serving = options.color as Color;
    const listener = await AccessLogListener.open(spec.logPort, spec.logAddress).catch((error: Error) => {
      throw new StepError(error.message, 2);
    });
    try {
      const report = await watchGuard({
        listener,
        color: serving,
        durationSeconds: Number(options.guardSeconds),
        thresholds: thresholdsFromOptions(options),
      });
      progress("guard", describeGuard(report));
      if (report.verdict !== "breach") return report;
      const previous = otherColor(serving);
      await activate(spec, previous, { log: (message) => progress("guard", message) });
      await notifyFromStep(
        "guard",
        {
          event: "revert",
          text: `traffic reverted from ${serving} to ${previous} at ${proxyUrl(spec)}`,
          fields: { why: (report.reasons ?? []).join("; "), measured: describeGuard(report) },
        },
        env,
      );
      throw new StepError(
        `guard reverted traffic to ${previous}: ${(report.reasons ?? []).join("; ")} (${describeGuard(report)})`,
        1,
        { ...report, revertedTo: previous },
      );
    } finally {
      await listener.close();
    }
  },
};
