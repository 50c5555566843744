import { strict as assert } from "assert";
import {
  RequestSample,
  isFailure,
  judge,
  parseLogLine,
  percentile,
  summarize,
} from "../../../ops/guard/requests";

const sample = (
  status: number,
  totalMs: number,
  termination = "----",
  server = "green-0",
): RequestSample => ({
  status,
  totalMs,
  server,
  termination,
  method: "GET",
});

describe("request statistics for the guard", () => {
  it("parses the proxy's log lines, raw or behind a syslog header, and ignores anything else", () => {
    assert.deepEqual(parseLogLine("GL 200 5 green-0 ---- GET"), sample(200, 5));
    assert.deepEqual(parseLogLine("<134>Nov 23 10:00:00 haproxy[7]: GL 503 0 <NOSRV> SC-- POST"), {
      status: 503,
      totalMs: 0,
      server: "<NOSRV>",
      termination: "SC--",
      method: "POST",
    });
    assert.deepEqual(parseLogLine("GL -1 3001 blue-1 SD-- POST"), {
      ...sample(-1, 3001, "SD--", "blue-1"),
      method: "POST",
    });
    assert.equal(parseLogLine("Proxy web started."), undefined);
    assert.equal(parseLogLine("GL abc 5 green-0 ---- GET"), undefined);
    assert.equal(parseLogLine("GL 200 5"), undefined);
  });

  it("counts 5xx, no answer and server-side aborts as failures, not client aborts or 4xx", () => {
    assert.equal(isFailure(sample(500, 1)), true);
    assert.equal(isFailure(sample(503, 1)), true);
    assert.equal(isFailure(sample(-1, 1, "CD--")), true, "nothing was sent to the client");
    assert.equal(isFailure(sample(200, 1, "SD--")), true, "the server aborted mid-answer");
    assert.equal(isFailure(sample(200, 1, "CD--")), false, "the client went away");
    assert.equal(isFailure(sample(404, 1)), false);
    assert.equal(isFailure(sample(200, 1)), false);
  });

  it("takes nearest-rank percentiles", () => {
    const values = [15, 20, 35, 40, 50];
    assert.equal(percentile(values, 5), 15);
    assert.equal(percentile(values, 30), 20);
    assert.equal(percentile(values, 40), 20);
    assert.equal(percentile(values, 50), 35);
    assert.equal(percentile(values, 100), 50);
    assert.equal(percentile([], 95), 0);
    const hundred = Array.from({ length: 100 }, (_, index) => 100 - index);
    assert.equal(percentile(hundred, 95), 95, "the 95th of 1..100, unsorted input");
    assert.throws(() => percentile(values, 101), /expected a number from 0 to 100/);
  });

  it("summarises counts by hand: 20 requests, 3 failures = 15 %, p95 the 19th fastest", () => {
    const samples = [
      ...Array.from({ length: 17 }, (_, index) => sample(200, 10 + index)),
      sample(500, 5),
      sample(502, 7),
      sample(200, 900, "SD--"),
    ];
    const summary = summarize(samples);
    assert.equal(summary.requests, 20);
    assert.equal(summary.failures, 3);
    assert.equal(summary.errorRatePercent, 15);
    // Sorted times: 5, 7, 10..26, 900 → the 19th (ceil(0.95 × 20)) is 26.
    assert.equal(summary.p95Ms, 26);
    assert.equal(summary.p50Ms, 17, "the 10th: 5, 7, 10 … 17");
    assert.equal(summary.maxMs, 900);
    assert.deepEqual(summary.byStatus, { "200": 18, "500": 1, "502": 1 });
    assert.equal(summarize([sample(500, 1), sample(200, 1), sample(200, 1)]).errorRatePercent, 33.33);
  });

  it("judges only with enough requests, and names every threshold crossed", () => {
    const thresholds = { errorRatePercent: 5, p95Ms: 2000, minRequests: 20 };
    const few = summarize(Array.from({ length: 19 }, () => sample(500, 1)));
    assert.equal(judge(few, thresholds).verdict, "insufficient");
    const fivePercent = summarize([...Array.from({ length: 19 }, () => sample(200, 1)), sample(500, 1)]);
    assert.equal(judge(fivePercent, thresholds).verdict, "healthy", "5 % is not above 5 %");
    const bad = summarize([
      ...Array.from({ length: 16 }, () => sample(200, 2500)),
      ...Array.from({ length: 4 }, () => sample(500, 1)),
    ]);
    const verdict = judge(bad, thresholds);
    assert.equal(verdict.verdict, "breach");
    assert.deepEqual(verdict.verdict === "breach" ? verdict.reasons : [], [
      "error rate 20 % (4 of 20) is above 5 %",
      "p95 latency 2500 ms is above 2000 ms",
    ]);
  });
});
