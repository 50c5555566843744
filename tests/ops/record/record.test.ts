import { strict as assert } from "assert";
import { releaseRecord } from "../../../ops/record";
import { StepError } from "../../../ops/lib/step";
import { runOps } from "../support/release";

const NOW = new Date("2026-11-20T17:00:00Z");
const BASE = {
  GREENLIGHT_STEP: "record",
  GREENLIGHT_RELEASE: "2026.11.20-1",
  GREENLIGHT_COLOR: "green",
  GREENLIGHT_IMAGE:
    "registry.example.com/shop@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
  GREENLIGHT_STACK: "production",
  GREENLIGHT_SCHEMA_BREAKING: "false",
};
const OVERRIDE = {
  GREENLIGHT_OVERRIDE_REASON: "checkout answers 500 for EU cards",
  GREENLIGHT_OVERRIDE_APPROVER: "oncall.maria",
  GREENLIGHT_OVERRIDE_TICKET: "INC-2041",
  GREENLIGHT_OVERRIDE_EXPIRES_AT: "2026-11-20T23:00:00Z",
};

const refused = (env: Record<string, string>, message: RegExp) =>
  assert.throws(
    () => releaseRecord(env, NOW),
    (error: unknown) => error instanceof StepError && error.exitCode === 2 && message.test(error.message),
  );

