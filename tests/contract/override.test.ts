import { strict as assert } from "assert";
import { STEP_ENV } from "../../contract/resources";
import {
  MAX_OVERRIDE_HOURS,
  checkOverride,
  describeGap,
  judgeExpiry,
  missingOverrideFields,
  overrideFields,
} from "../../contract/override";

const NOW = new Date("2026-11-27T15:00:00Z");
const FULL = {
  reason: "hotfix for checkout 500s (INC-4711)",
  approver: "oncall.alice",
  ticket: "INC-4711",
  expiresAt: "2026-11-27T18:00:00Z",
};

describe("contract/override", () => {
  it("reads the four fields from a release record's environment, and nothing else", () => {
    const env = {
      [STEP_ENV.step]: "record",
      [STEP_ENV.overrideReason]: FULL.reason,
      [STEP_ENV.overrideApprover]: FULL.approver,
      [STEP_ENV.overrideTicket]: FULL.ticket,
      [STEP_ENV.overrideExpiresAt]: FULL.expiresAt,
    };
    assert.deepEqual(overrideFields(env), FULL);
    assert.deepEqual(overrideFields({ [STEP_ENV.overrideTicket]: "INC-1" }), {
      reason: undefined,
      approver: undefined,
      ticket: "INC-1",
      expiresAt: undefined,
    });
  });

  it("is absent when no field is set (blank strings count as unset)", () => {
    assert.deepEqual(checkOverride({}, NOW), { status: "absent" });
    assert.deepEqual(checkOverride({ reason: " ", ticket: "" }, NOW), { status: "absent" });
  });

  it("is valid with all four fields and an expiry within 24 h", () => {
    const check = checkOverride(FULL, NOW);
    assert.deepEqual(check, {
      status: "valid",
      override: { ...FULL, expiresAt: new Date("2026-11-27T18:00:00Z") },
    });
  });

  it("is valid up to exactly 24 h ahead, in any offset", () => {
    assert.equal(checkOverride({ ...FULL, expiresAt: "2026-11-28T15:00:00Z" }, NOW).status, "valid");
    assert.equal(checkOverride({ ...FULL, expiresAt: "2026-11-28T16:00:00+01:00" }, NOW).status, "valid");
  });

  const invalid: [string, Partial<typeof FULL>, RegExp[]][] = [
    [
      "an override that expired a minute ago",
      { expiresAt: "2026-11-27T14:59:00Z" },
      [/it expired at Fri 2026-11-27 14:59 UTC, 1 min before Fri 2026-11-27 15:00 UTC/],
    ],
    [
      "an override expiring exactly now",
      { expiresAt: "2026-11-27T15:00:00Z" },
      [/it expired at .*, 0 s before/],
    ],
    [
      "an expiry a minute more than 24 h ahead",
      { expiresAt: "2026-11-28T15:01:00Z" },
      [
        /expiresAt Sat 2026-11-28 15:01 UTC is 24 h 1 min after Fri 2026-11-27 15:00 UTC; an override lasts at most 24 h/,
      ],
    ],
    [
      "an expiry without a zone",
      { expiresAt: "2026-11-27T18:00:00" },
      [/expiresAt "2026-11-27T18:00:00" is not an ISO-8601 time with a zone/],
    ],
    [
      "a missing approver",
      { approver: undefined },
      [/approver is missing \(set greenlight:overrideApprover\)/],
    ],
    [
      "a reason alone",
      { approver: undefined, ticket: undefined, expiresAt: undefined },
      [/approver is missing/, /ticket is missing \(set greenlight:overrideTicket\)/, /expiresAt is missing/],
    ],
  ];
  for (const [name, change, messages] of invalid) {
    it(`rejects ${name}, saying why`, () => {
      const check = checkOverride({ ...FULL, ...change }, NOW);
      assert.equal(check.status, "invalid");
      if (check.status !== "invalid") return;
      for (const message of messages)
        assert.ok(
          check.problems.some((problem) => message.test(problem)),
          `${message} in ${check.problems.join(" | ")}`,
        );
    });
  }

  it("honours a shorter maximum", () => {
    const check = checkOverride(FULL, NOW, 2);
    assert.equal(check.status, "invalid");
    assert.match(check.status === "invalid" ? check.problems.join() : "", /3 h after .*at most 2 h/);
  });

  it("all four fields or none: the missing ones in order, undefined for no override", () => {
    assert.equal(
      missingOverrideFields(() => false),
      undefined,
    );
    assert.deepEqual(
      missingOverrideFields(() => true),
      [],
    );
    assert.deepEqual(
      missingOverrideFields((field) => field === "ticket"),
      ["reason", "approver", "expiresAt"],
    );
  });

  it("an expiry after now and at most 24 h after it; the boundaries belong to the limit", () => {
    assert.equal(MAX_OVERRIDE_HOURS, 24);
    const at = (hours: number) => new Date(NOW.getTime() + hours * 3_600_000);
    assert.deepEqual(judgeExpiry(at(0), NOW), { status: "expired", msAgo: 0 });
    assert.deepEqual(judgeExpiry(at(-2), NOW), { status: "expired", msAgo: 7_200_000 });
    assert.deepEqual(judgeExpiry(at(24), NOW), { status: "ok", msAhead: 86_400_000 });
    assert.deepEqual(judgeExpiry(at(24.001), NOW), { status: "too-far", msAhead: 86_403_600 });
    assert.equal(judgeExpiry(at(3), NOW, 2).status, "too-far");
  });

  it("describes gaps in seconds, minutes, hours and days", () => {
    assert.equal(describeGap(40_000), "40 s");
    assert.equal(describeGap(60_000), "1 min");
    assert.equal(describeGap(3 * 3_600_000), "3 h");
    assert.equal(describeGap(3 * 3_600_000 + 5 * 60_000), "3 h 5 min");
    assert.equal(describeGap(52 * 3_600_000), "2 d 4 h");
  });
});
