// The emergency override of the deployment window (seed 001: "any time with on-call approval"), judged
// as a pure function of `now`: it counts only with a reason, an approver, a ticket and a near expiry.
import { formatInstant } from "./calendar";
import { parseInstant } from "./calendar-config";
import { STEP_ENV } from "../../contract/resources";

/** The override fields as the release record carries them; any may be missing. */
export interface OverrideFields {
  reason?: string;
  approver?: string;
  ticket?: string;
  /** ISO-8601 instant with a zone. */
  expiresAt?: string;
}

export interface ValidOverride {
  reason: string;
  approver: string;
  ticket: string;
  expiresAt: Date;
}

export type OverrideCheck =
  | { status: "absent" }
  | { status: "valid"; override: ValidOverride }
  | { status: "invalid"; problems: string[] };

/** The override fields a release record's environment carries (the STEP_ENV.override* variables). */
export function overrideFields(env: Readonly<Record<string, string | undefined>>): OverrideFields {
  return {
    reason: env[STEP_ENV.overrideReason],
    approver: env[STEP_ENV.overrideApprover],
    ticket: env[STEP_ENV.overrideTicket],
    expiresAt: env[STEP_ENV.overrideExpiresAt],
  };
}

/** The stack config keys users set, so a problem can say how to fix it. */
const CONFIG_KEY: Record<keyof OverrideFields, string> = {
  reason: "greenlight:overrideReason",
  approver: "greenlight:overrideApprover",
  ticket: "greenlight:overrideTicket",
  expiresAt: "greenlight:overrideExpiresAt",
};

function present(value: string | undefined): value is string {
  return typeof value === "string" && value.trim() !== "";
}

/**
 * Valid only with all four fields and an expiry after `now` and at most `maxHours` after it;
 * otherwise lists every problem.
 */
export function checkOverride(fields: OverrideFields, now: Date, maxHours = 24): OverrideCheck {
  const keys = Object.keys(CONFIG_KEY) as (keyof OverrideFields)[];
  if (!keys.some((key) => present(fields[key]))) return { status: "absent" };
  const problems = keys
    .filter((key) => !present(fields[key]))
    .map((key) => `${key} is missing (set ${CONFIG_KEY[key]})`);
  let expiresAt: Date | undefined;
  if (present(fields.expiresAt)) {
    expiresAt = parseInstant(fields.expiresAt);
    if (!expiresAt) {
      problems.push(
        `expiresAt ${JSON.stringify(fields.expiresAt)} is not an ISO-8601 time with a zone (e.g. 2026-11-27T18:00:00Z)`,
      );
    } else if (expiresAt.getTime() <= now.getTime()) {
      problems.push(
        `it expired at ${formatInstant(expiresAt)}, ${describeGap(now.getTime() - expiresAt.getTime())} before ${formatInstant(now)}`,
      );
    } else if (expiresAt.getTime() - now.getTime() > maxHours * 3_600_000) {
      problems.push(
        `expiresAt ${formatInstant(expiresAt)} is ${describeGap(expiresAt.getTime() - now.getTime())} after ${formatInstant(now)}; an override lasts at most ${maxHours} h`,
      );
    }
  }
  if (
    problems.length > 0 ||
    !expiresAt ||
    !present(fields.reason) ||
    !present(fields.approver) ||
    !present(fields.ticket)
  ) {
    return { status: "invalid", problems };
  }
  return {
    status: "valid",
    override: { reason: fields.reason, approver: fields.approver, ticket: fields.ticket, expiresAt },
  };
}

/** "40 s", "1 min", "3 h 5 min", "2 d 4 h". */
export function describeGap(ms: number): string {
  if (ms < 60_000) return `${Math.max(0, Math.round(ms / 1000))} s`;
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}
