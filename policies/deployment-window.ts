// Deployment windows (the blue-green deployment procedures: Tuesday–Thursday 10:00–14:00 UTC, no Friday afternoons or weekends;
// emergencies any time with on-call approval). A pack has one enforcement level per policy, so the rule
// is two policies over the release record: `deployment-window` blocks an update (pulumi up), and
// `deployment-window-advisory` reports, without blocking, what a preview would meet and every override.
import * as pulumi from "@pulumi/pulumi";
import type {
  PolicyConfigSchema,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from "@pulumi/policy";
import { DEFAULT_HORIZON_DAYS, Judgement, describeWindow, judge } from "./lib/calendar";
import {
  Calendar,
  CalendarError,
  DeploymentWindow,
  Freeze,
  WEEKDAYS,
  parseCalendar,
} from "./lib/calendar-config";
import { RESOURCE, STEP, STEP_ENV } from "../contract/resources";
import { childrenIndex, commandEnvironment, findSteps, label, waitsForAny } from "./lib/graph";
import { formatInstant } from "../contract/instant";
import {
  MAX_OVERRIDE_HOURS,
  OverrideCheck,
  checkOverride,
  describeGap,
  overrideFields,
} from "../contract/override";

/** The standard deployment window of the blue-green deployment procedures. */
export const DEFAULT_WINDOWS: DeploymentWindow[] = [
  { days: ["tue", "wed", "thu"], start: "10:00", end: "14:00", zone: "UTC" },
];

/** The configuration both window policies read; each stack's policies/config/<stack>.json sets it. */
export interface WindowConfig {
  windows: DeploymentWindow[];
  freezes: Freeze[];
  /** Longest an emergency override may last, in hours. */
  maxOverrideHours: number;
  /** How far ahead "next window opens" looks, in days. */
  horizonDays: number;
}

const CLOCK_PATTERN = "^([01][0-9]|2[0-3]):[0-5][0-9]$";

/** Shared by both window policies so one per-stack block configures both. */
export const windowConfigSchema: PolicyConfigSchema = {
  properties: {
    windows: {
      type: "array",
      description:
        "Weekly windows: {days, start, end, zone}; start inclusive, end exclusive, wall-clock time of an IANA zone.",
      items: {
        type: "object",
        properties: {
          days: { type: "array", minItems: 1, items: { type: "string", enum: [...WEEKDAYS] } },
          start: { type: "string", pattern: CLOCK_PATTERN },
          end: { type: "string", pattern: "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$" },
          zone: { type: "string", minLength: 1 },
        },
        required: ["days", "start", "end", "zone"],
        additionalProperties: false,
      },
      default: DEFAULT_WINDOWS,
    },
    freezes: {
      type: "array",
      description:
        "Dated freezes {from, to, reason} (ISO-8601 with a zone); they block even inside a window.",
      items: {
        type: "object",
        properties: {
          from: { type: "string", minLength: 16 },
          to: { type: "string", minLength: 16 },
          reason: { type: "string", minLength: 1 },
        },
        required: ["from", "to", "reason"],
        additionalProperties: false,
      },
      default: [],
    },
    maxOverrideHours: {
      type: "number",
      description: "Longest an emergency override may last, in hours.",
      minimum: 1,
      maximum: MAX_OVERRIDE_HOURS,
      default: MAX_OVERRIDE_HOURS,
    },
    horizonDays: {
      type: "integer",
      description: "How many days ahead to look for the next window.",
      minimum: 7,
      maximum: 3660,
      default: DEFAULT_HORIZON_DAYS,
    },
  },
};

/** What both policies know about one release record at one instant. */
interface Assessment {
  release: string;
  now: Date;
  calendar: Calendar;
  config: WindowConfig;
  judgement: Judgement;
  override: OverrideCheck;
}

/** Reads the record's environment and judges it; undefined for every resource but a release record. */
function assess(args: ResourceValidationArgs, policyName: string): Assessment | undefined {
  const env = commandEnvironment(args);
  if (env[STEP_ENV.step] !== STEP.record) return undefined;
  const given = args.getConfig<Partial<WindowConfig>>();
  const config: WindowConfig = {
    windows: given.windows ?? DEFAULT_WINDOWS,
    freezes: given.freezes ?? [],
    maxOverrideHours: given.maxOverrideHours ?? 24,
    horizonDays: given.horizonDays ?? DEFAULT_HORIZON_DAYS,
  };
  let calendar: Calendar;
  try {
    calendar = parseCalendar(config.windows, config.freezes);
  } catch (error) {
    if (error instanceof CalendarError) {
      throw new Error(`${policyName} config: ${error.message} (policies/config/<stack>.json)`);
    }
    throw error;
  }
  // The clock, and nothing a committed file can set: no policy config may move it. The offline plan
  // judges another instant by running the whole pack process on a shifted clock (tools/policy-runner).
  const now = new Date();
  const override = checkOverride(overrideFields(env), now, config.maxOverrideHours);
  return {
    release: env[STEP_ENV.release] ?? "(no GREENLIGHT_RELEASE)",
    now,
    calendar,
    config,
    judgement: judge(now, calendar, config.horizonDays),
    override,
  };
}

function whyBlocked(assessment: Assessment): string {
  const { judgement, config } = assessment;
  if (judgement.allowed) return "inside a deployment window";
  if (judgement.blocked.kind === "freeze") {
    const { freeze } = judgement.blocked;
    return `inside the freeze "${freeze.reason}", ${freeze.from} to ${freeze.to}`;
  }
  return config.windows.length === 0
    ? "no deployment window is configured"
    : `outside every deployment window: ${config.windows.map(describeWindow).join("; ")}`;
}

function nextWindow(assessment: Assessment): string {
  const { judgement, config } = assessment;
  if (judgement.allowed) return "the window is open";
  return judgement.nextOpening
    ? `next window opens ${formatInstant(judgement.nextOpening)}`
    : `no window opens in the next ${config.horizonDays} days`;
}

function describeOverride(
  override: Extract<OverrideCheck, { status: "valid" }>["override"],
  now: Date,
): string {
  return (
    `reason "${override.reason}", approved by ${override.approver}, ticket ${override.ticket}, ` +
    `expires ${formatInstant(override.expiresAt)} (in ${describeGap(override.expiresAt.getTime() - now.getTime())})`
  );
}

export const deploymentWindow: ResourceValidationPolicy & StackValidationPolicy = {
  name: "deployment-window",
  description:
    "Requires every update to run inside a deployment window and outside every freeze, unless the release record carries a valid emergency override; everything the release creates or changes (steps, containers, images, the bucket and its key, the roles) waits for that record.",
  enforcementLevel: "mandatory",
  configSchema: windowConfigSchema,
  remediationSteps:
    "Wait for the next window, or set greenlight:overrideReason, overrideApprover, overrideTicket and overrideExpiresAt (at most 24 h ahead) and run pulumi up again.",
  validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    // A preview only warns (deployment-window-advisory); the update is what must not go out.
    if (pulumi.runtime.isDryRun()) return;
    const assessment = assess(args, "deployment-window");
    if (!assessment || assessment.judgement.allowed || assessment.override.status === "valid") return;
    const rejected =
      assessment.override.status === "invalid"
        ? ` The emergency override on the release record was rejected: ${assessment.override.problems.join("; ")}.`
        : "";
    reportViolation(
      `release ${assessment.release} is not in an open deployment window at ${formatInstant(assessment.now)}; ${nextWindow(assessment)} ` +
        `(${whyBlocked(assessment)}). Deploy then, or record an emergency override: set greenlight:overrideReason, ` +
        `overrideApprover, overrideTicket and overrideExpiresAt (at most ${assessment.config.maxOverrideHours} h ahead).${rejected}`,
    );
  },
  validateStack: (args, reportViolation) => {
    // Without the record the window cannot be judged; a program that drops it must not slip through.
    const records = findSteps(args.resources, STEP.record).map(({ resource }) => resource);
    if (records.length === 0) {
      reportViolation(
        `no release record in the stack: expected a command with ${STEP_ENV.step}=${STEP.record} ` +
          `(the greenlight:release:ReleaseRecord component), which the deployment window and the override are judged on. ` +
          `Keep the ReleaseRecord in index.ts.`,
      );
      return;
    }
    // The window stops the update at the record; whatever does not wait for it could already have run.
    const children = childrenIndex(args.resources);
    const recordSet = new Set(records);
    for (const resource of args.resources) {
      const step = commandEnvironment(resource)[STEP_ENV.step];
      // Every resource the release creates or changes (the bucket, its key, the roles, a host's volume, not
      // only steps and containers); a provider resource changes nothing by itself.
      const changesTheRelease =
        step !== STEP.record &&
        (step !== undefined ||
          ((Object.values(RESOURCE) as string[]).includes(resource.type) &&
            resource.type !== RESOURCE.dockerProvider));
      if (!changesTheRelease) continue;
      if (waitsForAny(resource, children, recordSet)) continue;
      reportViolation(
        `${label(resource)} does not wait for the release record, so in an update outside the window it could run ` +
          `before deployment-window stops the release; make it depend on the ReleaseRecord (dependsOn: [record]).`,
        resource.urn,
      );
    }
  },
};

