import { strict as assert } from "assert";
import fc from "fast-check";
import { formatInstant } from "../../../contract/instant";
import { describeWindow, isAllowed, judge, nextOpening } from "../../../policies/lib/calendar";
import {
  CalendarError,
  DeploymentWindow,
  Freeze,
  WEEKDAYS,
  Weekday,
  parseCalendar,
} from "../../../policies/lib/calendar-config";

const SEED_WINDOW: DeploymentWindow[] = [
  { days: ["tue", "wed", "thu"], start: "10:00", end: "14:00", zone: "UTC" },
];
const at = (iso: string) => new Date(iso);

interface Case {
  name: string;
  windows: DeploymentWindow[];
  freezes?: Freeze[];
  now: string;
  allowed: boolean;
  /** Expected nextOpening (ISO) when not allowed; null when none within the horizon. */
  next?: string | null;
}

const berlinWeekdays: DeploymentWindow = {
  days: ["mon", "tue", "wed", "thu", "fri"],
  start: "09:00",
  end: "17:00",
  zone: "Europe/Berlin",
};
const newYorkWeekdays: DeploymentWindow = { ...berlinWeekdays, zone: "America/New_York" };
const yearEnd: Freeze = {
  from: "2026-12-21T00:00:00Z",
  to: "2027-01-04T00:00:00Z",
  reason: "year-end change freeze",
};

