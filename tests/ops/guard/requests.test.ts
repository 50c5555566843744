import { strict as assert } from "assert";
import * as v8 from "v8";
import * as vm from "vm";
import { lineSplitter } from "../../../ops/control";
import {
  MAX_TRACKED_MS,
  RequestSample,
  RequestTally,
  isClientAbort,
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

  it("counts 5xx, server aborts and timeouts and unexplained silence as failures, not client aborts or 4xx", () => {
    assert.equal(isFailure(sample(500, 1)), true);
    assert.equal(isFailure(sample(503, 1)), true);
    assert.equal(isFailure(sample(502, 1, "SH--")), true, "the server reset before its head");
    assert.equal(isFailure(sample(504, 1, "sH--")), true, "the server timed out");
    assert.equal(isFailure(sample(200, 1, "SD--")), true, "the server aborted mid-answer");
    assert.equal(isFailure(sample(-1, 1, "SC--")), true, "the server refused the connection");
    assert.equal(isFailure(sample(-1, 1, "----")), true, "no answer, nobody to blame but the server side");
    // The defect: a client that leaves mid-upload is logged -1 CD-- and counted against the release.
    assert.equal(isFailure(sample(-1, 1, "CD--")), false, "the client went away before any answer");
    assert.equal(isFailure(sample(-1, 1, "cD--")), false, "the client timed out");
    assert.equal(isFailure(sample(200, 1, "CD--")), false, "the client went away mid-answer");
    assert.equal(isFailure(sample(500, 1, "CD--")), true, "the answer was a 5xx before the client left");
    assert.equal(isClientAbort(sample(-1, 1, "CD--")), true);
    assert.equal(isClientAbort(sample(502, 1, "SH--")), false);
    assert.equal(isFailure(sample(404, 1)), false);
    assert.equal(isFailure(sample(200, 1)), false);
  });

  it("tallies in fixed memory: a million requests grow the heap by almost nothing, percentiles stay exact", () => {
    // A real collection before each reading, so what remains is what the tally holds.
    v8.setFlagsFromString("--expose-gc");
    const collect = vm.runInNewContext("gc") as () => void;
    const tally = new RequestTally();
    const one = sample(200, 0);
    collect();
    const before = process.memoryUsage().heapUsed;
    let errors = 0;
    for (let index = 0; index < 1_000_000; index++) {
      one.status = index % 100 === 0 ? 503 : index % 7 === 0 ? 999_999 : 200;
      if (one.status >= 500) errors += 1;
      one.totalMs = index % 1000;
      tally.add(one);
    }
    collect();
    const grown = process.memoryUsage().heapUsed - before;
    assert.ok(grown < 1024 * 1024, `heap grew ${grown} bytes`);
    const summary = tally.summary();
    assert.equal(summary.requests, 1_000_000);
    assert.equal(summary.failures, errors);
    assert.equal(summary.p95Ms, 949, "the 950,000th of 0…999 repeated");
    assert.deepEqual(
      Object.keys(summary.byStatus).sort(),
      ["0", "200", "503"],
      "statuses outside -1…599 share one bucket",
    );
    tally.add(sample(200, 10 * MAX_TRACKED_MS));
    assert.equal(tally.summary().maxMs, MAX_TRACKED_MS, "slower than tracked counts as the slowest tracked");
  });

  it("drops a line longer than the limit instead of holding it, and splits the rest across chunks", () => {
    const lines: string[] = [];
    const split = lineSplitter((line) => lines.push(line), 16);
    split(Buffer.from("GL 200 1 gr"));
    split(Buffer.from("een-0 ---- GET\n" + "x".repeat(40)));
    split(Buffer.from("y".repeat(40) + "\nGL 500 2 green-0 ---- GET\nGL"));
    split(Buffer.from(" 1\n"));
    assert.deepEqual(lines, ["GL 1"], "the 25-byte lines and the 80-byte one are over 16 bytes");
    const wide: string[] = [];
    const splitWide = lineSplitter((line) => wide.push(line));
    splitWide(Buffer.from("GL 200 1 gr"));
    splitWide(Buffer.from("een-0 ---- GET\nGL 500 2 green-0 ---- GET\n"));
    assert.deepEqual(wide, ["GL 200 1 green-0 ---- GET", "GL 500 2 green-0 ---- GET"]);
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
