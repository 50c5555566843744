// Canary steps on real HAProxy: three `greenlight-ops proxy` processes (127.0.0.2-4), each driven through
// its own relay process (the control channel without SSH; tests/hosts/canary.test.ts runs the steps over
// SSH), in front of small backends per color (../support/proxies.ts), under keep-alive GET and POST load
// through every front. The shares are counted from the responses, not from the proxies' own figures.
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import { ControlPlane, RelayChannel } from "../../../ops/control";
import { haproxyBinary } from "../../../ops/proxy/process";
import { admission, showServersState } from "../../../ops/proxy/runtime";
import { SwitchReport, runSwitch } from "../../../ops/switch";
import { fleetMover } from "../../../ops/switch/hosts";
import { previewRelease } from "../../../ops/switch/preview";
import { readFleet, weighFleet } from "../../../ops/proxy";
import { StepError } from "../../../ops/lib/step";
import { EXIT } from "../../../contract/exit-codes";
import { needService } from "../../support/service";
import { LoadRun, startLoad } from "../support/load";
import { PROXY_ADDRESSES, ProxyTrio, startProxyTrio } from "../support/proxies";

const ADDRESSES = PROXY_ADDRESSES;

describe("canary steps across three proxies (real HAProxy, relays, load through every front)", function () {
  this.timeout(180_000);
  let trio: ProxyTrio;
  let backends: ProxyTrio["backends"] = [];
  let relays: RelayChannel[] = [];
  let loads: LoadRun[] = [];
  const front = (index: number) => trio.front(index);

  const serving = async (index: number) =>
    (await showServersState(relays[index]))
      .map((state) => `${state.name}:${admission(state)}:${state.userWeight}`)
      .join(" ");
  const colorsAnswering = async (index: number, requests = 30) => {
    const seen = new Set<string>();
    for (let request = 0; request < requests; request++) {
      const response = await fetch(front(index));
      seen.add(`${response.status} ${await response.text()}`);
    }
    return [...seen].sort();
  };

  before(async function () {
    await needService(this, "HAProxy", async () => {
      execFileSync(haproxyBinary(), ["-v"], { stdio: "pipe" });
    });
  });

  beforeEach(async () => {
    trio = await startProxyTrio(120_000);
    ({ backends, relays } = trio);
    loads = [];
  });

  afterEach(async () => {
    await Promise.all(loads.map((load) => load.stop()));
    await trio.stop();
  });

  /** Answers per release over every front's load so far. */
  const answered = () => {
    const totals: Record<string, number> = { v1: 0, v2: 0 };
    for (const load of loads) for (const release of ["v1", "v2"]) totals[release] += load.served(release);
    return totals;
  };

  /** Runs the switch with steps; records the answers per release over each step's judged window. */
  async function canary(
    steps: number[],
    onStep: (message: string) => void = () => undefined,
    tuning: { stepSeconds?: number; guardSeconds?: number } = {},
  ) {
    const windows: Record<number, { start: Record<string, number>; end?: Record<string, number> }> = {};
    const log = (message: string) => {
      const started = /^step (\d+) %: green takes/.exec(message);
      if (started) windows[Number(started[1])] = { start: answered() };
      const judged = /^step (\d+) %: (healthy|breach|insufficient)/.exec(message);
      if (judged) windows[Number(judged[1])].end = answered();
      onStep(message);
    };
    const mover = fleetMover(
      ControlPlane.of(relays),
      ADDRESSES.map((_, index) => front(index)),
      {
        checkIntervalMs: 200,
        log,
      },
    );
    const outcome = await runSwitch(mover, {
      color: "green",
      release: "v2",
      warmupPaths: [],
      guardSeconds: tuning.guardSeconds ?? 2,
      thresholds: { errorRatePercent: 5, p95Ms: 2000, minRequests: 20 },
      canary: {
        steps,
        stepSeconds: tuning.stepSeconds ?? 3,
        margins: { errorRatePoints: 1, p95Percent: 50, p95FloorMs: 25, minRequests: 20 },
      },
      env: {},
      log,
    }).then(
      (report) => ({ report, error: undefined }),
      (error: Error) => ({ report: undefined, error }),
    );
    const shares = Object.entries(windows).map(([percent, window]) => {
      const end = window.end ?? answered();
      const green = end.v2 - window.start.v2;
      const blue = end.v1 - window.start.v1;
      return { percent: Number(percent), greenShare: (green / (green + blue)) * 100, requests: green + blue };
    });
    return { ...outcome, shares };
  }

  const startLoads = () => {
    loads = ADDRESSES.map((_, index) =>
      startLoad({ url: front(index), clients: 4, maxRequests: 400_000, maxMs: 90_000 }),
    );
  };

  it("a full canary [10, 50, 100]: 0 failed requests, each step's share within ±5 points of its weight, sticky clients keep their color", async () => {
    startLoads();
    let rollingOut = true;
    const changed: string[] = [];
    /** A client that reached `want` (first requests without cookie until it did), then sends its cookie. */
    const stickyClient = async (index: number, want: "blue" | "green") => {
      let cookie = "";
      for (let attempt = 0; attempt < 200 && cookie === ""; attempt++) {
        const first = await fetch(front(index));
        if ((await first.text()).endsWith(` ${want}`))
          cookie = (first.headers.get("set-cookie") ?? "").split(";")[0];
      }
      assert.match(cookie, new RegExp(`^GL_COLOR=${want}-0$`));
      let requests = 0;
      while (rollingOut) {
        const body = await (await fetch(front(index), { headers: { cookie } })).text();
        if (!rollingOut) break;
        requests += 1;
        if (!body.endsWith(` ${want}`)) changed.push(`h${index + 2} ${want} client got ${body}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return requests;
    };
    const sticky: Promise<number>[] = [];
    const run = await canary([10, 50, 100], (message) => {
      if (/^step 10 %: green takes/.test(message))
        for (const index of ADDRESSES.keys())
          sticky.push(stickyClient(index, "green"), stickyClient(index, "blue"));
      if (/^step 50 %: (healthy|breach)/.test(message)) rollingOut = false;
    });
    rollingOut = false;
    const stickyRequests = await Promise.all(sticky);
    const results = await Promise.all(loads.map((load) => load.stop()));
    assert.equal(run.error, undefined, run.error?.message);
    const report = run.report as SwitchReport;
    assert.deepEqual(
      report.canary?.steps.map((step) => [step.percent, step.verdict]),
      [
        [10, "healthy"],
        [50, "healthy"],
      ],
    );
    assert.equal(report.previousColor, "blue");
    assert.equal((report.guard as { verdict: string }).verdict, "healthy");
    for (const [index, result] of results.entries()) {
      assert.equal(result.failed, 0, `front ${index}: ${JSON.stringify(result.failures)}`);
      assert.ok(result.posts > 100 && result.gets > 100, JSON.stringify(result));
    }
    for (const share of run.shares) {
      assert.ok(share.requests > 200, `step ${share.percent}: only ${share.requests} requests`);
      assert.ok(
        Math.abs(share.greenShare - share.percent) <= 5,
        `step ${share.percent}: green answered ${share.greenShare.toFixed(1)} %`,
      );
    }
    assert.deepEqual(changed, [], "a client with the cookie never changes color during the rollout");
    assert.equal(stickyRequests.length, 6);
    assert.ok(
      stickyRequests.every((count) => count > 20),
      String(stickyRequests),
    );
    for (const index of ADDRESSES.keys()) {
      assert.equal(await serving(index), "blue-0:drain:0 green-0:ready:1");
      assert.deepEqual(await colorsAnswering(index), ["200 release v2 green"]);
    }
  });

  it("a new color slow from the 50 % step: aborted there with 0 failed requests, weight 0 on green on every host, green's sticky clients back on blue", async () => {
    startLoads();
    const run = await canary([10, 50, 100], (message) => {
      if (/^step 50 %: green takes/.test(message)) for (const pair of backends) pair.green.delayMs = 120;
    });
    const results = await Promise.all(loads.map((load) => load.stop()));
    assert.ok(run.error instanceof StepError, String(run.error));
    assert.equal(run.error.exitCode, 1);
    assert.match(
      run.error.message,
      /^canary aborted at step 50 % \(breach\): p95 \d+ ms against the old color's \d+ ms/,
    );
    assert.match(run.error.message, /weight 0 on green, blue serves on every host \(3\)/);
    const report = run.error.report as {
      activeColor: string;
      canary: { steps: { percent: number; verdict: string }[]; abortedAt: number };
    };
    assert.equal(report.activeColor, "blue");
    assert.equal(report.canary.abortedAt, 50);
    assert.deepEqual(
      report.canary.steps.map((step) => [step.percent, step.verdict]),
      [
        [10, "healthy"],
        [50, "breach"],
      ],
    );
    for (const [index, result] of results.entries())
      assert.equal(result.failed, 0, `front ${index}: ${JSON.stringify(result.failures)}`);
    for (const index of ADDRESSES.keys()) {
      assert.equal(await serving(index), "blue-0:ready:1 green-0:drain:0");
      assert.deepEqual(await colorsAnswering(index), ["200 release v1 blue"]);
      const withGreenCookie = await fetch(front(index), { headers: { cookie: "GL_COLOR=green-0" } });
      assert.equal(await withGreenCookie.text(), "release v1 blue");
    }
  });

  it("preview: every preview front answers the new color while the public fronts answer the old one; a promotion's canary then moves the users", async () => {
    const mover = fleetMover(
      ControlPlane.of(relays),
      ADDRESSES.map((_, index) => front(index)),
      {
        checkIntervalMs: 200,
      },
    );
    const previewed = await previewRelease(mover, { color: "green", release: "v2" }, []);
    assert.equal(previewed.activeColor, "blue");
    assert.equal(previewed.previewColor, "green");
    for (const [index, address] of ADDRESSES.entries()) {
      assert.deepEqual(await colorsAnswering(index), ["200 release v1 blue"]);
      const answers = new Set<string>();
      for (let request = 0; request < 20; request++)
        answers.add(await (await fetch(`http://${address}:${trio.previewPort}/`)).text());
      assert.deepEqual([...answers], ["release v2 green"], `h${index + 2}'s preview front`);
      assert.equal(await serving(index), "blue-0:ready:1 green-0:drain:0", "user traffic did not move");
    }
    await assert.rejects(
      fetch(`http://127.0.0.5:${trio.previewPort}/`),
      "the preview front listens on the host's own address only",
    );
    startLoads();
    const run = await canary([50, 100]);
    const results = await Promise.all(loads.map((load) => load.stop()));
    assert.equal(run.error, undefined, run.error?.message);
    for (const result of results) assert.equal(result.failed, 0, JSON.stringify(result.failures));
    for (const index of ADDRESSES.keys())
      assert.deepEqual(await colorsAnswering(index), ["200 release v2 green"]);
  });

  it("a rollback mid-rollout (the switch back to blue npm run rollback's update runs) leaves weight 0 on green on every host, sticky green clients included", async () => {
    const targets = relays.map((relay) => ({ name: relay.host, admin: relay }));
    const before = await readFleet(targets, { checkIntervalMs: 200 });
    await weighFleet(targets, "green", 50, before, { checkIntervalMs: 200 });
    for (const index of ADDRESSES.keys())
      assert.equal(await serving(index), "blue-0:ready:50 green-0:ready:50");
    startLoads();
    const mover = fleetMover(
      ControlPlane.of(relays),
      ADDRESSES.map((_, index) => front(index)),
      {
        checkIntervalMs: 200,
      },
    );
    const report = await runSwitch(mover, {
      color: "blue",
      release: "v1",
      warmupPaths: [],
      guardSeconds: 0,
      thresholds: { errorRatePercent: 5, p95Ms: 2000, minRequests: 20 },
      env: {},
    });
    const results = await Promise.all(loads.map((load) => load.stop()));
    assert.equal(report.method, "flip");
    for (const result of results) assert.equal(result.failed, 0, JSON.stringify(result.failures));
    for (const index of ADDRESSES.keys()) {
      assert.equal(await serving(index), "blue-0:ready:1 green-0:drain:0");
      const sticky = await fetch(front(index), { headers: { cookie: "GL_COLOR=green-0" } });
      assert.equal(await sticky.text(), "release v1 blue");
    }
  });

  it("a new color with 3 % errors against the old color's 0 %: aborted at the first step", async () => {
    for (const pair of backends) pair.green.errorEvery = 33;
    startLoads();
    const run = await canary([10, 50, 100]);
    const results = await Promise.all(loads.map((load) => load.stop()));
    assert.ok(run.error instanceof StepError, String(run.error));
    assert.match(
      run.error.message,
      /^canary aborted at step 10 % \(breach\): error rate [1-9](\.\d+)? % \(\d+ of \d+\) against the old color's 0 % \(0 of \d+\) is more than 1 points above/,
    );
    assert.deepEqual(
      (run.error.report as { canary: { steps: { percent: number }[] } }).canary.steps.map(
        (step) => step.percent,
      ),
      [10],
    );
    for (const result of results) assert.deepEqual(Object.keys(result.failures), ["status 500"]);
    for (const index of ADDRESSES.keys())
      assert.deepEqual(await colorsAnswering(index), ["200 release v1 blue"]);
  });

  it("a host failing a step puts every host back where it was before the rollout", async () => {
    startLoads();
    const run = await canary([10, 50, 100], (message) => {
      if (/^step 10 %: green takes/.test(message)) backends[2].green.healthy = false;
    });
    const results = await Promise.all(loads.map((load) => load.stop()));
    assert.ok(run.error instanceof StepError, String(run.error));
    assert.match(
      run.error.message,
      /^traffic step 50 % to green: green is not ready to take traffic on h4; every host is back on the servers and weights it had before the rollout: host h4: HAProxy's own health checks see green-0 DOWN/,
    );
    for (const [index, result] of results.entries())
      assert.equal(result.failed, 0, `front ${index}: ${JSON.stringify(result.failures)}`);
    for (const index of ADDRESSES.keys()) {
      assert.equal(await serving(index), "blue-0:ready:1 green-0:drain:0");
      assert.deepEqual(await colorsAnswering(index), ["200 release v1 blue"]);
    }
  });

  /** One client on one front, a request every `everyMs` (a low-traffic stack). */
  const trickle = (index: number, everyMs: number) => {
    let running = true;
    const done = (async () => {
      let requests = 0;
      while (running) {
        await (await fetch(front(index))).text();
        requests += 1;
        await new Promise((resolve) => setTimeout(resolve, everyMs));
      }
      return requests;
    })();
    return () => ((running = false), done);
  };

  it("a step short of requests waits past its window for the minimum sample, then judges it", async () => {
    // 10 requests/s on one front, half to each color at 50 %: 20 per color after ~4 s, past the 2 s window.
    const stop = trickle(0, 100);
    const messages: string[] = [];
    const run = await canary([50, 100], (message) => messages.push(message), {
      stepSeconds: 2,
      guardSeconds: 0,
    });
    await stop();
    assert.equal(run.error, undefined, run.error?.message);
    const [step] = (run.report as SwitchReport).canary?.steps ?? [];
    assert.equal(step.verdict, "healthy");
    assert.ok(step.newer.requests >= 20 && step.older.requests >= 20, JSON.stringify(step));
    assert.ok(
      step.extendedMs > 0 && step.watchedMs > 2000 && step.watchedMs < 6000,
      `waited ${step.watchedMs} ms, ${step.extendedMs} past the window`,
    );
    assert.ok(
      messages.some((message) =>
        /^step 50 %: too few requests after 2 s \(the new color answered \d+ requests \(needs 20\).*\): waiting up to 4 s more/.test(
          message,
        ),
      ),
      messages.join("\n"),
    );
    for (const index of ADDRESSES.keys())
      assert.equal(await serving(index), "blue-0:drain:0 green-0:ready:1");
  });

  it("a step that never gets its minimum sample stops as inconclusive after three windows: exit 6, weight 0 on green on every host, blue serves", async () => {
    const run = await canary([10, 100], () => undefined, { stepSeconds: 1, guardSeconds: 0 });
    assert.ok(run.error instanceof StepError, String(run.error));
    assert.equal(run.error.exitCode, EXIT.canaryInconclusive);
    assert.equal(EXIT.canaryInconclusive, 6);
    assert.match(
      run.error.message,
      /^canary inconclusive at step 10 %: the new color answered 0 requests \(needs 20\); the old color answered 0 requests \(needs 20\) after 3 s \(the step's 1 s window, waited up to 3 times\); no verdict on the release/,
    );
    assert.match(
      run.error.message,
      /weight 0 on green, blue serves on every host \(3\); release again when traffic allows/,
    );
    const report = run.error.report as {
      activeColor: string;
      canary: { inconclusive?: boolean; abortedAt: number; steps: { verdict: string; watchedMs: number }[] };
    };
    assert.equal(report.activeColor, "blue");
    assert.equal(report.canary.inconclusive, true);
    assert.deepEqual(
      report.canary.steps.map((step) => step.verdict),
      ["insufficient"],
    );
    assert.ok(report.canary.steps[0].watchedMs >= 3000, String(report.canary.steps[0].watchedMs));
    for (const index of ADDRESSES.keys()) {
      assert.equal(await serving(index), "blue-0:ready:1 green-0:drain:0");
      assert.deepEqual(await colorsAnswering(index), ["200 release v1 blue"]);
    }
  });
});
