// Canary steps through the real control plane: the coordinator (`greenlight-ops switch-hosts
// --traffic-step …`, as the switch's command resource runs it) reaches the proxy containers of three
// simulated hosts over SSH with their keys pinned, under keep-alive GET and POST load through every
// front. An observer on its own SSH channels reads every host's weights while the steps run; the shares
// are counted from the responses.
import { strict as assert } from "assert";
import { EXIT } from "../../contract/exit-codes";
import { ControlPlane } from "../../ops/control";
import { admission, showServersState } from "../../ops/proxy/runtime";
import { LoadRun, startLoad } from "../ops/support/load";
import { SimHosts } from "../support/hosts";
import { Fleet, startThreeHostFleet } from "./support";

/** Every host's app servers as "<name>:<admission>:<weight>", read over the observer's channels. */
async function weightsOf(plane: ControlPlane): Promise<string[]> {
  return Promise.all(
    plane.channels.map(async (channel) =>
      (await showServersState(channel, 2000))
        .map((state) => `${state.name}:${admission(state)}:${state.userWeight}`)
        .join(" "),
    ),
  );
}

/** A step's weights on one host, as weights.ts sets them (1 replica per color). */
const stepWeights = (percent: number) => `blue-0:ready:${100 - percent} green-0:ready:${percent}`;
const BLUE_ALONE = "blue-0:ready:1 green-0:drain:0";
const GREEN_ALONE = "blue-0:drain:0 green-0:ready:1";

/**
 * Reads every host's weights every 100 ms until stopped; for each combination every host showed at
 * once, the answers per release the fronts gave while it held.
 */