export const deploymentWindowAdvisory: ResourceValidationPolicy = {
  name: "deployment-window-advisory",
  description:
    "Checks that deployment-window's decision is seen early: reports, without blocking, a preview outside the window and every emergency override used or rejected.",
  enforcementLevel: "advisory",
  configSchema: windowConfigSchema,
  validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    const assessment = assess(args, "deployment-window-advisory");
    if (!assessment) return;
    const { override, judgement, now, release } = assessment;
    if (override.status === "valid") {
      reportViolation(
        judgement.allowed
          ? `override present but not needed: release ${release} at ${formatInstant(now)} is inside a deployment window; ` +
              `${describeOverride(override.override, now)}. Remove the greenlight:override* keys after this release.`
          : `override used: release ${release} goes out at ${formatInstant(now)} (${whyBlocked(assessment)}); ` +
              `${describeOverride(override.override, now)}; ${nextWindow(assessment)}.`,
      );
    } else if (override.status === "invalid") {
      reportViolation(`override rejected for release ${release}: ${override.problems.join("; ")}.`);
    }
    if (pulumi.runtime.isDryRun() && !judgement.allowed && override.status !== "valid") {
      reportViolation(
        `release ${release} is not in an open deployment window at ${formatInstant(now)}: the update would be blocked; ${nextWindow(assessment)} (${whyBlocked(assessment)}).`,
      );
    }
  },
};
