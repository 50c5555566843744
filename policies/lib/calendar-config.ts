// The deployment calendar as configured: weekly windows in IANA time zones and dated freezes, checked
// once (a CalendarError names the bad entry and the fix) and parsed for the instant math in calendar.ts.
import { IANAZone } from "luxon";
import { tryParseInstant } from "../../contract/instant";

export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/**
 * A weekly deployment window: on each listed day, from `start` (inclusive) to `end` (exclusive), in the
 * wall-clock time of `zone`. An `end` earlier than `start` runs past midnight into the next day.
 */
export interface DeploymentWindow {
  /** Days the window opens on: "mon" … "sun". */
  days: Weekday[];
  /** Opening wall-clock time, "HH:MM" (00:00-23:59). */
  start: string;
  /** Closing wall-clock time, "HH:MM" (00:01-24:00); exclusive. */
  end: string;
  /** IANA time zone of the wall clock, e.g. "UTC", "Europe/Berlin". */
  zone: string;
}

/** The standard deployment window of the blue-green deployment procedures (the policies' default). */
export const DEFAULT_WINDOWS: DeploymentWindow[] = [
  { days: ["tue", "wed", "thu"], start: "10:00", end: "14:00", zone: "UTC" },
];

/** A period with no deployments at all, windows or not: from (inclusive) to (exclusive). */
export interface Freeze {
  /** ISO-8601 instant with a zone. */
  from: string;
  /** ISO-8601 instant with a zone. */
  to: string;
  /** Shown in violations: "year-end change freeze", "INC-4711 in progress". */
  reason: string;
}

/** Thrown when a window or freeze cannot be understood; the message names the entry and the fix. */
export class CalendarError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CalendarError";
  }
}

/** A window as the instant math reads it: ISO weekdays, minutes of the day and the zone. */
export interface ParsedWindow {
  /** ISO weekdays, 1 = Monday … 7 = Sunday. */
  days: ReadonlySet<number>;
  startMinute: number;
  endMinute: number;
  zone: IANAZone;
  source: DeploymentWindow;
}

/** A freeze as the instant math reads it: epoch milliseconds. */
export interface ParsedFreeze {
  fromMs: number;
  toMs: number;
  source: Freeze;
}

/** Windows and freezes, checked once and ready to evaluate. */
export interface Calendar {
  readonly windows: readonly ParsedWindow[];
  readonly freezes: readonly ParsedFreeze[];
}

const CLOCK = /^([01]\d|2[0-3]):([0-5]\d)$/;

function parseClock(text: string, what: string, allowMidnightEnd: boolean): number {
  if (allowMidnightEnd && text === "24:00") return 1440;
  const match = CLOCK.exec(text);
  if (!match) {
    throw new CalendarError(
      `${what} ${JSON.stringify(text)}: expected a wall-clock time "HH:MM" (00:00-23:59${allowMidnightEnd ? ", or 24:00" : ""})`,
    );
  }
  return Number(match[1]) * 60 + Number(match[2]);
}

const zones = new Map<string, IANAZone | undefined>();

/** The zone, or undefined when it is not an IANA name; cached, as luxon builds a formatter to check. */
function ianaZone(name: string): IANAZone | undefined {
  // Node 22+'s ICU also accepts offsets such as "+02:00" as time zones; an offset has no DST, which is
  // exactly what a window in a named zone must follow, so only names count.
  const named = !/^[+-]\d/.test(name);
  if (!zones.has(name))
    zones.set(name, named && IANAZone.isValidZone(name) ? IANAZone.create(name) : undefined);
  return zones.get(name);
}

const parsed = new WeakMap<readonly DeploymentWindow[], WeakMap<readonly Freeze[], Calendar>>();

/**
 * Checks windows and freezes; throws a CalendarError naming the first bad entry and how to fix it.
 * The same arrays give the same Calendar (policies ask once per resource).
 */
export function parseCalendar(windows: readonly DeploymentWindow[], freezes: readonly Freeze[]): Calendar {
  const byFreezes = parsed.get(windows) ?? new WeakMap<readonly Freeze[], Calendar>();
  parsed.set(windows, byFreezes);
  const known = byFreezes.get(freezes);
  if (known) return known;
  const calendar = buildCalendar(windows, freezes);
  byFreezes.set(freezes, calendar);
  return calendar;
}

function buildCalendar(windows: readonly DeploymentWindow[], freezes: readonly Freeze[]): Calendar {
  const parsedWindows = windows.map((window, index): ParsedWindow => {
    const what = `windows[${index}]`;
    if (!Array.isArray(window.days) || window.days.length === 0) {
      throw new CalendarError(`${what}.days: expected at least one of ${WEEKDAYS.join(", ")}`);
    }
    const days = new Set<number>();
    for (const day of window.days) {
      const position = WEEKDAYS.indexOf(String(day).toLowerCase() as Weekday);
      if (position < 0) {
        throw new CalendarError(
          `${what}.days: ${JSON.stringify(day)} is not a day; use ${WEEKDAYS.join(", ")}`,
        );
      }
      days.add(position + 1);
    }
    const startMinute = parseClock(window.start, `${what}.start`, false);
    const endMinute = parseClock(window.end, `${what}.end`, true);
    if (startMinute === endMinute) {
      throw new CalendarError(
        `${what}: start and end are both ${window.start}; a window needs a length (an end before the start runs past midnight)`,
      );
    }
    const zone = typeof window.zone === "string" ? ianaZone(window.zone) : undefined;
    if (!zone) {
      throw new CalendarError(
        `${what}.zone ${JSON.stringify(window.zone)}: expected an IANA time zone such as UTC, Europe/Berlin or America/New_York`,
      );
    }
    return { days, startMinute, endMinute, zone, source: window };
  });
  const parsedFreezes = freezes.map((freeze, index): ParsedFreeze => {
    const what = `freezes[${index}]`;
    const from = tryParseInstant(freeze.from);
    const to = tryParseInstant(freeze.to);
    if (!from) {
      throw new CalendarError(
        `${what}.from ${JSON.stringify(freeze.from)}: expected an ISO-8601 time with a zone, e.g. 2026-12-21T00:00:00Z`,
      );
    }
    if (!to) {
      throw new CalendarError(
        `${what}.to ${JSON.stringify(freeze.to)}: expected an ISO-8601 time with a zone, e.g. 2027-01-04T00:00:00Z`,
      );
    }
    if (to.getTime() <= from.getTime()) {
      throw new CalendarError(`${what}: to (${freeze.to}) must be after from (${freeze.from})`);
    }
    if (typeof freeze.reason !== "string" || freeze.reason.trim() === "") {
      throw new CalendarError(
        `${what}.reason: expected why deployments are frozen, e.g. "year-end change freeze"`,
      );
    }
    return { fromMs: from.getTime(), toMs: to.getTime(), source: freeze };
  });
  return { windows: parsedWindows, freezes: parsedFreezes };
}
