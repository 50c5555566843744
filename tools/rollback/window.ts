// The deployment window at the instant the rollback's `pulumi up` would run: the policy pack blocks an
// update outside the window unless its release record carries a valid emergency override (policies/
// deployment-window.ts), and a rollback is an update. So the plan says the verdict, and when it is
// closed, the one command that records the override with the rollback. Judged with the pack's own
// calendar (policies/lib/calendar.ts) on the stack's policy config. Pure but for reading that config.
import { formatInstant } from "../../contract/instant";
import { checkOverride, MAX_OVERRIDE_HOURS } from "../../contract/override";
import { judge, describeWindow } from "../../policies/lib/calendar";
import { DEFAULT_WINDOWS, DeploymentWindow, Freeze, parseCalendar } from "../../policies/lib/calendar-config";
import { loadPolicyConfig } from "../policy-runner/config";
import { windowLevel } from "../plan/render";
import { formatCommand } from "../lib/commands";

/** The window's verdict for the rollback. */
export interface WindowVerdict {
  /** The deployment-window policy's level on this stack (mandatory, advisory, disabled). */
  level: string;
  /** The instant judged: when the rollback runs (`--at`, default now). */
  at: string;
  open: boolean;
  /** Why it is closed. */
  closedBecause?: string;
  nextOpening?: string;
  /** The emergency override the rollback's update carries and that covers it, if any. */
  coveredBy?: string;
  /** The update would be stopped by the pack. */
  blocked: boolean;
  /** When blocked: the one command that plans the rollback with an override recorded. */
  overrideCommand?: string;
  /** The same command as argv. */
  overrideArgv?: string[];
}

const HOURS = 3_600_000;

/**
 * Judges the window for a rollback at `at`. `overrideFields` is the emergency override the rollback's
 * last `pulumi up` deploys (set by --override-* or left in the stack file); `rerun` is the rollback's own
 * command line, which the override command extends.
 */
export function judgeRollbackWindow(request: {
  stack: string;
  at: Date;
  overrideFields: { reason?: string; approver?: string; ticket?: string; expiresAt?: string };
  rerun: string[];
}): WindowVerdict {
  const config = loadPolicyConfig(request.stack);
  const level = windowLevel(config);
  const entry = (config["deployment-window"] ?? {}) as {
    windows?: DeploymentWindow[];
    freezes?: Freeze[];
    maxOverrideHours?: number;
  };
  const windows = entry.windows ?? DEFAULT_WINDOWS;
  const maxHours = entry.maxOverrideHours ?? MAX_OVERRIDE_HOURS;
  const at = request.at.toISOString();
  if (level === "disabled") return { level, at, open: true, blocked: false };
  const judgement = judge(request.at, parseCalendar(windows, entry.freezes ?? []));
  if (judgement.allowed) return { level, at, open: true, blocked: false };
  const closedBecause =
    judgement.blocked.kind === "freeze"
      ? `inside the freeze "${judgement.blocked.freeze.reason}" (${judgement.blocked.freeze.from} to ${judgement.blocked.freeze.to})`
      : `outside ${windows.map(describeWindow).join("; ")}`;
  const nextOpening = judgement.nextOpening ? formatInstant(judgement.nextOpening) : undefined;
  const override = checkOverride(request.overrideFields, request.at, maxHours);
  if (override.status === "valid") {
    const { ticket, approver, expiresAt } = override.override;
    return {
      level,
      at,
      open: false,
      closedBecause,
      nextOpening,
      coveredBy: `emergency override ${ticket} approved by ${approver} until ${formatInstant(expiresAt)}`,
      blocked: false,
    };
  }
  // An override lasting a few hours covers a rollback and its follow-up; the expiry is written in UTC.
  const expires = new Date(Math.ceil((request.at.getTime() + 4 * HOURS) / HOURS) * HOURS);
  const overrideArgv = [
    ...request.rerun,
    "--override-reason",
    "<why this rollback cannot wait, 10+ characters>",
    "--override-approver",
    "<on-call approver>",
    "--override-ticket",
    "<incident ticket, e.g. INC-1234>",
    "--override-expires-at",
    expires.toISOString().replace(/\.000Z$/, "Z"),
  ];
  return {
    level,
    at,
    open: false,
    closedBecause,
    nextOpening,
    blocked: level === "mandatory",
    ...(level === "mandatory" ? { overrideCommand: formatCommand(overrideArgv), overrideArgv } : {}),
  };
}
