import { strict as assert } from "assert";
import { InstantError, instantProblem, parseInstant } from "../../schema/instant";

describe("schema/instant: one parser for every instant a user types", () => {
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
          '"2026-12-01T11:00:00" has no zone, so it would mean a different instant on every machine; add Z for UTC (2026-12-01T11:00:00Z) or an offset such as +01:00',
    );
  });

  it("refuses dates that do not exist instead of rolling them over", () => {
    assert.equal(
      instantProblem("2026-02-30T11:00:00Z"),
      '"2026-02-30T11:00:00Z": February 2026 has no day 30 (it has 28); give a date that exists',
    );
    assert.match(instantProblem("2026-02-29T11:00:00Z") ?? "", /February 2026 has no day 29/);
    assert.match(instantProblem("2026-04-31T11:00:00Z") ?? "", /April 2026 has no day 31 \(it has 30\)/);
    assert.match(instantProblem("2026-13-01T11:00:00Z") ?? "", /there is no month 13/);
    assert.match(instantProblem("2026-12-00T11:00:00Z") ?? "", /December 2026 has no day 0/);
  });

  it("refuses times of day and offsets that do not exist", () => {
    assert.match(instantProblem("2026-12-01T24:00:00Z") ?? "", /24:00:00 is not a time of day/);
    assert.match(instantProblem("2026-12-01T11:60:00Z") ?? "", /11:60:00 is not a time of day/);
    assert.match(instantProblem("2026-12-01T11:00:61Z") ?? "", /11:00:61 is not a time of day/);
    assert.match(instantProblem("2026-12-01T11:00:00+25:00") ?? "", /\+25:00 is not a UTC offset/);
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
        `${JSON.stringify(text)} is not an ISO-8601 time; write it like 2026-12-01T11:00:00Z (UTC) or 2026-12-01T12:00:00+01:00`,
        text,
      );
    }
    assert.equal(instantProblem("2026-12-01T11:00:00Z"), undefined);
  });
});