describe("release record step", () => {
  it("prints release, color, image, schema flag and no override", () => {
    assert.deepEqual(releaseRecord(BASE, NOW), {
      step: "record",
      stack: "production",
      release: "2026.11.20-1",
      color: "green",
      image: BASE.GREENLIGHT_IMAGE,
      schemaBreaking: false,
      override: null,
      recordedAt: "2026-11-20T17:00:00.000Z",
    });
  });

  it("records a valid emergency override (all four fields, expiring within 24 h)", () => {
    assert.deepEqual(releaseRecord({ ...BASE, ...OVERRIDE }, NOW).override, {
      reason: "checkout answers 500 for EU cards",
      approver: "oncall.maria",
      ticket: "INC-2041",
      expiresAt: "2026-11-20T23:00:00.000Z",
    });
  });

  it("re-checks the override at run time: missing fields, expired, or more than 24 h ahead are refused", () => {
    refused(
      { ...BASE, ...OVERRIDE, GREENLIGHT_OVERRIDE_TICKET: "" },
      /ticket is missing \(set greenlight:overrideTicket\)/,
    );
    refused(
      { ...BASE, ...OVERRIDE, GREENLIGHT_OVERRIDE_EXPIRES_AT: "2026-11-20T16:00:00Z" },
      /it expired at .*before/,
    );
    refused(
      { ...BASE, ...OVERRIDE, GREENLIGHT_OVERRIDE_EXPIRES_AT: "2026-11-22T17:00:00Z" },
      /an override lasts at most 24 h/,
    );
    refused({ ...BASE, ...OVERRIDE, GREENLIGHT_OVERRIDE_EXPIRES_AT: "tomorrow" }, /is not an ISO-8601 time/);
  });

  it("refuses a bad release, color, image or schema flag", () => {
    refused(
      { ...BASE, GREENLIGHT_RELEASE: "v1; rm -rf /" },
      /GREENLIGHT_RELEASE="v1; rm -rf \/" is not a release id/,
    );
    refused({ ...BASE, GREENLIGHT_COLOR: "purple" }, /GREENLIGHT_COLOR="purple" is not a color/);
    refused(
      { ...BASE, GREENLIGHT_IMAGE: "Not An Image" },
      /GREENLIGHT_IMAGE="Not An Image" is not an image reference/,
    );
    refused({ ...BASE, GREENLIGHT_SCHEMA_BREAKING: "yes" }, /expected true or false/);
    refused({ ...BASE, GREENLIGHT_RELEASE: "" }, /GREENLIGHT_RELEASE is not set/);
    refused({ ...BASE, GREENLIGHT_STEP: "switch" }, /runs only as record/);
  });

  it("through the CLI: one JSON line on success, exit 2 and one line on stderr for an expired override", async function () {
    this.timeout(30_000);
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const ok = await runOps(["record"], { ...BASE, ...OVERRIDE, GREENLIGHT_OVERRIDE_EXPIRES_AT: expiresAt });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.json.length, 1);
    assert.equal((ok.json[0].override as { ticket: string }).ticket, "INC-2041");
    const expired = await runOps(["record"], {
      ...BASE,
      ...OVERRIDE,
      GREENLIGHT_OVERRIDE_EXPIRES_AT: "2020-01-01T00:00:00Z",
    });
    assert.equal(expired.code, 2);
    assert.equal(expired.stdout, "");
    assert.match(
      expired.stderr,
      /^record: emergency override for release 2026\.11\.20-1 refused at .*: it expired at/,
    );
  });

  describe("no release skips its data steps: the previous record (PULUMI_COMMAND_STDOUT) against this one", () => {
    const V1 = "registry.example.com/shop@sha256:" + "1".repeat(64);
    const V2 = "registry.example.com/shop@sha256:" + "2".repeat(64);
    const V3 = "registry.example.com/shop@sha256:" + "3".repeat(64);
    const snapshot = (latest: string, blue: [string, string], green: [string, string]) => ({
      GREENLIGHT_LATEST_COLOR: latest,
      GREENLIGHT_BLUE_RELEASE: blue[0],
      GREENLIGHT_BLUE_IMAGE: blue[1],
      GREENLIGHT_GREEN_RELEASE: green[0],
      GREENLIGHT_GREEN_IMAGE: green[1],
    });
    // Blue serves v1 and holds the newest release; green runs v2, warm.
    const previous = releaseRecord(
      {
        ...BASE,
        GREENLIGHT_RELEASE: "v1",
        GREENLIGHT_COLOR: "blue",
        GREENLIGHT_IMAGE: V1,
        ...snapshot("blue", ["v1", V1], ["v2", V2]),
      },
      NOW,
    );
    const after = (env: Record<string, string>) => ({
      ...BASE,
      ...env,
      PULUMI_COMMAND_STDOUT: JSON.stringify(previous),
    });

    it("records both colors and the latest one", () => {
      assert.equal(previous.latestColor, "blue");
      assert.deepEqual(previous.colors, {
        blue: { release: "v1", image: V1 },
        green: { release: "v2", image: V2 },
      });
    });

    it("refuses a color given a new release while greenlight:latestColor names the other (exit 1, naming the key and the fix)", () => {
      const handWritten = after({
        GREENLIGHT_RELEASE: "v3",
        GREENLIGHT_COLOR: "green",
        GREENLIGHT_IMAGE: V3,
        ...snapshot("blue", ["v1", V1], ["v3", V3]),
      });
      assert.throws(
        () => releaseRecord(handWritten, NOW),
        (error: unknown) =>
          error instanceof StepError &&
          error.exitCode === 1 &&
          /^release v3 refused: greenlight:latestColor is blue, but green now runs release v3 \(was v2\): backup, drill and migration follow greenlight:latestColor.*fix: write the release with npm run release -- --stack production --release v3/.test(
            error.message,
          ),
      );
      // A new image under the same id is a new release too.
      assert.throws(
        () => releaseRecord(after({ ...snapshot("blue", ["v1", V1], ["v2", V3]) }), NOW),
        /green now runs image .*3333 \(was .*2222\)/,
      );
    });

    it("lets through the release npm run release writes, a flip back, and a record from before the snapshot", () => {
      const released = after({
        GREENLIGHT_RELEASE: "v3",
        GREENLIGHT_COLOR: "green",
        GREENLIGHT_IMAGE: V3,
        ...snapshot("green", ["v1", V1], ["v3", V3]),
      });
      assert.equal(releaseRecord(released, NOW).latestColor, "green");
      const flipBack = after({
        GREENLIGHT_RELEASE: "v2",
        GREENLIGHT_COLOR: "green",
        GREENLIGHT_IMAGE: V2,
        ...snapshot("blue", ["v1", V1], ["v2", V2]),
      });
      assert.equal(releaseRecord(flipBack, NOW).color, "green");
      const older = {
        ...BASE,
        ...snapshot("blue", ["v1", V1], ["v3", V3]),
        PULUMI_COMMAND_STDOUT: JSON.stringify({ step: "record", release: "v1" }),
      };
      assert.equal(releaseRecord(older, NOW).latestColor, "blue");
    });

    it("through the CLI: exit 1 and one line on stderr, nothing on stdout", async function () {
      this.timeout(30_000);
      const refusedRun = await runOps(
        ["record"],
        after({
          GREENLIGHT_RELEASE: "v3",
          GREENLIGHT_COLOR: "green",
          GREENLIGHT_IMAGE: V3,
          ...snapshot("blue", ["v1", V1], ["v3", V3]),
        }),
      );
      assert.equal(refusedRun.code, 1);
      assert.equal(refusedRun.stdout, "");
      assert.match(
        refusedRun.stderr,
        /^record: release v3 refused: greenlight:latestColor is blue, but green now runs release v3/,
      );
      assert.equal(refusedRun.stderr.trim().split("\n").length, 1);
    });
  });
});