const CASES: Case[] = [
  // The window of the blue-green deployment procedures, edges: start inclusive, end exclusive, to the millisecond.
  {
    name: "Tuesday 10:00:00.000 (start, inclusive)",
    windows: SEED_WINDOW,
    now: "2026-11-24T10:00:00.000Z",
    allowed: true,
  },
  {
    name: "Tuesday 09:59:59.999 (just before the start)",
    windows: SEED_WINDOW,
    now: "2026-11-24T09:59:59.999Z",
    allowed: false,
    next: "2026-11-24T10:00:00.000Z",
  },
  {
    name: "Tuesday 13:59:59.999 (last instant)",
    windows: SEED_WINDOW,
    now: "2026-11-24T13:59:59.999Z",
    allowed: true,
  },
  {
    name: "Tuesday 14:00 (end, exclusive)",
    windows: SEED_WINDOW,
    now: "2026-11-24T14:00:00Z",
    allowed: false,
    next: "2026-11-25T10:00:00Z",
  },
  { name: "Wednesday 11:00", windows: SEED_WINDOW, now: "2026-11-25T11:00:00Z", allowed: true },
  { name: "Thursday 13:59", windows: SEED_WINDOW, now: "2026-11-26T13:59:00Z", allowed: true },
  {
    name: "Friday 13:59 (no Friday afternoons)",
    windows: SEED_WINDOW,
    now: "2026-11-27T13:59:00Z",
    allowed: false,
    next: "2026-12-01T10:00:00Z",
  },
  {
    name: "Friday 15:00",
    windows: SEED_WINDOW,
    now: "2026-11-27T15:00:00Z",
    allowed: false,
    next: "2026-12-01T10:00:00Z",
  },
  {
    name: "Saturday 11:00 (no weekends)",
    windows: SEED_WINDOW,
    now: "2026-11-28T11:00:00Z",
    allowed: false,
    next: "2026-12-01T10:00:00Z",
  },
  {
    name: "Monday 11:00",
    windows: SEED_WINDOW,
    now: "2026-11-30T11:00:00Z",
    allowed: false,
    next: "2026-12-01T10:00:00Z",
  },

  // Europe/Berlin, spring forward (Sunday 2026-03-29 02:00 CET → 03:00 CEST).
  {
    name: "Berlin: Friday before DST, 09:00 CET = 08:00Z",
    windows: [berlinWeekdays],
    now: "2026-03-27T08:00:00Z",
    allowed: true,
  },
  {
    name: "Berlin: Friday before DST, 07:59Z = 08:59 CET",
    windows: [berlinWeekdays],
    now: "2026-03-27T07:59:00Z",
    allowed: false,
    next: "2026-03-27T08:00:00Z",
  },
  {
    name: "Berlin: Monday after DST, 07:00Z = 09:00 CEST",
    windows: [berlinWeekdays],
    now: "2026-03-30T07:00:00Z",
    allowed: true,
  },
  {
    name: "Berlin: over the spring-forward weekend, the next opening is Monday 09:00 CEST",
    windows: [berlinWeekdays],
    now: "2026-03-27T16:00:00Z",
    allowed: false,
    next: "2026-03-30T07:00:00Z",
  },
  {
    name: "Berlin: Monday after DST, 14:59Z = 16:59 CEST",
    windows: [berlinWeekdays],
    now: "2026-03-30T14:59:00Z",
    allowed: true,
  },
  {
    name: "Berlin: Monday after DST, 15:00Z = 17:00 CEST",
    windows: [berlinWeekdays],
    now: "2026-03-30T15:00:00Z",
    allowed: false,
    next: "2026-03-31T07:00:00Z",
  },
  {
    name: "Berlin: a window opening inside the skipped hour opens when the clock jumps (03:00 CEST)",
    windows: [{ days: ["sun"], start: "02:30", end: "04:00", zone: "Europe/Berlin" }],
    now: "2026-03-29T00:00:00Z",
    allowed: false,
    next: "2026-03-29T01:00:00Z",
  },
  {
    name: "Berlin: 01:59 CET is still before that window",
    windows: [{ days: ["sun"], start: "02:30", end: "04:00", zone: "Europe/Berlin" }],
    now: "2026-03-29T00:59:00Z",
    allowed: false,
    next: "2026-03-29T01:00:00Z",
  },
  {
    name: "Berlin: a window lying wholly in the skipped hour does not open that day",
    windows: [{ days: ["sun"], start: "02:00", end: "02:45", zone: "Europe/Berlin" }],
    now: "2026-03-28T23:30:00Z",
    allowed: false,
    next: "2026-04-05T00:00:00Z",
  },

  // Europe/Berlin, fall back (Sunday 2026-10-25 03:00 CEST → 02:00 CET): 02:00–03:00 happens twice.
  {
    name: "Berlin: 02:10 CEST (first pass) is inside a Sunday 02:00–02:30 window",
    windows: [{ days: ["sun"], start: "02:00", end: "02:30", zone: "Europe/Berlin" }],
    now: "2026-10-25T00:10:00Z",
    allowed: true,
  },
  {
    name: "Berlin: 02:45 CEST is outside; the repeated 02:00 CET opens it again",
    windows: [{ days: ["sun"], start: "02:00", end: "02:30", zone: "Europe/Berlin" }],
    now: "2026-10-25T00:45:00Z",
    allowed: false,
    next: "2026-10-25T01:00:00Z",
  },
  {
    name: "Berlin: 02:10 CET (second pass) is inside again",
    windows: [{ days: ["sun"], start: "02:00", end: "02:30", zone: "Europe/Berlin" }],
    now: "2026-10-25T01:10:00Z",
    allowed: true,
  },
  {
    name: "Berlin: Monday after fall-back, 08:00Z = 09:00 CET",
    windows: [berlinWeekdays],
    now: "2026-10-26T08:00:00Z",
    allowed: true,
  },
  {
    name: "Berlin: Monday after fall-back, 07:30Z = 08:30 CET",
    windows: [berlinWeekdays],
    now: "2026-10-26T07:30:00Z",
    allowed: false,
    next: "2026-10-26T08:00:00Z",
  },

  // America/New_York: spring forward 2026-03-08, fall back 2026-11-01.
  {
    name: "New York: Friday before DST, 14:00Z = 09:00 EST",
    windows: [newYorkWeekdays],
    now: "2026-03-06T14:00:00Z",
    allowed: true,
  },
  {
    name: "New York: the weekend of spring forward, next opening Monday 09:00 EDT = 13:00Z",
    windows: [newYorkWeekdays],
    now: "2026-03-07T12:00:00Z",
    allowed: false,
    next: "2026-03-09T13:00:00Z",
  },
  {
    name: "New York: Monday after spring forward, 12:59Z = 08:59 EDT",
    windows: [newYorkWeekdays],
    now: "2026-03-09T12:59:00Z",
    allowed: false,
    next: "2026-03-09T13:00:00Z",
  },
  {
    name: "New York: Friday before fall back, 13:00Z = 09:00 EDT",
    windows: [newYorkWeekdays],
    now: "2026-10-30T13:00:00Z",
    allowed: true,
  },
  {
    name: "New York: after fall back, next opening Monday 09:00 EST = 14:00Z",
    windows: [newYorkWeekdays],
    now: "2026-10-30T21:00:00Z",
    allowed: false,
    next: "2026-11-02T14:00:00Z",
  },
  {
    name: "New York: Monday after fall back, 13:30Z = 08:30 EST",
    windows: [newYorkWeekdays],
    now: "2026-11-02T13:30:00Z",
    allowed: false,
    next: "2026-11-02T14:00:00Z",
  },

  // Past midnight and to midnight.
  {
    name: "overnight Saturday 22:00–02:00: Sunday 01:59 is inside",
    windows: [{ days: ["sat"], start: "22:00", end: "02:00", zone: "UTC" }],
    now: "2026-11-29T01:59:00Z",
    allowed: true,
  },
  {
    name: "overnight Saturday 22:00–02:00: Sunday 02:00 is outside",
    windows: [{ days: ["sat"], start: "22:00", end: "02:00", zone: "UTC" }],
    now: "2026-11-29T02:00:00Z",
    allowed: false,
    next: "2026-12-05T22:00:00Z",
  },
  {
    name: "overnight Saturday 22:00–02:00: Friday 23:00 is outside",
    windows: [{ days: ["sat"], start: "22:00", end: "02:00", zone: "UTC" }],
    now: "2026-11-27T23:00:00Z",
    allowed: false,
    next: "2026-11-28T22:00:00Z",
  },
  {
    name: "a window to 24:00 includes 23:59:59 and not the next midnight",
    windows: [{ days: ["mon"], start: "20:00", end: "24:00", zone: "UTC" }],
    now: "2026-11-30T23:59:59Z",
    allowed: true,
  },
  {
    name: "a window to 24:00 ends at midnight",
    windows: [{ days: ["mon"], start: "20:00", end: "24:00", zone: "UTC" }],
    now: "2026-12-01T00:00:00Z",
    allowed: false,
    next: "2026-12-07T20:00:00Z",
  },

  // Freezes: from inclusive, to exclusive, over several days, and ending inside a window.
  {
    name: "a multi-day freeze blocks a Tuesday inside the window",
    windows: SEED_WINDOW,
    freezes: [yearEnd],
    now: "2026-12-22T11:00:00Z",
    allowed: false,
    next: "2027-01-05T10:00:00Z",
  },
  {
    name: "the first window after the freeze",
    windows: SEED_WINDOW,
    freezes: [yearEnd],
    now: "2027-01-05T10:00:00Z",
    allowed: true,
  },
  {
    name: "a freeze starts at its from (inclusive)",
    windows: SEED_WINDOW,
    freezes: [{ from: "2026-11-24T12:00:00Z", to: "2026-11-24T13:00:00Z", reason: "INC-4711" }],
    now: "2026-11-24T12:00:00Z",
    allowed: false,
    next: "2026-11-24T13:00:00Z",
  },
  {
    name: "a freeze ends at its to (exclusive), inside the window",
    windows: SEED_WINDOW,
    freezes: [{ from: "2026-11-24T12:00:00Z", to: "2026-11-24T13:00:00Z", reason: "INC-4711" }],
    now: "2026-11-24T13:00:00Z",
    allowed: true,
  },
  {
    name: "just before a freeze",
    windows: SEED_WINDOW,
    freezes: [{ from: "2026-11-24T12:00:00Z", to: "2026-11-24T13:00:00Z", reason: "INC-4711" }],
    now: "2026-11-24T11:59:59.999Z",
    allowed: true,
  },
  {
    name: "freezes back to back across two windows",
    windows: SEED_WINDOW,
    freezes: [
      { from: "2026-11-24T00:00:00+01:00", to: "2026-11-25T12:00:00Z", reason: "migration of the primary" },
      { from: "2026-11-25T12:00:00Z", to: "2026-11-26T11:15:00Z", reason: "follow-up" },
    ],
    now: "2026-11-24T10:30:00Z",
    allowed: false,
    next: "2026-11-26T11:15:00Z",
  },

  // Overlapping windows in different zones: the union counts.
  {
    name: "overlapping windows: 14:30Z is inside the Berlin one only",
    windows: [...SEED_WINDOW, { days: ["tue"], start: "13:00", end: "16:00", zone: "Europe/Berlin" }],
    now: "2026-11-24T14:30:00Z",
    allowed: true,
  },
  {
    name: "overlapping windows: 15:00Z is after both",
    windows: [...SEED_WINDOW, { days: ["tue"], start: "13:00", end: "16:00", zone: "Europe/Berlin" }],
    now: "2026-11-24T15:00:00Z",
    allowed: false,
    next: "2026-11-25T10:00:00Z",
  },

  // Nothing to open.
  {
    name: "no windows: never allowed, no next opening",
    windows: [],
    now: "2026-11-25T11:00:00Z",
    allowed: false,
    next: null,
  },
  {
    name: "a freeze longer than the horizon: no next opening",
    windows: SEED_WINDOW,
    freezes: [{ from: "2026-01-01T00:00:00Z", to: "2028-01-01T00:00:00Z", reason: "sunset" }],
    now: "2026-11-25T11:00:00Z",
    allowed: false,
    next: null,
  },
];

