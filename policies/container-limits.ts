// The blue-green deployment procedures give every Kamal server cpus and memory and a healthcheck; an unlimited container can starve
// the warm color, and one without a healthcheck can never be judged healthy by Docker or the gate.
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { LABEL, RESOURCE } from "../contract/resources";
import { label } from "./lib/graph";

export interface ContainerLimitsConfig {
  /** Smallest acceptable memory limit, in MB. */
  minMemoryMb: number;
  /** Require a Docker healthcheck. */
  requireHealthcheck: boolean;
}

/** Docker labels come as [{label, value}] (provider v4+) or as a map. */
function labelNames(labels: unknown): string[] {
  if (Array.isArray(labels)) {
    return labels
      .map((entry) =>
        typeof entry === "object" && entry !== null ? (entry as { label?: unknown }).label : undefined,
      )
      .filter((name): name is string => typeof name === "string");
  }
  return typeof labels === "object" && labels !== null ? Object.keys(labels) : [];
}

function healthcheckTests(healthcheck: unknown): string[] {
  if (typeof healthcheck !== "object" || healthcheck === null) return [];
  const tests = (healthcheck as { tests?: unknown }).tests;
  return Array.isArray(tests) ? tests.filter((word): word is string => typeof word === "string") : [];
}

export const containerLimits: ResourceValidationPolicy = {
  name: "container-limits",
  description: `Requires every app container (label ${LABEL.app}) to have a memory limit, a CPU limit and a healthcheck.`,
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      minMemoryMb: {
        type: "integer",
        minimum: 4,
        maximum: 1048576,
        description: "Smallest acceptable memory limit, in MB.",
        default: 16,
      },
      requireHealthcheck: {
        type: "boolean",
        description: "Require a Docker healthcheck (tests other than NONE).",
        default: true,
      },
    },
  },
  remediationSteps:
    "Set greenlight:memoryMb and greenlight:cpus; build the container with the ColorSlot component, which adds the healthcheck.",
  validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    if (args.type !== RESOURCE.container || !labelNames(args.props.labels).includes(LABEL.app)) return;
    const { minMemoryMb = 16, requireHealthcheck = true } = args.getConfig<Partial<ContainerLimitsConfig>>();
    const memory = args.props.memory;
    if (typeof memory !== "number" || memory <= 0) {
      reportViolation(
        `app container ${label(args)} has no memory limit; set memory (MB) from greenlight:memoryMb.`,
      );
    } else if (memory < minMemoryMb) {
      reportViolation(
        `app container ${label(args)} has a memory limit of ${memory} MB, below ${minMemoryMb} MB; raise greenlight:memoryMb.`,
      );
    }
    const cpus = Number(args.props.cpus);
    const quota = Number(args.props.cpuQuota);
    if (!(cpus > 0) && !(quota > 0)) {
      reportViolation(`app container ${label(args)} has no CPU limit; set cpus from greenlight:cpus.`);
    }
    if (requireHealthcheck) {
      const tests = healthcheckTests(args.props.healthcheck);
      if (tests.length === 0 || tests[0] === "NONE") {
        reportViolation(
          `app container ${label(args)} has no healthcheck; give it one (["CMD", …] probing the health path) so Docker and the health gate can judge it.`,
        );
      }
    }
  },
};
