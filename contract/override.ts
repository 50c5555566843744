// The emergency override of the deployment window (the runbook's "any time with on-call approval"): a
// reason, an approver, a ticket and an expiry, all four or none, expiring after the moment it is judged
// and at most MAX_OVERRIDE_HOURS after it. The config schema, the release and rollback tools, the policy
// pack and the record step judge an override with these rules, each in its own words; `now` is an argument.
import { formatInstant, tryParseInstant } from "./instant";
import { STEP_ENV } from "./resources";

/** An emergency override is for one emergency: it lasts at most this long. */
export const MAX_OVERRIDE_HOURS = 24;

/** The fields of an override, in the order every message lists them. */
export const OVERRIDE_FIELDS = ["reason", "approver", "ticket", "expiresAt"] as const;

export type OverrideField = (typeof OVERRIDE_FIELDS)[number];

/** The stack config key (greenlight:<key>) each field is set with. */
export const OVERRIDE_KEYS = {
  reason: "overrideReason",
  approver: "overrideApprover",
  ticket: "overrideTicket",
  expiresAt: "overrideExpiresAt",
} as const satisfies Record<OverrideField, string>;

/**
 * All four or none: the fields an override lacks, in order; undefined when no field is given at all
 * (there is no override), empty when every field is.
 */
export function missingOverrideFields(
  isGiven: (field: OverrideField) => boolean,
): OverrideField[] | undefined {
  const missing = OVERRIDE_FIELDS.filter((field) => !isGiven(field));
  return missing.length === OVERRIDE_FIELDS.length ? undefined : missing;
}

/** Where an expiry stands at `now`: past, further ahead than the limit, or within it. */
export type ExpiryJudgement =
  | { status: "expired"; msAgo: number }
  | { status: "too-far"; msAhead: number }
  | { status: "ok"; msAhead: number };

/** Judges an override's expiry at `now`: it must lie after `now` and at most `maxHours` after it. */
export function judgeExpiry(expiresAt: Date, now: Date, maxHours = MAX_OVERRIDE_HOURS): ExpiryJudgement {
  const msAhead = expiresAt.getTime() - now.getTime();
  if (msAhead <= 0) return { status: "expired", msAgo: now.getTime() - expiresAt.getTime() };
  if (msAhead > maxHours * 3_600_000) return { status: "too-far", msAhead };
  return { status: "ok", msAhead };
}

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

function present(value: string | undefined): value is string {
  return typeof value === "string" && value.trim() !== "";
}

/**
 * Valid only with all four fields and an expiry after `now` and at most `maxHours` after it;
 * otherwise lists every problem.
 */
export function checkOverride(
  fields: OverrideFields,
  now: Date,
  maxHours = MAX_OVERRIDE_HOURS,
): OverrideCheck {
  const missing = missingOverrideFields((field) => present(fields[field]));
  if (missing === undefined) return { status: "absent" };
  const problems = missing.map((field) => `${field} is missing (set greenlight:${OVERRIDE_KEYS[field]})`);
  let expiresAt: Date | undefined;
  if (present(fields.expiresAt)) {
    expiresAt = tryParseInstant(fields.expiresAt);
    if (!expiresAt) {
      problems.push(
        `expiresAt ${JSON.stringify(fields.expiresAt)} is not an ISO-8601 time with a zone (e.g. 2026-11-27T18:00:00Z)`,
      );
    } else {
      const expiry = judgeExpiry(expiresAt, now, maxHours);
      if (expiry.status === "expired") {
        problems.push(
          `it expired at ${formatInstant(expiresAt)}, ${describeGap(expiry.msAgo)} before ${formatInstant(now)}`,
        );
      } else if (expiry.status === "too-far") {
        problems.push(
          `expiresAt ${formatInstant(expiresAt)} is ${describeGap(expiry.msAhead)} after ${formatInstant(now)}; an override lasts at most ${maxHours} h`,
        );
      }
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
