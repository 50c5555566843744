import { strict as assert } from "assert";
import { CanaryMargins, judgeAgainst } from "../../../ops/guard/compare";
import { RequestSummary } from "../../../ops/guard/requests";
import { canaryFromOptions } from "../../../ops/switch/cli";

const MARGINS: CanaryMargins = { errorRatePoints: 1, p95Percent: 50, p95FloorMs: 25, minRequests: 20 };
const CEILING = { errorRatePercent: 5, p95Ms: 2000, minRequests: 20 };

const summary = (requests: number, failures: number, p95Ms: number): RequestSummary => ({
  requests,
  failures,
  errorRatePercent: Math.round((failures / requests) * 10_000) / 100,
  p50Ms: p95Ms,
  p95Ms,
  maxMs: p95Ms,
  byStatus: {},
});

describe("the canary's judge: the new color against the old over the same window (pure)", () => {
  it("3 % errors against 0 % is a breach, though under the 5 % ceiling; within the margin it is healthy", () => {
    const breach = judgeAgainst(summary(100, 3, 10), summary(900, 0, 10), MARGINS, CEILING);
    assert.equal(breach.verdict, "breach");
    assert.deepEqual(breach.verdict === "breach" && breach.reasons, [
      "error rate 3 % (3 of 100) against the old color's 0 % (0 of 900) is more than 1 points above",
    ]);
    assert.equal(judgeAgainst(summary(200, 3, 10), summary(900, 9, 10), MARGINS, CEILING).verdict, "healthy");
  });

  it("p95: a ratio above the margin breaches only past the floor; the absolute ceiling holds when both are bad", () => {
    assert.equal(judgeAgainst(summary(100, 0, 12), summary(900, 0, 4), MARGINS, CEILING).verdict, "healthy");
    const slow = judgeAgainst(summary(100, 0, 160), summary(900, 0, 40), MARGINS, CEILING);
    assert.deepEqual(slow.verdict === "breach" && slow.reasons, [
      "p95 160 ms against the old color's 40 ms is more than 50 % (and 25 ms) above",
    ]);
    const bothBad = judgeAgainst(summary(100, 8, 2500), summary(900, 72, 2400), MARGINS, CEILING);
    assert.deepEqual(bothBad.verdict === "breach" && bothBad.reasons, [
      "error rate 8 % (8 of 100) is above 5 %",
      "p95 latency 2500 ms is above 2000 ms",
    ]);
  });

  it("too few requests on either color is not a verdict of health", () => {
    const short = judgeAgainst(summary(12, 0, 5), summary(900, 0, 5), MARGINS, CEILING);
    assert.equal(short.verdict, "insufficient");
    assert.deepEqual(short.verdict === "insufficient" && short.reasons, [
      "the new color answered 12 requests (needs 20)",
    ]);
  });

  it("steps must ascend and end at 100 (exit 2, naming the steps and the fix)", () => {
    const options = (trafficStep: number[] | undefined) => ({
      trafficStep,
      trafficStepSeconds: 30,
      canaryErrorMargin: 1,
      canaryP95Margin: 50,
      canaryP95FloorMs: 25,
      guardMinRequests: 20,
    });
    assert.equal(canaryFromOptions(options(undefined)), undefined);
    assert.deepEqual(canaryFromOptions(options([10, 50, 100]))?.steps, [10, 50, 100]);
    for (const bad of [
      [50, 10, 100],
      [10, 50],
      [10, 10, 100],
    ]) {
      assert.throws(
        () => canaryFromOptions(options(bad)),
        (error: Error & { exitCode?: number }) =>
          error.exitCode === 2 &&
          error.message.startsWith(`--traffic-step ${bad.join(",")}: steps must ascend and end at 100`),
      );
    }
  });
});
