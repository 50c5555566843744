import { strict as assert } from "assert";
import * as http from "http";
import { AddressInfo } from "net";
import { GateReport, HealthGateOptions, runHealthGate } from "../../../ops/gate";
import { SmokeReport, runSmoke, smokeProblems } from "../../../ops/smoke";
import { StepError } from "../../../ops/lib/step";
import { freePort } from "../../support/ports";

/** A replica whose answers a test scripts: status per path, and a delay. */
async function replica(
  answer: (path: string, count: number) => { status: number; body?: string; delayMs?: number },
) {
  let count = 0;
  const server = http.createServer((request, response) => {
    const { status, body, delayMs } = answer(request.url ?? "/", ++count);
    setTimeout(() => {
      response.statusCode = status;
      response.end(body ?? `status ${status}`);
    }, delayMs ?? 0);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

const gateOptions = (ports: number[], overrides: Partial<HealthGateOptions> = {}): HealthGateOptions => ({
  color: "green",
  release: "v2",
  host: "127.0.0.1",
  ports,
  healthPath: "/health",
  readinessPath: "/health/ready",
  checkReadiness: true,
  intervalSeconds: 1,
  timeoutSeconds: 1,
  attempts: 2,
  deadlineSeconds: 4,
  ...overrides,
});

async function failure<T>(promise: Promise<T>): Promise<StepError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof StepError) return error;
    throw error;
  }
  throw new Error("expected a StepError");
}

describe("health gate and smoke checks (local replicas)", function () {
  this.timeout(20_000);
  const closers: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });
  const start = async (answer: Parameters<typeof replica>[0]) => {
    const server = await replica(answer);
    closers.push(server.close);
    return server.port;
  };

  it("passes once every replica answers 200 on health and readiness N times in a row", async () => {
    const first = await start(() => ({ status: 200 }));
    // The second replica becomes ready on its third readiness probe.
    let readiness = 0;
    const second = await start((path) => ({
      status: path === "/health/ready" && ++readiness < 3 ? 503 : 200,
    }));
    const report = await runHealthGate(gateOptions([first, second]));
    assert.equal(report.passed, true);
    assert.deepEqual(
      report.checks.map((check) => [check.replica, check.path, check.consecutive, check.probes]),
      [
        [0, "/health", 2, 2],
        [0, "/health/ready", 2, 2],
        [1, "/health", 2, 2],
        [1, "/health/ready", 2, 4],
      ],
    );
    assert.equal(report.rounds, 4);
  });

  it("fails at the deadline with a report of each check when readiness never comes (v3)", async () => {
    const port = await start((path) => ({
      status: path === "/health/ready" ? 503 : 200,
      body: "not ready: release built broken",
    }));
    const error = await failure(runHealthGate(gateOptions([port])));
    assert.equal(error.exitCode, 1);
    assert.match(
      error.message,
      /health gate of green \(release v2\) failed after \d s: http:\/\/127\.0\.0\.1:\d+\/health\/ready answered 503 "not ready: release built broken", 0\/2 in a row/,
    );
    const report = error.report as GateReport;
    assert.equal(report.passed, false);
    assert.deepEqual(
      report.checks.map((check) => [check.path, check.passed, check.lastStatus]),
      [
        ["/health", true, 200],
        ["/health/ready", false, 503],
      ],
    );
  });

  it("counts a refused connection and a timeout as failures, and stops once the deadline makes passing impossible", async () => {
    const closed = await freePort();
    const slow = await start(() => ({ status: 200, delayMs: 1500 }));
    const started = Date.now();
    const error = await failure(
      runHealthGate(gateOptions([closed, slow], { attempts: 3, deadlineSeconds: 3 })),
    );
    assert.ok(Date.now() - started < 4000, "gave up without waiting past the deadline");
    const checks = (error.report as GateReport).checks;
    assert.equal(checks[0].lastError, "ECONNREFUSED");
    assert.equal(checks[2].lastError, "no answer within 1000 ms");
  });

  it("refuses a deadline that could never be met", async () => {
    const error = await failure(
      runHealthGate(
        gateOptions([1], { intervalSeconds: 5, attempts: 5, timeoutSeconds: 3, deadlineSeconds: 20 }),
      ),
    );
    assert.equal(error.exitCode, 2);
    assert.match(
      error.message,
      /--deadline 20 s is shorter than interval × \(attempts − 1\) \+ timeout = 23 s/,
    );
  });

  it("smoke: status, body text and latency per replica, each failure named", async () => {
    const port = await start((path) =>
      path === "/slow"
        ? { status: 200, body: "release v2", delayMs: 300 }
        : { status: path === "/" ? 200 : 404, body: "release v2 (green)" },
    );
    const ok = await runSmoke({
      color: "green",
      release: "v2",
      host: "127.0.0.1",
      ports: [port],
      checks: [{ path: "/", status: 200, text: "release v2", maxMs: 1000 }],
    });
    assert.equal(ok.passed, true);
    const error = await failure(
      runSmoke({
        color: "green",
        release: "v2",
        host: "127.0.0.1",
        ports: [port],
        checks: [
          { path: "/", status: 200, text: "release v3", maxMs: 1000 },
          { path: "/missing", status: 200, maxMs: 1000 },
          { path: "/slow", status: 200, maxMs: 100 },
        ],
      }),
    );
    assert.deepEqual(
      (error.report as SmokeReport).results.map((result) =>
        result.problems[0]?.replace(/\d+(\.\d+)? ms,/, "N ms,"),
      ),
      ['body does not contain "release v3"', "status 404, expected 200", "took N ms, more than 100 ms"],
    );
  });

  it("smoke judgement is a pure function of the answer", () => {
    const check = { path: "/", status: 200, text: "ok", maxMs: 50 };
    assert.deepEqual(smokeProblems(check, { status: 200, ms: 10, body: "ok" }), []);
    assert.deepEqual(smokeProblems(check, { ms: 3, body: "", error: "ECONNREFUSED" }), [
      "no answer (ECONNREFUSED)",
    ]);
    assert.deepEqual(smokeProblems(check, { status: 500, ms: 80, body: "boom" }), [
      "status 500, expected 200",
      'body does not contain "ok"',
      "took 80 ms, more than 50 ms",
    ]);
  });
});
