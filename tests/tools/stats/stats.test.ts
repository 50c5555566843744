import { strict as assert } from "assert";
import * as path from "path";
import { deploymentStats, failureReason, median } from "../../../tools/stats";
import { readHistoryFile } from "../../../tools/history/read";
import { main } from "../../../tools/stats/cli";
import { assertHelp, assertOneLine } from "../support/run-tool";

const FIXTURES = path.resolve(__dirname, "..", "..", "fixtures", "history");

async function stats(args: string[], env: NodeJS.ProcessEnv = { PATH: "/nonexistent" }) {
  let out = "";
  let err = "";
  const code = await main(args, env, {
    out: (text) => (out += text),
    err: (text) => (err += text),
    stdinIsTTY: false,
  });
  return { code, out, err };
}

describe("tools/stats", function () {
  // production.json, counted by hand:
  //   updates (kind update): v1 v3 v5 v6 v7 v8 v9 v10 v11 v12 v13 = 11; failed v6, v12 → 9 succeeded.
  //   success rate 9 / 11 = 81.82 %.
  //   live release per succeeded update: v1 03-1, v3 05-1, v5 10-1, v7 12-1, v8 12-1 (settings only),
  //   v9 17-1, v10 12-1 (active before: a rollback), v11 19-1, v13 20-1 → 8 deployments, 1 rollback:
  //   rollback rate 1 / 8 = 12.5 %; 7 releases.
  //   span v1 start 2026-11-03T10:05:12Z → v13 start 2026-11-20T17:02:00Z = 17.2894 days = 2.4699 weeks;
  //   7 / 2.4699 = 2.83 releases a week.
  //   gaps between release starts (h): 48.41, 119.70, 49.97, 118.17, 47.92, 30.78 → median (48.41 + 49.97) / 2 = 49.19.
  //   durations of succeeded updates (s): 988 852 1145 870 380 1260 270 1365 1050 → median 988, longest 1365.
  it("computes production's metrics as counted by hand", () => {
    const result = deploymentStats("production", readHistoryFile(path.join(FIXTURES, "production.json")));
    assert.deepEqual(result.updates, { total: 11, succeeded: 9, failed: 2, inProgress: 0 });
    assert.deepEqual(result.otherKinds, { refresh: 1, preview: 1 });
    assert.equal(result.successRatePercent, 81.82);
    assert.equal(result.deployments, 8);
    assert.equal(result.releases, 7);
    assert.deepEqual(result.rollbacks, [{ version: 10, release: "2026.11.12-1", from: "2026.11.17-1" }]);
    assert.equal(result.rollbackRatePercent, 12.5);
    assert.equal(result.period.days, 17.29);
    assert.equal(result.releasesPerWeek, 2.83);
    assert.equal(result.medianHoursBetweenReleases, 49.19);
    assert.equal(result.medianDeploySeconds, 988);
    assert.equal(result.maxDeploySeconds, 1365);
    assert.deepEqual(
      result.failures.map((group) => [group.count, group.versions, group.reason.split(" (")[0]]),
      [
        [1, [6], "stopped after changing resources"],
        [1, [12], "stopped before changing anything"],
      ],
    );
    assert.deepEqual(
      result.overrides.map((override) => [
        override.version,
        override.ticket,
        override.approver,
        override.result,
      ]),
      [[13, "INC-2041", "oncall.maria", "succeeded"]],
    );
    assert.deepEqual(
      result.targets.map((verdict) => [verdict.name, verdict.value, verdict.met]),
      [
        ["success rate", "81.8 %", false],
        ["rollback rate", "12.5 %", false],
        ["deployment frequency", "2.83 per week", true],
        ["time to deploy (median update)", "16.5 min", true],
      ],
    );
  });

  // staging.json: updates v31–v36; v35 failed, v36 in progress (not judged) → 4 / 5 = 80 %;
  // releases v31, v32, v33 (v34 changed a setting only); span 5.02 days is judged as one week → 3 a week;
  // durations 480, 540, 570, 240 s → median (480 + 540) / 2 = 510.
  it("computes staging's metrics, leaving the in-progress update out of the success rate", () => {
    const result = deploymentStats("staging", readHistoryFile(path.join(FIXTURES, "staging.json")));
    assert.deepEqual(result.updates, { total: 6, succeeded: 4, failed: 1, inProgress: 1 });
    assert.equal(result.successRatePercent, 80);
    assert.equal(result.releases, 3);
    assert.equal(result.rollbackRatePercent, 0);
    assert.equal(result.releasesPerWeek, 3);
    assert.equal(result.medianDeploySeconds, 510);
    assert.deepEqual(
      result.targets.map((verdict) => verdict.met),
      [false, true, true, true],
    );
  });

  it("says n/a rather than inventing numbers for an empty history", () => {
    const result = deploymentStats("production", []);
    assert.equal(result.successRatePercent, undefined);
    assert.deepEqual(
      result.targets.map((verdict) => [verdict.value, verdict.met]),
      [
        ["n/a", undefined],
        ["n/a", undefined],
        ["n/a", undefined],
        ["n/a", undefined],
      ],
    );
  });

  it("median and failure reasons", () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([]), undefined);
    const base = {
      version: 1,
      kind: "update",
      startTime: "2026-11-03T10:00:00.000Z",
      message: "",
      environment: {},
      config: {},
      result: "failed",
    };
    assert.match(
      failureReason({ ...base, resourceChanges: { same: 40 } }),
      /^stopped before changing anything/,
    );
    assert.match(
      failureReason({
        ...base,
        resourceChanges: { same: 40, update: 1 },
        config: { "greenlight:trafficSteps": { value: "[10,50,100]", secret: false } },
      }),
      /^stopped after changing resources with canary steps \[10,50,100\] \(an aborted canary, weight 0 on the new color/,
    );
    assert.match(
      failureReason({ ...base, resourceChanges: { same: 40, create: 1 } }),
      /^stopped after changing resources/,
    );
  });

  it("prints the report and JSON from the CLI", async () => {
    const text = await stats([
      "--stack",
      "production",
      "--history-file",
      path.join(FIXTURES, "production.json"),
    ]);
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /✗ success rate\s+81\.8 %\s+target > 95 %/);
    assert.match(text.out, /✓ deployment frequency\s+2\.83 per week\s+target 2–3 per week/);
    assert.match(text.out, /rollback v10: 2026\.11\.17-1 → 2026\.11\.12-1/);
    assert.match(text.out, /v13 INC-2041 by oncall\.maria/);
    const json = await stats([
      "--stack",
      "production",
      "--history-file",
      path.join(FIXTURES, "production.json"),
      "--json",
    ]);
    assert.equal(JSON.parse(json.out).rollbackRatePercent, 12.5);
  });

  it("without --history-file and without pulumi on PATH, says so and exits 5 (the environment)", async () => {
    const run = await stats(["--stack", "production"]);
    assertOneLine(
      run,
      5,
      /^stats: the Pulumi CLI \(pulumi\) is not on PATH, and reading the stack's history needs it/,
    );
  });

  it("usage errors and an unreadable history are one line with exit 2; --help exits 0", async () => {
    assertOneLine(
      await stats(["--history-file", path.join(FIXTURES, "production.json")]),
      2,
      /^stats: required option '--stack <name>' not specified; npm run stats -- --help lists the options$/,
    );
    assertOneLine(
      await stats(["--stack", "production", "--history-file", path.join(FIXTURES, "missing.json")]),
      2,
      /^stats: --history-file .*missing\.json: no such file; save the stack's history with pulumi stack history --json .* > history\.json, or leave out --history-file to read it live$/,
    );
    assertHelp(await stats(["--help"]), "stats");
  });
});
