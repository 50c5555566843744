import { strict as assert } from "assert";
import fc from "fast-check";
import { DateTime } from "luxon";
import { InstantError, instantProblem, parseInstant, tryParseInstant } from "../../contract/instant";

describe("contract/instant: one parser for every instant a user types or a policy reads", () => {
  it("accepts UTC and offsets, to the millisecond, and means the same instant on every machine", () => {
    assert.equal(parseInstant("2026-12-01T11:00:00Z").toISOString(), "2026-12-01T11:00:00.000Z");
    assert.equal(parseInstant("2026-12-01T12:00:00+01:00").toISOString(), "2026-12-01T11:00:00.000Z");
    assert.equal(parseInstant("2026-12-01T06:30:00-0430").toISOString(), "2026-12-01T11:00:00.000Z");
    assert.equal(parseInstant("2026-12-01T11:00Z").toISOString(), "2026-12-01T11:00:00.000Z");
    assert.equal(parseInstant("2026-12-01T11:00:00.25Z").toISOString(), "2026-12-01T11:00:00.250Z");
    assert.equal(parseInstant("2028-02-29T00:00:00Z").toISOString(), "2028-02-29T00:00:00.000Z");
  });

  it("refuses a time without a zone, saying how to add one", () => {
    assert.throws(
      () => parseInstant("2026-12-01T11:00:00"),
      (error: Error) =>
        error instanceof InstantError &&
        error.message ===
          '"2026-12-01T11:00:00": expected a zone: add Z for UTC (2026-12-01T11:00:00Z) or an offset such as +01:00; without one the time means a different instant on every machine',
    );
  });

  it("refuses dates that do not exist instead of rolling them over", () => {
    assert.equal(
      instantProblem("2026-02-30T11:00:00Z"),
      '"2026-02-30T11:00:00Z": expected a date that exists: February 2026 has 28 days',
    );
    assert.match(instantProblem("2026-02-29T11:00:00Z") ?? "", /February 2026 has 28 days/);
    assert.match(instantProblem("2026-04-31T11:00:00Z") ?? "", /April 2026 has 30 days/);
    assert.match(instantProblem("2026-13-01T11:00:00Z") ?? "", /expected a month from 01 to 12/);
    assert.match(instantProblem("2026-12-00T11:00:00Z") ?? "", /December 2026 has 31 days/);
  });

  it("refuses times of day and offsets that do not exist", () => {
    for (const text of ["2026-12-01T24:00:00Z", "2026-12-01T11:60:00Z", "2026-12-01T11:00:61Z"]) {
      assert.match(instantProblem(text) ?? "", /expected a time of day from 00:00:00 to 23:59:59/, text);
    }
    assert.match(
      instantProblem("2026-12-01T11:00:00+25:00") ?? "",
      /expected a UTC offset from -12:00 to \+14:00/,
    );
  });

  it("refuses what is not an ISO-8601 date and time, with an example", () => {
    for (const text of [
      "tomorrow",
      "2026-12-01",
      "2026-12-01 11:00:00Z",
      "1764586800",
      " 2026-12-01T11:00:00Z",
      "",
    ]) {
      assert.equal(
        instantProblem(text),
        `${JSON.stringify(text)}: expected an ISO-8601 time with a zone, such as 2026-12-01T11:00:00Z (UTC) or 2026-12-01T12:00:00+01:00`,
        text,
      );
    }
    assert.equal(instantProblem("2026-12-01T11:00:00Z"), undefined);
  });

  it("tryParseInstant: the same rule without the message, for checks that word their own", () => {
    assert.equal(tryParseInstant("2026-02-30T11:00:00Z"), undefined);
    assert.equal(tryParseInstant("2026-12-01T11:00:00"), undefined);
    assert.equal(tryParseInstant("2026-12-01T11:00:00+02:00")?.toISOString(), "2026-12-01T09:00:00.000Z");
  });

  it("reads every instant it accepts as luxon reads ISO-8601 (years, leap days, fractions, offsets)", () => {
    const two = (n: number) => String(n).padStart(2, "0");
    const instant = fc
      .record({
        year: fc.integer({ min: 0, max: 9999 }),
        month: fc.integer({ min: 1, max: 12 }),
        day: fc.integer({ min: 1, max: 31 }),
        hour: fc.integer({ min: 0, max: 23 }),
        minute: fc.integer({ min: 0, max: 59 }),
        second: fc.option(fc.integer({ min: 0, max: 59 })),
        fraction: fc.option(fc.stringMatching(/^\d{1,9}$/)),
        zone: fc.oneof(
          fc.constantFrom("Z", "z"),
          fc
            .tuple(
              fc.constantFrom("+", "-"),
              fc.integer({ min: 0, max: 14 }),
              fc.integer({ min: 0, max: 59 }),
              fc.constantFrom(":", ""),
            )
            .map(([sign, hours, minutes, colon]) => `${sign}${two(hours)}${colon}${two(minutes)}`),
        ),
      })
      .map(({ year, month, day, hour, minute, second, fraction, zone }) => {
        const time = second === null ? "" : `:${two(second)}${fraction === null ? "" : `.${fraction}`}`;
        return `${String(year).padStart(4, "0")}-${two(month)}-${two(day)}T${two(hour)}:${two(minute)}${time}${zone}`;
      });
    fc.assert(
      fc.property(instant, (text) => {
        const luxon = DateTime.fromISO(text, { setZone: true });
        const ours = tryParseInstant(text);
        if (ours === undefined)
          return !luxon.isValid || /expected a date that exists/.test(instantProblem(text) ?? "");
        return luxon.isValid && ours.getTime() === luxon.toMillis();
      }),
      { numRuns: 2000 },
    );
  });
});
