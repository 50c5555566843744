import { strict as assert } from "assert";
import * as dgram from "dgram";
import { AccessLogListener, describeGuard, samplesOf, watchGuard } from "../../../ops/guard";
import { RequestSample } from "../../../ops/guard/requests";
import { freePort } from "../../support/ports";

const thresholds = { errorRatePercent: 5, p95Ms: 2000, minRequests: 20 };

/** Sends access-log lines the way HAProxy does (one datagram each, format raw). */
async function send(port: number, lines: string[]): Promise<void> {
  const socket = dgram.createSocket("udp4");
  for (const line of lines) {
    await new Promise<void>((resolve, reject) =>
      socket.send(Buffer.from(`${line}\n`), port, "127.0.0.1", (error) =>
        error ? reject(error) : resolve(),
      ),
    );
  }
  socket.close();
}

const lines = (count: number, status: number, server = "green-0", ms = 4) =>
  Array.from({ length: count }, () => `GL ${status} ${ms} ${server} ---- GET`);

describe("post-switch guard (the proxy's access log over UDP)", function () {
  this.timeout(20_000);
  let listener: AccessLogListener;
  let port: number;

  beforeEach(async () => {
    port = await freePort();
    listener = await AccessLogListener.open(port);
  });
  afterEach(() => listener.close());

  it("refuses to start when the log port is taken, so a switch never runs unwatched", async () => {
    await assert.rejects(
      AccessLogListener.open(port),
      new RegExp(`cannot listen .* udp 127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\)`),
    );
  });

  it("judges only the new color's requests and those no server took, not the old color's or maintenance answers", () => {
    const sample = (server: string, termination = "----"): RequestSample => ({
      status: 503,
      totalMs: 1,
      server,
      termination,
      method: "GET",
    });
    const kept = samplesOf(
      [sample("green-1"), sample("blue-0"), sample("<NOSRV>", "SC--"), sample("<NOSRV>", "PR--")],
      "green",
    );
    assert.deepEqual(
      kept.map((entry) => entry.server),
      ["green-1", "<NOSRV>"],
    );
  });

  it("reverts early: 20 % errors on the new color is a breach as soon as minRequests are in", async () => {
    const watching = watchGuard({
      listener,
      color: "green",
      durationSeconds: 10,
      thresholds,
      judgeEveryMs: 100,
    });
    await send(port, [...lines(80, 200), ...lines(20, 500), ...lines(50, 500, "blue-0")]);
    const report = await watching;
    assert.equal(report.verdict, "breach");
    assert.ok(report.watchedMs < 5000, `judged after ${report.watchedMs} ms, well inside the 10 s window`);
    assert.equal(report.summary.requests, 100, "the old color's 50 failures are not the new color's");
    assert.equal(report.summary.errorRatePercent, 20);
    assert.deepEqual(report.reasons, ["error rate 20 % (20 of 100) is above 5 %"]);
    assert.match(
      describeGuard(report),
      /^100 requests to green in [\d.]+ s: error rate 20 % \(20 failed\), p95 4 ms$/,
    );
  });

  it("breaches on latency: p95 above the threshold", async () => {
    const watching = watchGuard({
      listener,
      color: "green",
      durationSeconds: 10,
      thresholds,
      judgeEveryMs: 100,
    });
    await send(port, [...lines(10, 200, "green-0", 5), ...lines(20, 200, "green-0", 2500)]);
    const report = await watching;
    assert.equal(report.verdict, "breach");
    assert.deepEqual(report.reasons, ["p95 latency 2500 ms is above 2000 ms"]);
  });

  it("stays healthy through the window when the numbers are good, and says so when traffic was too thin to judge", async () => {
    const watching = watchGuard({
      listener,
      color: "green",
      durationSeconds: 1,
      thresholds,
      judgeEveryMs: 100,
    });
    await send(port, [...lines(99, 200), ...lines(1, 503)]);
    const healthy = await watching;
    assert.equal(healthy.verdict, "healthy");
    assert.ok(healthy.watchedMs >= 1000);
    assert.equal(healthy.summary.errorRatePercent, 1);
    const thin = await watchGuard({
      listener,
      color: "green",
      durationSeconds: 1,
      thresholds,
      fromSample: listener.samples.length,
    });
    assert.equal(thin.verdict, "insufficient");
    assert.equal(thin.summary.requests, 0);
  });
});