function observe(plane: ControlPlane, loads: LoadRun[]) {
  const answered = () => {
    const totals = { v1: 0, v2: 0, v4: 0 };
    for (const load of loads)
      for (const release of ["v1", "v2", "v4"] as const) totals[release] += load.served(release);
    return totals;
  };
  const seen: string[][] = [];
  const windows: { weights: string; start: Record<string, number>; end: Record<string, number> }[] = [];
  let running = true;
  const done = (async () => {
    let current: (typeof windows)[number] | undefined;
    while (running) {
      const weights = await weightsOf(plane);
      const now = answered();
      if (seen.length === 0 || seen[seen.length - 1].join("|") !== weights.join("|")) seen.push(weights);
      const same = weights.every((entry) => entry === weights[0]);
      if (current && (!same || current.weights !== weights[0])) current = undefined;
      if (!current && same) windows.push((current = { weights: weights[0], start: now, end: now }));
      if (current) current.end = now;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    seen,
    windows,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

describe("canary steps over SSH on three simulated hosts (the coordinator, pinned host keys, load through every front)", function () {
  this.timeout(300_000);
  let sim: SimHosts;
  let fleet: Fleet;
  let plane: ControlPlane;
  let images: Record<string, string>;

  before(async function () {
    this.timeout(1_200_000);
    ({ sim, fleet, images } = await startThreeHostFleet(this));
    plane = await fleet.controlPlane();
  });

  after(async () => {
    await plane?.close();
    sim?.stop();
  });

  /** Blue serves alone on every host, green runs `release` and every proxy checks it UP. */
  async function blueServesGreenRuns(release: "v2" | "v4") {
    if ((await weightsOf(plane)).some((weights) => weights !== BLUE_ALONE)) {
      const back = await fleet.switch("blue", "v1");
      assert.equal(back.code, 0, back.stderr);
    }
    await fleet.startColor("green", release, images[release]);
    const deadline = Date.now() + 30_000;
    const greenAnswers = (address: string) =>
      fetch(`http://${address}:${fleet.ports.green}/health`).then(
        (response) => response.ok,
        () => false,
      );
    while (!(await Promise.all(fleet.hosts.map((host) => greenAnswers(host.address)))).every(Boolean)) {
      if (Date.now() > deadline) throw new Error(`green ${release} does not answer on every host`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // HAProxy's checks (every 500 ms, rise 2) must have seen the new containers, not the old ones.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    for (;;) {
      const states = await Promise.all(plane.channels.map((channel) => showServersState(channel, 2000)));
      if (
        states.every((host) => host.some((state) => state.name === "green-0" && state.operationalState === 2))
      )
        break;
      if (Date.now() > deadline) throw new Error("green is not checked UP on every host");
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.deepEqual(await weightsOf(plane), [BLUE_ALONE, BLUE_ALONE, BLUE_ALONE]);
  }

  const startLoads = () =>
    fleet.hosts.map((host) =>
      startLoad({ url: fleet.frontUrl(host), clients: 4, maxRequests: 2_000_000, maxMs: 180_000 }),
    );

  const CANARY_FLAGS = {
    "traffic-step": [10, 50, 100],
    "traffic-step-seconds": 5,
    "guard-seconds": 3,
    "guard-min-requests": 20,
    "guard-error-rate": 5,
    "guard-p95-ms": 2000,
  };

  it("a canary [10, 50, 100]: every host takes each step's weights, 0 failed requests, each step's share within ±5 points", async () => {
    await blueServesGreenRuns("v2");
    const loads = startLoads();
    const watcher = observe(plane, loads);
    const run = await fleet.switch("green", "v2", CANARY_FLAGS);
    await watcher.stop();
    const results = await Promise.all(loads.map((load) => load.stop()));
    assert.equal(run.code, 0, run.stderr);
    const report = run.json[0] as {
      activeColor: string;
      previousColor: string;
      proxyUrls: string[];
      canary: { steps: { percent: number; verdict: string; hosts?: unknown; newer: { requests: number } }[] };
      guard: { verdict: string };
    };
    assert.equal(report.activeColor, "green");
    assert.equal(report.previousColor, "blue");
    assert.equal(report.proxyUrls.length, 3);
    assert.deepEqual(
      report.canary.steps.map((step) => [step.percent, step.verdict]),
      [
        [10, "healthy"],
        [50, "healthy"],
      ],
    );
    assert.ok(
      report.canary.steps.every((step) => step.newer.requests >= 20),
      JSON.stringify(report.canary),
    );
    assert.equal(report.guard.verdict, "healthy");
    assert.match(run.stderr, /step 10 %: green takes 10 % of new requests on 3 host\(s\)/);
    // Each step held on every host at once: the observer saw all three hosts at its weights together.
    for (const percent of [10, 50]) {
      assert.ok(
        watcher.seen.some((weights) => weights.every((entry) => entry === stepWeights(percent))),
        `step ${percent} % on every host: ${JSON.stringify(watcher.seen)}`,
      );
    }
    assert.deepEqual(watcher.seen[watcher.seen.length - 1], [GREEN_ALONE, GREEN_ALONE, GREEN_ALONE]);
    for (const [index, result] of results.entries()) {
      assert.equal(result.failed, 0, `front ${fleet.hosts[index].name}: ${JSON.stringify(result.failures)}`);
      assert.ok(result.gets > 100 && result.posts > 100, JSON.stringify(result));
    }
    for (const percent of [10, 50]) {
      const window = watcher.windows.find((entry) => entry.weights === stepWeights(percent));
      assert.ok(window, `a window at ${percent} %`);
      const green = window.end.v2 - window.start.v2;
      const blue = window.end.v1 - window.start.v1;
      const share = (green / (green + blue)) * 100;
      console.log(`      step ${percent} %: green answered ${share.toFixed(1)} % of ${green + blue}`);
      assert.ok(green + blue > 200, `step ${percent} %: only ${green + blue} answers`);
      assert.ok(Math.abs(share - percent) <= 5, `step ${percent} %: green answered ${share.toFixed(1)} %`);
    }
    for (const host of fleet.hosts) assert.match((await fleet.get(host)).body, /^release v2 \(green\)/);
  });

  it("a canary answering 5xx: aborted at the first step with weight 0 on green on every host, blue keeps serving, exit 1", async () => {
    await blueServesGreenRuns("v4");
    const loads = startLoads();
    const watcher = observe(plane, loads);
    const run = await fleet.switch("green", "v4", CANARY_FLAGS);
    await watcher.stop();
    const afterAbort = loads.map((load) => ({ v1: load.served("v1"), v4: load.served("v4") }));
    // The old color serves every request after the abort.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const results = await Promise.all(loads.map((load) => load.stop()));
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      /canary aborted at step 10 % \(breach\): .*error rate [\d.]+ % \(\d+ of \d+\) against the old color's 0 % \(0 of \d+\) is more than 1 points above/,
    );
    assert.match(run.stderr, /weight 0 on green, blue serves on every host \(3\)/);
    assert.doesNotMatch(run.stderr, /step 50 %/, "no host went past the first step");
    assert.ok(
      watcher.seen.some((weights) => weights.every((entry) => entry === stepWeights(10))),
      `step 10 % on every host: ${JSON.stringify(watcher.seen)}`,
    );
    assert.ok(
      watcher.seen.every((weights) => weights.every((entry) => entry !== stepWeights(50))),
      JSON.stringify(watcher.seen),
    );
    assert.deepEqual(await weightsOf(plane), [BLUE_ALONE, BLUE_ALONE, BLUE_ALONE]);
    for (const [index, result] of results.entries()) {
      // The only failures are green's own 500s during the step: no connection error, no 503.
      assert.deepEqual(Object.keys(result.failures), ["status 500"], JSON.stringify(result.failures));
      assert.equal(result.byRelease.v4 ?? 0, afterAbort[index].v4, "no answer from green after the abort");
      assert.ok((result.byRelease.v1 ?? 0) > afterAbort[index].v1 + 100, "blue kept serving");
    }
    for (const host of fleet.hosts) {
      assert.match((await fleet.get(host)).body, /^release v1 \(blue\)/);
      const withGreenCookie = await fetch(fleet.frontUrl(host), { headers: { cookie: "GL_COLOR=green-0" } });
      assert.match(await withGreenCookie.text(), /^release v1 \(blue\)/);
    }
  });

  it("a canary with no traffic to judge: inconclusive after three windows, exit 6 from the coordinator, weight 0 on green on every host", async () => {
    await blueServesGreenRuns("v2");
    const run = await fleet.switch("green", "v2", { ...CANARY_FLAGS, "traffic-step-seconds": 1 });
    assert.equal(run.code, EXIT.canaryInconclusive, run.stderr);
    assert.match(
      run.stderr,
      /canary inconclusive at step 10 %: the new color answered 0 requests \(needs 20\); the old color answered 0 requests \(needs 20\) after 3 s/,
    );
    assert.match(run.stderr, /weight 0 on green, blue serves on every host \(3\)/);
    assert.equal((run.json[0] as { canary: { inconclusive?: boolean } }).canary.inconclusive, true);
    assert.deepEqual(await weightsOf(plane), [BLUE_ALONE, BLUE_ALONE, BLUE_ALONE]);
    for (const host of fleet.hosts) assert.match((await fleet.get(host)).body, /^release v1 \(blue\)/);
  });
});
