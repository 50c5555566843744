// Seeds 001, 002, 004: health checks pass on the new color before traffic moves to it ("no step continues
// until the previous gate is green"). The switch must wait for the gate of the color it activates.
import type { StackValidationPolicy } from "@pulumi/policy";
import { STEP, STEP_ENV } from "../contract/resources";
import { awaitedSteps, childrenIndex, findSteps, label } from "./lib/graph";

export interface HealthGateBeforeSwitchConfig {
  /** The gate must also check the readiness path (GREENLIGHT_CHECK_READINESS=true). */
  requireReadiness: boolean;
}

export const healthGateBeforeSwitch: StackValidationPolicy = {
  name: "health-gate-before-switch",
  description:
    "Requires every traffic switch to depend on the health gate of the color it activates, and that gate to check readiness.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      requireReadiness: {
        type: "boolean",
        description:
          "The gate the switch waits for must check the readiness path too (GREENLIGHT_CHECK_READINESS=true).",
        default: true,
      },
    },
  },
  remediationSteps:
    "Pass the target color's HealthGate to the TrafficSwitch (dependsOn) and keep its readiness check on.",
  validateStack: (args, reportViolation) => {
    const { requireReadiness = true } = args.getConfig<Partial<HealthGateBeforeSwitchConfig>>();
    const switches = findSteps(args.resources, STEP.switch);
    if (switches.length === 0) return;
    const children = childrenIndex(args.resources);
    for (const { resource: trafficSwitch, env } of switches) {
      const color = env[STEP_ENV.color];
      if (!color) {
        reportViolation(
          `traffic switch ${label(trafficSwitch)} has no ${STEP_ENV.color} in its environment, so its health gate cannot be matched; the TrafficSwitch component must set it.`,
          trafficSwitch.urn,
        );
        continue;
      }
      const gates = awaitedSteps(trafficSwitch, children, STEP.healthGate);
      const sameColor = gates.filter((gate) => gate.env[STEP_ENV.color] === color);
      const ready = sameColor.filter((gate) => gate.env[STEP_ENV.readiness] === "true");
      if (ready.length > 0 || (!requireReadiness && sameColor.length > 0)) continue;
      let found: string;
      if (sameColor.length > 0) {
        found =
          `it waits for gate ${sameColor.map((gate) => gate.resource.name).join(", ")} of ${color}, but that gate does not check readiness ` +
          `(${STEP_ENV.readiness}=${JSON.stringify(sameColor[0].env[STEP_ENV.readiness] ?? "")}); turn the readiness check on`;
      } else if (gates.length > 0) {
        found =
          `it waits only for the gate of ${gates.map((gate) => gate.env[STEP_ENV.color] ?? "?").join(", ")}; ` +
          `make it depend on the gate of ${color}, the color it activates`;
      } else {
        found = `it waits for no health gate at all; pass ${color}'s HealthGate to the TrafficSwitch as a dependency`;
      }
      reportViolation(
        `traffic switch ${label(trafficSwitch)} to ${color} does not depend on a readiness-checking health gate of ${color}: ${found}.`,
        trafficSwitch.urn,
      );
    }
  },
};
