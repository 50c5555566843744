// Progressive delivery on real HAProxy: three proxies (127.0.0.2-4, the `greenlight-ops proxy` command),
// each driven through its relay process, keep-alive GET and POST load through every front. Side by side in
// one run: a canary [10, 50, 100] and the one-move switch back — failed requests, each step's share of the
// answers (counted from the responses), and the time each weight change took across the hosts.
import { ControlPlane } from "../ops/control";
import { runSwitch } from "../ops/switch";
import { fleetMover } from "../ops/switch/hosts";
import { LoadRun, startLoad } from "../tests/ops/support/load";
import { PROXY_ADDRESSES, startProxyTrio } from "../tests/ops/support/proxies";
import { BenchResult } from "./result";

const STEPS = [10, 50, 100];
const STEP_SECONDS = 4;

export async function benchProgressive(): Promise<BenchResult[]> {
  // Every proxy serves blue with green checked UP before anything moves.
  const trio = await startProxyTrio(600_000);
  const { relays } = trio;
  let loads: LoadRun[] = [];
  const fronts = PROXY_ADDRESSES.map((_, index) => trio.front(index));
  try {
    const served = () => {
      const totals = { v1: 0, v2: 0 };
      for (const load of loads) {
        totals.v1 += load.served("v1");
        totals.v2 += load.served("v2");
      }
      return totals;
    };
    const windows = new Map<
      number,
      { start: { v1: number; v2: number }; end?: { v1: number; v2: number } }
    >();
    const log = (message: string) => {
      const started = /^step (\d+) %: green takes/.exec(message);
      if (started) windows.set(Number(started[1]), { start: served() });
      const judged = /^step (\d+) %: (healthy|breach|insufficient)/.exec(message);
      const window = judged && windows.get(Number(judged[1]));
      if (window) window.end = served();
    };
    const settings = {
      release: "v2",
      warmupPaths: [],
      guardSeconds: 2,
      thresholds: { errorRatePercent: 5, p95Ms: 2000, minRequests: 20 },
      env: {},
      log,
    };
    loads = fronts.map((url) => startLoad({ url, clients: 4, maxRequests: 2_000_000, maxMs: 120_000 }));
    const plane = ControlPlane.of(relays);
    const canary = await runSwitch(fleetMover(plane, fronts, { checkIntervalMs: 200 }), {
      ...settings,
      color: "green",
      canary: {
        steps: STEPS,
        stepSeconds: STEP_SECONDS,
        margins: { errorRatePoints: 1, p95Percent: 50, p95FloorMs: 25, minRequests: 20 },
      },
    });
    const oneMove = await runSwitch(fleetMover(plane, fronts, { checkIntervalMs: 200 }), {
      ...settings,
      color: "blue",
      release: "v1",
    });
    const results = await Promise.all(loads.map((load) => load.stop()));
    loads = [];
    const failed = results.reduce((sum, result) => sum + result.failed, 0);
    const total = results.reduce((sum, result) => sum + result.total, 0);
    const steps = canary.canary?.steps ?? [];
    const out: BenchResult[] = [
      {
        name: `failed requests, canary ${STEPS.join("/")} then one move back (3 fronts)`,
        value: failed,
        unit: `of ${total}`,
        goal: "0",
        ok: failed === 0,
      },
    ];
    for (const [percent, window] of windows) {
      const end = window.end ?? served();
      const green = end.v2 - window.start.v2;
      const blue = end.v1 - window.start.v1;
      const share = (green / Math.max(1, green + blue)) * 100;
      out.push({
        name: `step ${percent} %: share the new color answered (${green + blue} answers)`,
        value: Math.round(share * 10) / 10,
        unit: "%",
        goal: `${percent} ± 5`,
        ok: Math.abs(share - percent) <= 5,
      });
    }
    for (const step of steps) {
      out.push({
        name: `step ${step.percent} %: weight change, runtime commands on 3 hosts`,
        value: step.runtimeMs,
        unit: "ms",
      });
      out.push({ name: `step ${step.percent} %: first host to last host`, value: step.spreadMs, unit: "ms" });
    }
    out.push({ name: "last step (100 %): first host to last host", value: canary.mixedMs ?? 0, unit: "ms" });
    out.push({ name: "one move back: first host to last host", value: oneMove.mixedMs ?? 0, unit: "ms" });
    const spread = steps.length > 0 ? Math.max(...steps.map((step) => step.spreadMs)) : 0;
    if ((oneMove.mixedMs ?? 0) > 0)
      out.push({
        name: "ratio: slowest canary step's spread / one move's spread",
        value: spread / (oneMove.mixedMs ?? 1),
        unit: "×",
      });
    return out;
  } finally {
    await Promise.all(loads.map((load) => load.stop()));
    await trio.stop();
  }
}
