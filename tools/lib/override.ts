// The emergency override flags shared by `release` and `rollback`: all four together, each as the
// config schema wants it, expiring in the future and at most MAX_OVERRIDE_HOURS ahead.
import { Command } from "commander";
import { CONFIG_KEYS } from "../../schema/keys";
import { InstantError, parseInstant } from "../../contract/instant";
import {
  MAX_OVERRIDE_HOURS,
  OVERRIDE_FIELDS,
  OVERRIDE_KEYS,
  judgeExpiry,
  missingOverrideFields,
} from "../../contract/override";
import { Override } from "../../schema/types";

/** The override flags as commander hands them over. */
export interface OverrideFlags {
  overrideReason?: string;
  overrideApprover?: string;
  overrideTicket?: string;
  overrideExpiresAt?: string;
}

const FLAGS = {
  reason: "--override-reason",
  approver: "--override-approver",
  ticket: "--override-ticket",
  expiresAt: "--override-expires-at",
} as const;

/**
 * Adds the four override flags to a tool's command line. `action` is what the override lets out of the
 * window ("release"); `ticket` describes the ticket the tool expects.
 */
export function overrideOptions(command: Command, action: string, ticket: string): Command {
  return command
    .option(
      `${FLAGS.reason} <text>`,
      `emergency override: why this ${action} may leave the deployment window`,
    )
    .option(`${FLAGS.approver} <handle>`, "emergency override: the on-call approver")
    .option(`${FLAGS.ticket} <id>`, `emergency override: ${ticket}`)
    .option(
      `${FLAGS.expiresAt} <time>`,
      `emergency override: expiry with a zone (e.g. 2026-11-24T20:00:00Z), at most ${MAX_OVERRIDE_HOURS} h ahead; written in UTC`,
    );
}

/** Checks the override flags; returns the override, undefined when none is given, or the problems. */
export function overrideFromFlags(
  flags: OverrideFlags,
  now: Date,
): Override | undefined | { problems: string[] } {
  const given = {
    reason: flags.overrideReason,
    approver: flags.overrideApprover,
    ticket: flags.overrideTicket,
    expiresAt: flags.overrideExpiresAt,
  };
  const missing = missingOverrideFields((field) => given[field] !== undefined);
  if (missing === undefined) return undefined;
  const problems: string[] = [];
  if (missing.length > 0) {
    problems.push(
      `an emergency override needs ${OVERRIDE_FIELDS.map((field) => FLAGS[field]).join(", ")} together; missing ${missing.map((field) => FLAGS[field]).join(", ")}`,
    );
  }
  // The expiry is written in UTC, so the stack file and the history read the same instant everywhere.
  let expiresAt: string | undefined;
  if (given.expiresAt !== undefined) {
    try {
      expiresAt = parseInstant(given.expiresAt)
        .toISOString()
        .replace(/\.000Z$/, "Z");
    } catch (error) {
      if (!(error instanceof InstantError)) throw error;
      problems.push(`${FLAGS.expiresAt} ${JSON.stringify(given.expiresAt)}: ${error.reason}`);
    }
  }
  const normalized = { ...given, expiresAt };
  for (const field of OVERRIDE_FIELDS) {
    const value = normalized[field];
    if (value === undefined) continue;
    const parsed = CONFIG_KEYS[OVERRIDE_KEYS[field]].schema.safeParse(value);
    if (!parsed.success)
      problems.push(`${FLAGS[field]} ${JSON.stringify(value)}: ${parsed.error.issues[0].message}`);
  }
  // Judged even with other problems: every problem of the override comes at once, not one round at a time.
  if (expiresAt !== undefined) {
    const expiry = judgeExpiry(new Date(Date.parse(expiresAt)), now);
    if (expiry.status === "expired") {
      problems.push(
        `${FLAGS.expiresAt} ${given.expiresAt}: already expired at ${now.toISOString()}; give a future time`,
      );
    } else if (expiry.status === "too-far") {
      problems.push(
        `${FLAGS.expiresAt} ${given.expiresAt}: ${(expiry.msAhead / 3_600_000).toFixed(1)} h ahead; an override lasts at most ${MAX_OVERRIDE_HOURS} h`,
      );
    }
  }
  if (problems.length > 0) return { problems };
  return {
    reason: given.reason as string,
    approver: given.approver as string,
    ticket: given.ticket as string,
    expiresAt: expiresAt as string,
  };
}

/** One line describing an override for output and update messages. */
export function describeOverride(override: Override): string {
  return `emergency override ${override.ticket} approved by ${override.approver} until ${override.expiresAt}: ${override.reason}`;
}
