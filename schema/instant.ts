// The one way a command line, a stack file or a history gives an instant: an ISO-8601 date and time WITH a
// zone, naming a moment that exists. A time without a zone would be judged in the machine's zone, and
// 2026-02-30 would silently become March 2: both are refused, with the fix in the message. Pure.
import { DateTime } from "luxon";

/** An instant as every tool prints it in an example. */
export const INSTANT_EXAMPLE = "2026-12-01T11:00:00Z";

/** The text is not an instant greenlight accepts; `reason` says what was expected, `message` adds the text. */
export class InstantError extends Error {
  constructor(
    readonly text: string,
    readonly reason: string,
  ) {
    super(`${JSON.stringify(text)}: ${reason}`);
    this.name = "InstantError";
  }
}

// date T hh:mm[:ss[.fraction]] zone; the zone is Z or an offset (+01:00, +0100, +01).
const ISO_INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

/** What `text` lacks to be an instant, or undefined when it is one. */
function reasonOf(text: string): string | undefined {
  const match = ISO_INSTANT.exec(text);
  if (match === null) {
    return `expected an ISO-8601 time with a zone, such as ${INSTANT_EXAMPLE} (UTC) or 2026-12-01T12:00:00+01:00`;
  }
  const [, year, month, day, hour, minute, second, , zulu, sign, offsetHours, offsetMinutes] = match;
  if (zulu === undefined && sign === undefined) {
    return `expected a zone: add Z for UTC (${text}Z) or an offset such as +01:00; without one the time means a different instant on every machine`;
  }
  if (Number(month) < 1 || Number(month) > 12) return "expected a month from 01 to 12";
  const daysInMonth = DateTime.utc(Number(year), Number(month)).daysInMonth ?? 31;
  if (Number(day) < 1 || Number(day) > daysInMonth) {
    return `expected a date that exists: ${MONTHS[Number(month) - 1]} ${year} has ${daysInMonth} days`;
  }
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second ?? "0") > 59) {
    return "expected a time of day from 00:00:00 to 23:59:59";
  }
  if (sign !== undefined && (Number(offsetHours) > 14 || Number(offsetMinutes ?? "0") > 59)) {
    return "expected a UTC offset from -12:00 to +14:00";
  }
  return undefined;
}

/** Parses an instant, or throws InstantError naming the value and the fix. */
export function parseInstant(text: string): Date {
  const reason = reasonOf(text);
  if (reason !== undefined) throw new InstantError(text, reason);
  const parsed = DateTime.fromISO(text, { setZone: true });
  // The pattern and ranges above leave nothing luxon refuses; this guards a future edit of either.
  if (!parsed.isValid) throw new InstantError(text, parsed.invalidExplanation ?? "expected a valid instant");
  return parsed.toJSDate();
}

/** The problem with an instant, or undefined when `text` is one (for validators that collect problems). */
export function instantProblem(text: string): string | undefined {
  try {
    parseInstant(text);
    return undefined;
  } catch (error) {
    if (error instanceof InstantError) return error.message;
    throw error;
  }
}
