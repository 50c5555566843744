// The health gate's command line (index.ts probes the replicas).
import { Command } from "commander";
import { withGateFailureNotice } from "../notify";
import { addTargetOptions, integer, targetFromOptions, urlPath } from "../lib/options";
import { StepCommand, progress } from "../lib/step";
import type { HealthGateOptions } from ".";

export const healthGateCommand: StepCommand = {
  name: "health-gate",
  description:
    "Probes every replica of a color directly until health and readiness answer 200 N times in a row",
  options: (command: Command) =>
    addTargetOptions(command)
      .option("--health-path <path>", "liveness path", urlPath, "/health")
      .option("--readiness-path <path>", "readiness path", urlPath, "/health/ready")
      .option("--no-readiness", "check the liveness path only (the policy pack refuses this)")
      .option("--interval <seconds>", "seconds between probes", integer(1, 300), 5)
      .option("--timeout <seconds>", "seconds one probe may take", integer(1, 120), 3)
      .option("--attempts <n>", "consecutive 200 answers required", integer(1, 100), 5)
      .option("--deadline <seconds>", "give up after this many seconds", integer(1, 3600), 120),
  run: (options, env) => {
    const gate: HealthGateOptions = {
      ...targetFromOptions(options),
      healthPath: String(options.healthPath),
      readinessPath: String(options.readinessPath),
      checkReadiness: options.readiness !== false,
      intervalSeconds: Number(options.interval),
      timeoutSeconds: Number(options.timeout),
      attempts: Number(options.attempts),
      deadlineSeconds: Number(options.deadline),
    };
    return withGateFailureNotice("health-gate", "health gate", gate, env, async () => {
      const { runHealthGate } = await import(".");
      return runHealthGate(gate, (message) => progress("health-gate", message));
    });
  },
};
