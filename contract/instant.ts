// The one way a command line, a stack file, a history or a policy's config gives an instant: an ISO-8601
// date and time WITH a zone, naming a moment that exists. A time without a zone would be judged in the
// machine's zone, and 2026-02-30 would silently become March 2: both are refused, with the fix in the
// message. Pure and without packages, so the policy pack compiles it with its own sources.

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

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

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
  const days = daysInMonth(Number(year), Number(month));
  if (Number(day) < 1 || Number(day) > days) {
    return `expected a date that exists: ${MONTHS[Number(month) - 1]} ${year} has ${days} days`;
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
  const [, year, month, day, hour, minute, second, fraction, , sign, offsetHours, offsetMinutes] =
    ISO_INSTANT.exec(text) as RegExpExecArray;
  // Date.UTC would read years 0-99 as 1900-1999; setUTCFullYear takes the year as written.
  const instant = new Date(0);
  instant.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  // Fractions beyond milliseconds are cut, not rounded (as luxon and Date.parse do).
  const millis = fraction === undefined ? 0 : Math.floor(Number(`0.${fraction}`) * 1000);
  instant.setUTCHours(Number(hour), Number(minute), Number(second ?? "0"), millis);
  const offset =
    sign === undefined
      ? 0
      : (sign === "-" ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes ?? "0"));
  return new Date(instant.getTime() - offset * 60_000);
}

/** The instant `text` names, or undefined when it is not one (for checks that report in their own words). */
export function tryParseInstant(text: string): Date | undefined {
  return reasonOf(text) === undefined ? parseInstant(text) : undefined;
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

/** Weekday labels, Monday first, as instants and windows print them. */
export const DAY_LABEL = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] as const;

/** "Fri 2026-11-27 15:00 UTC": an instant as violations and refusals print it. */
export function formatInstant(instant: Date): string {
  const iso = instant.toISOString();
  const seconds = iso.slice(17, 19) === "00" && iso.slice(20, 23) === "000" ? "" : `:${iso.slice(17, 19)}`;
  return `${DAY_LABEL[(instant.getUTCDay() + 6) % 7]} ${iso.slice(0, 10)} ${iso.slice(11, 16)}${seconds} UTC`;
}