describe("policies/lib/calendar", () => {
  describe("isAllowed and nextOpening (table)", () => {
    for (const testCase of CASES) {
      it(testCase.name, () => {
        const now = at(testCase.now);
        const freezes = testCase.freezes ?? [];
        assert.equal(isAllowed(now, testCase.windows, freezes), testCase.allowed);
        const next = nextOpening(now, testCase.windows, freezes);
        if (testCase.allowed) {
          assert.equal(next?.toISOString(), now.toISOString(), "an open window opens now");
        } else if (testCase.next === null) {
          assert.equal(next, undefined);
        } else if (testCase.next !== undefined) {
          assert.equal(next?.toISOString(), at(testCase.next).toISOString());
          assert.equal(
            isAllowed(at(testCase.next), testCase.windows, freezes),
            true,
            "allowed at the opening",
          );
          const justBefore = new Date(at(testCase.next).getTime() - 1);
          if (justBefore.getTime() > now.getTime()) {
            assert.equal(
              isAllowed(justBefore, testCase.windows, freezes),
              false,
              "not allowed just before it",
            );
          }
        }
      });
    }
  });

  describe("judge", () => {
    it("names the freeze that blocks, and when the next window opens", () => {
      const judgement = judge(at("2026-12-22T11:00:00Z"), parseCalendar(SEED_WINDOW, [yearEnd]));
      assert.deepEqual(judgement, {
        allowed: false,
        blocked: { kind: "freeze", freeze: yearEnd },
        nextOpening: at("2027-01-05T10:00:00Z"),
      });
    });
    it("says outside when no freeze applies", () => {
      const judgement = judge(at("2026-11-27T15:00:00Z"), parseCalendar(SEED_WINDOW, [yearEnd]));
      assert.deepEqual(judgement, {
        allowed: false,
        blocked: { kind: "outside" },
        nextOpening: at("2026-12-01T10:00:00Z"),
      });
    });
  });

  describe("parseCalendar", () => {
    const bad: [string, DeploymentWindow[], Freeze[], RegExp][] = [
      [
        "an unknown zone",
        [{ ...SEED_WINDOW[0], zone: "Mars/Olympus" }],
        [],
        /windows\[0\]\.zone "Mars\/Olympus": expected an IANA time zone/,
      ],
      ["a fixed offset instead of a zone", [{ ...SEED_WINDOW[0], zone: "+02:00" }], [], /windows\[0\]\.zone/],
      [
        "an unknown day",
        [{ ...SEED_WINDOW[0], days: ["tue", "funday" as Weekday] }],
        [],
        /windows\[0\]\.days: "funday" is not a day/,
      ],
      ["no days", [{ ...SEED_WINDOW[0], days: [] }], [], /windows\[0\]\.days: expected at least one/],
      [
        "a bad start",
        [{ ...SEED_WINDOW[0], start: "9:00" }],
        [],
        /windows\[0\]\.start "9:00": expected a wall-clock time "HH:MM"/,
      ],
      ["24:00 as a start", [{ ...SEED_WINDOW[0], start: "24:00" }], [], /windows\[0\]\.start "24:00"/],
      ["a bad end", [{ ...SEED_WINDOW[0], end: "14:60" }], [], /windows\[0\]\.end "14:60"/],
      ["an empty window", [{ ...SEED_WINDOW[0], end: "10:00" }], [], /start and end are both 10:00/],
      [
        "a freeze without a zone",
        SEED_WINDOW,
        [{ ...yearEnd, from: "2026-12-21T00:00:00" }],
        /freezes\[0\]\.from "2026-12-21T00:00:00": expected an ISO-8601 time with a zone/,
      ],
      [
        "a freeze ending before it starts",
        SEED_WINDOW,
        [{ ...yearEnd, to: "2026-12-20T00:00:00Z" }],
        /freezes\[0\]: to \(2026-12-20T00:00:00Z\) must be after from/,
      ],
      [
        "a freeze without a reason",
        SEED_WINDOW,
        [{ ...yearEnd, reason: " " }],
        /freezes\[0\]\.reason: expected why/,
      ],
    ];
    for (const [name, windows, freezes, message] of bad) {
      it(`refuses ${name}, naming the entry`, () => {
        assert.throws(
          () => parseCalendar(windows, freezes),
          (error: unknown) => {
            assert.ok(error instanceof CalendarError);
            assert.match(error.message, message);
            return true;
          },
        );
      });
    }
    it("accepts day names in any case", () => {
      const calendar = parseCalendar([{ ...SEED_WINDOW[0], days: ["TUE" as Weekday] }], []);
      assert.equal(isAllowed(at("2026-11-24T11:00:00Z"), calendar), true);
    });
  });

  describe("describeWindow and formatInstant", () => {
    it("prints runs of days and single days", () => {
      assert.equal(describeWindow(SEED_WINDOW[0]), "Tue–Thu 10:00–14:00 UTC");
      assert.equal(
        describeWindow({ days: ["fri", "mon", "wed"], start: "22:00", end: "02:00", zone: "Europe/Berlin" }),
        "Mon, Wed, Fri 22:00–02:00 Europe/Berlin",
      );
      assert.equal(describeWindow({ ...SEED_WINDOW[0], days: ["mon", "tue"] }), "Mon, Tue 10:00–14:00 UTC");
    });
    it("prints an instant with its weekday, in UTC", () => {
      assert.equal(formatInstant(at("2026-11-27T15:00:00Z")), "Fri 2026-11-27 15:00 UTC");
      assert.equal(formatInstant(at("2026-12-01T10:00:30Z")), "Tue 2026-12-01 10:00:30 UTC");
    });
  });

  describe("property: agrees with a brute-force wall-clock check (Intl, minute by minute)", () => {
    const ZONES = [
      "UTC",
      "Europe/Berlin",
      "America/New_York",
      "Asia/Kolkata",
      "Australia/Lord_Howe",
      "America/St_Johns",
    ];
    const formatters = new Map(
      ZONES.map((zone) => [
        zone,
        new Intl.DateTimeFormat("en-US", {
          timeZone: zone,
          hourCycle: "h23",
          weekday: "short",
          hour: "2-digit",
          minute: "2-digit",
          second: "2-digit",
        }),
      ]),
    );
    const SHORT = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const toMinutes = (clock: string) =>
      clock === "24:00" ? 1440 : Number(clock.slice(0, 2)) * 60 + Number(clock.slice(3));

    /** Independent of the implementation: Intl's wall clock, and the definitions as stated in the docs. */
    function bruteAllowed(ms: number, windows: DeploymentWindow[], freezes: Freeze[]): boolean {
      if (freezes.some((freeze) => ms >= Date.parse(freeze.from) && ms < Date.parse(freeze.to))) return false;
      return windows.some((window) => {
        const parts = Object.fromEntries(
          (formatters.get(window.zone) as Intl.DateTimeFormat)
            .formatToParts(new Date(ms))
            .map((part) => [part.type, part.value]),
        );
        const day = SHORT.indexOf(parts.weekday);
        const minute =
          Number(parts.hour) * 60 + Number(parts.minute) + Number(parts.second) / 60 + (ms % 1000) / 60000;
        const start = toMinutes(window.start);
        const end = toMinutes(window.end);
        const has = (index: number) => window.days.includes(WEEKDAYS[(index + 7) % 7]);
        return start < end
          ? has(day) && minute >= start && minute < end
          : (has(day) && minute >= start) || (has(day - 1) && minute < end);
      });
    }

    const clock = (min: number, max: number) =>
      fc
        .integer({ min, max })
        .map(
          (minutes) =>
            `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`,
        );
    const windowArbitrary = fc
      .record({
        days: fc.uniqueArray(fc.constantFrom(...WEEKDAYS), { minLength: 1, maxLength: 7 }),
        start: clock(0, 1439),
        end: clock(1, 1440),
        zone: fc.constantFrom(...ZONES),
      })
      .filter((window) => window.start !== window.end);
    const RANGE_START = Date.parse("2026-01-01T00:00:00Z");
    const RANGE_END = Date.parse("2027-12-31T00:00:00Z");
    const freezeArbitrary = fc
      .record({
        fromMinute: fc.integer({ min: RANGE_START / 60000, max: RANGE_END / 60000 }),
        minutes: fc.integer({ min: 1, max: 3 * 1440 }),
      })
      .map(({ fromMinute, minutes }) => ({
        from: new Date(fromMinute * 60000).toISOString(),
        to: new Date((fromMinute + minutes) * 60000).toISOString(),
        reason: "generated",
      }));
    const instant = fc.integer({ min: RANGE_START, max: RANGE_END });
    // Transitions in 2026/2027 for the zones above, where the edge cases live.
    const nearTransition = fc
      .tuple(
        fc.constantFrom(
          "2026-03-08T07:00:00Z",
          "2026-03-29T01:00:00Z",
          "2026-04-05T15:00:00Z",
          "2026-10-04T15:30:00Z",
          "2026-10-25T01:00:00Z",
          "2026-11-01T06:00:00Z",
          "2027-03-28T01:00:00Z",
        ),
        fc.integer({ min: -3 * 3600_000, max: 3 * 3600_000 }),
      )
      .map(([iso, offset]) => Date.parse(iso) + offset);

    it("isAllowed at random instants, DST changes included", () => {
      fc.assert(
        fc.property(
          fc.array(windowArbitrary, { minLength: 0, maxLength: 3 }),
          fc.array(freezeArbitrary, { maxLength: 2 }),
          fc.oneof(instant, nearTransition),
          (windows, freezes, ms) => {
            assert.equal(isAllowed(new Date(ms), windows, freezes), bruteAllowed(ms, windows, freezes));
          },
        ),
        { numRuns: 500 },
      );
    });

    it("nextOpening is the first allowed minute (scanning minute by minute)", function () {
      this.timeout(120_000);
      const horizonDays = 20;
      fc.assert(
        fc.property(
          fc.array(windowArbitrary, { minLength: 1, maxLength: 2 }),
          fc.array(freezeArbitrary, { maxLength: 2 }),
          fc.oneof(instant, nearTransition),
          (windows, freezes, ms) => {
            // Freezes near the instant, so they matter.
            const nearFreezes = freezes.map((freeze, index) => {
              const shift = ms - Date.parse(freeze.from) - index * 720 * 60000;
              const minuteShift = Math.round(shift / 60000) * 60000;
              return {
                ...freeze,
                from: new Date(Date.parse(freeze.from) + minuteShift).toISOString(),
                to: new Date(Date.parse(freeze.to) + minuteShift).toISOString(),
              };
            });
            const found = nextOpening(new Date(ms), windows, nearFreezes, horizonDays);
            let expected: number | undefined;
            if (bruteAllowed(ms, windows, nearFreezes)) {
              expected = ms;
            } else {
              const limit = ms + horizonDays * 86_400_000;
              for (let minute = Math.floor(ms / 60000) * 60000 + 60000; minute < limit; minute += 60000) {
                if (bruteAllowed(minute, windows, nearFreezes)) {
                  expected = minute;
                  break;
                }
              }
            }
            if (expected !== undefined && expected < ms + (horizonDays - 1) * 86_400_000) {
              assert.equal(found?.toISOString(), new Date(expected).toISOString());
            } else if (expected === undefined) {
              assert.ok(
                found === undefined || found.getTime() >= ms + horizonDays * 86_400_000,
                "nothing within the horizon",
              );
            }
          },
        ),
        { numRuns: 120 },
      );
    });
  });
});
