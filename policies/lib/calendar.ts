// The deployment calendar's instant math: is an instant inside a window and outside every freeze, and
// when does the next window open. Pure functions of `now`, so the policy, `npm run plan --at` and the
// tests all judge the same instant the same way. The windows and freezes are parsed in calendar-config.ts.
import { IANAZone } from "luxon";
import { DAY_LABEL } from "../../contract/instant";
import {
  Calendar,
  DeploymentWindow,
  Freeze,
  ParsedFreeze,
  ParsedWindow,
  parseCalendar,
  WEEKDAYS,
  Weekday,
} from "./calendar-config";

/** Why an instant is not allowed. */
export type Blocked = { kind: "outside" } | { kind: "freeze"; freeze: Freeze };

/** The calendar's answer for one instant. */
export type Judgement = { allowed: true } | { allowed: false; blocked: Blocked; nextOpening?: Date };

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** How far nextOpening looks ahead before it gives up. */
export const DEFAULT_HORIZON_DAYS = 366;

/** Wall-clock weekday (1 = Monday) and minute of the day (with fractions) of an instant in a zone. */
function wallClock(ms: number, zone: IANAZone): { weekday: number; minute: number } {
  const wall = new Date(ms + zone.offset(ms) * MINUTE_MS);
  const weekday = ((wall.getUTCDay() + 6) % 7) + 1;
  const minute =
    wall.getUTCHours() * 60 +
    wall.getUTCMinutes() +
    (wall.getUTCSeconds() * 1000 + wall.getUTCMilliseconds()) / MINUTE_MS;
  return { weekday, minute };
}

function inWindow(window: ParsedWindow, ms: number): boolean {
  const { weekday, minute } = wallClock(ms, window.zone);
  if (window.startMinute < window.endMinute) {
    return window.days.has(weekday) && minute >= window.startMinute && minute < window.endMinute;
  }
  const previousDay = weekday === 1 ? 7 : weekday - 1;
  return (
    (window.days.has(weekday) && minute >= window.startMinute) ||
    (window.days.has(previousDay) && minute < window.endMinute)
  );
}

function freezeAt(calendar: Calendar, ms: number): ParsedFreeze | undefined {
  return calendar.freezes.find((freeze) => ms >= freeze.fromMs && ms < freeze.toMs);
}

function allowedAt(calendar: Calendar, ms: number): boolean {
  return freezeAt(calendar, ms) === undefined && calendar.windows.some((window) => inWindow(window, ms));
}

function asCalendar(windows: readonly DeploymentWindow[] | Calendar, freezes: readonly Freeze[]): Calendar {
  return "windows" in windows ? windows : parseCalendar(windows, freezes);
}

/** True when `now` is inside some window and outside every freeze. */
export function isAllowed(
  now: Date,
  windows: readonly DeploymentWindow[],
  freezes: readonly Freeze[],
): boolean;
export function isAllowed(now: Date, calendar: Calendar): boolean;
export function isAllowed(
  now: Date,
  windows: readonly DeploymentWindow[] | Calendar,
  freezes: readonly Freeze[] = [],
): boolean {
  return allowedAt(asCalendar(windows, freezes), now.getTime());
}

/**
 * The earliest instant at or after `now` at which a deployment is allowed, or undefined when none comes
 * within `horizonDays`. Exact at DST changes: it considers every window opening, every freeze end and
 * every offset change, the only instants where "not allowed" can turn into "allowed".
 */
export function nextOpening(
  now: Date,
  windows: readonly DeploymentWindow[],
  freezes: readonly Freeze[],
  horizonDays?: number,
): Date | undefined;
export function nextOpening(now: Date, calendar: Calendar, horizonDays?: number): Date | undefined;
export function nextOpening(
  now: Date,
  windows: readonly DeploymentWindow[] | Calendar,
  freezesOrHorizon?: readonly Freeze[] | number,
  horizonDays?: number,
): Date | undefined {
  const freezes = Array.isArray(freezesOrHorizon) ? freezesOrHorizon : [];
  const horizon =
    typeof freezesOrHorizon === "number" ? freezesOrHorizon : (horizonDays ?? DEFAULT_HORIZON_DAYS);
  const calendar = asCalendar(windows, freezes);
  const nowMs = now.getTime();
  if (allowedAt(calendar, nowMs)) return new Date(nowMs);
  if (calendar.windows.length === 0) return undefined;

  const zones = [...new Map(calendar.windows.map((window) => [window.zone.name, window.zone])).values()];
  const firstChunk = Math.floor(nowMs / DAY_MS) * DAY_MS;
  for (let chunkStart = firstChunk; chunkStart < nowMs + horizon * DAY_MS; chunkStart += DAY_MS) {
    const chunkEnd = chunkStart + DAY_MS;
    const candidates: number[] = [];
    const offsets = new Map<string, number[]>();
    for (const zone of zones) {
      const atStart = zone.offset(chunkStart);
      const atEnd = zone.offset(chunkEnd);
      offsets.set(zone.name, atStart === atEnd ? [atStart] : [atStart, atEnd]);
      if (atStart !== atEnd) candidates.push(offsetChange(zone, chunkStart, chunkEnd));
    }
    for (const window of calendar.windows) {
      // A local opening time maps to one instant per offset in force that day (two around a DST change).
      for (const offset of offsets.get(window.zone.name) ?? []) {
        const localDay = Math.floor((chunkStart + offset * MINUTE_MS) / DAY_MS) * DAY_MS;
        for (const day of [localDay - DAY_MS, localDay, localDay + DAY_MS]) {
          candidates.push(day + window.startMinute * MINUTE_MS - offset * MINUTE_MS);
        }
      }
    }
    for (const freeze of calendar.freezes) candidates.push(freeze.toMs);
    const opening = candidates
      .filter((ms) => ms > nowMs && ms >= chunkStart && ms < chunkEnd)
      .sort((a, b) => a - b)
      .find((ms) => allowedAt(calendar, ms));
    if (opening !== undefined) return new Date(opening);
  }
  return undefined;
}

/** The first minute in (from, to] whose offset differs from the one at `from` (binary search). */
function offsetChange(zone: IANAZone, from: number, to: number): number {
  const before = zone.offset(from);
  let low = from / MINUTE_MS;
  let high = to / MINUTE_MS;
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (zone.offset(middle * MINUTE_MS) === before) low = middle;
    else high = middle;
  }
  return high * MINUTE_MS;
}

const judgements = new WeakMap<Calendar, Map<string, Judgement>>();

/** Allowed, or why not and when the next window opens (remembered per calendar and instant). */
export function judge(now: Date, calendar: Calendar, horizonDays = DEFAULT_HORIZON_DAYS): Judgement {
  const byInstant = judgements.get(calendar) ?? new Map<string, Judgement>();
  judgements.set(calendar, byInstant);
  const key = `${now.getTime()}/${horizonDays}`;
  const known = byInstant.get(key);
  if (known) return known;
  const judgement = judgeNow(now, calendar, horizonDays);
  if (byInstant.size > 1000) byInstant.clear();
  byInstant.set(key, judgement);
  return judgement;
}

function judgeNow(now: Date, calendar: Calendar, horizonDays: number): Judgement {
  const ms = now.getTime();
  if (allowedAt(calendar, ms)) return { allowed: true };
  const freeze = freezeAt(calendar, ms);
  return {
    allowed: false,
    blocked: freeze ? { kind: "freeze", freeze: freeze.source } : { kind: "outside" },
    nextOpening: nextOpening(now, calendar, horizonDays),
  };
}

/** "Tue–Thu 10:00–14:00 UTC", "Mon, Wed 22:00–02:00 Europe/Berlin". */
export function describeWindow(window: DeploymentWindow): string {
  const positions = [
    ...new Set(window.days.map((day) => WEEKDAYS.indexOf(String(day).toLowerCase() as Weekday))),
  ]
    .filter((position) => position >= 0)
    .sort((a, b) => a - b);
  const runs: string[] = [];
  for (let i = 0; i < positions.length;) {
    let j = i;
    while (j + 1 < positions.length && positions[j + 1] === positions[j] + 1) j++;
    runs.push(
      j - i >= 2
        ? `${DAY_LABEL[positions[i]]}–${DAY_LABEL[positions[j]]}`
        : positions
            .slice(i, j + 1)
            .map((p) => DAY_LABEL[p])
            .join(", "),
    );
    i = j + 1;
  }
  return `${runs.join(", ")} ${window.start}–${window.end} ${window.zone}`;
}
