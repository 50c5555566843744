// The switch across hosts on three simulated hosts (scripts/sim-hosts.sh): failed requests over repeated
// switches under unthrottled keep-alive GET and POST load through every host's front, the time from the
// switch's start (the coordinator's command line started here, as its command resource starts it) until
// every front answers with the new color, and the mixed-version window: from the first front answering
// with the new color to the last, seen from outside, beside what the coordinator measured (from the
// first host's ready to the last's) and the part the runtime commands themselves took.
import * as os from "os";
import { Color, otherColor } from "../schema/types";
import { Fleet } from "../tests/hosts/support";
import { buildSampleImage } from "../tests/fixtures/app/build";
import { startLoad } from "../tests/ops/support/load";
import { freePortRange } from "../tests/ops/support/release";
import { ensureDocker } from "../tests/support/docker";
import { SimHost, startSimHosts } from "../tests/support/hosts";
import { BenchResult } from "./result";
import { untilServedBy } from "./switch";

const HOSTS = 3;
const SWITCHES = 12;
const GOAL_MEDIAN_MS = 1000;
const GOAL_MAX_MS = 1500;
const GOAL_MIXED_MS = 100;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const round = (ms: number) => Math.round(ms * 10) / 10;

export async function benchHosts(): Promise<BenchResult[]> {
  await ensureDocker();
  const sim = await startSimHosts(HOSTS);
  try {
    const images = { v1: buildSampleImage("v1").ref, v2: buildSampleImage("v2").ref };
    const [opsImage] = await Promise.all([sim.buildOpsImage(), sim.buildAppImages(Object.values(images))]);
    const base = await freePortRange(3);
    // / and /health need no database; readiness is the gate's business, not the bench's.
    const fleet = new Fleet(
      sim,
      opsImage,
      { proxy: base, blue: base + 1, green: base + 2 },
      "postgresql://nobody@127.0.0.1:1/none",
    );
    await fleet.startColor("blue", "v1", images.v1);
    await fleet.startColor("green", "v2", images.v2);
    await fleet.startProxies();
    for (const host of fleet.hosts)
      await untilServedBy(fleet.frontUrl(host), "blue", process.hrtime.bigint(), 60_000);

    const loads = fleet.hosts.map((host: SimHost) =>
      startLoad({ url: fleet.frontUrl(host), clients: 6, maxRequests: 5_000_000, maxMs: 400_000 }),
    );
    const allServing: number[] = [];
    const mixedOutside: number[] = [];
    const mixedCoordinator: number[] = [];
    const runtimeMs: number[] = [];
    const openMs: number[] = [];
    const commandMs: number[] = [];
    const load: number[] = [];
    let color: Color = "blue";
    for (let round = 0; round < SWITCHES; round++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      color = otherColor(color);
      const started = process.hrtime.bigint();
      const switched = fleet.switch(color, color === "blue" ? "v1" : "v2");
      const served = await Promise.all(
        fleet.hosts.map((host) => untilServedBy(fleet.frontUrl(host), color, started, 15_000)),
      );
      const run = await switched;
      if (run.code !== 0) throw new Error(`switch to ${color} failed: ${run.stderr.trim()}`);
      allServing.push(Math.max(...served));
      mixedOutside.push(Math.max(...served) - Math.min(...served));
      mixedCoordinator.push(Number(run.json[0].mixedMs));
      runtimeMs.push(Number(run.json[0].runtimeMs));
      openMs.push(Number(run.json[0].openMs));
      load.push(os.loadavg()[0]);
      commandMs.push(run.ms);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const results = await Promise.all(loads.map((load) => load.stop()));
    const failed = results.reduce((sum, result) => sum + result.failed, 0);
    const total = results.reduce((sum, result) => sum + result.total, 0);
    const rate = results.reduce((sum, result) => sum + result.rate, 0);
    return [
      {
        name: `hosts: failed requests in ${SWITCHES} switches across ${HOSTS} hosts`,
        value: failed,
        unit: "requests",
        goal: "0",
        ok: failed === 0,
      },
      { name: "hosts: requests through the 3 fronts meanwhile (GET + POST)", value: total, unit: "requests" },
      { name: "hosts: load, all fronts together (unthrottled)", value: Math.round(rate), unit: "req/s" },
      {
        name: "hosts: switch start → every host moved (median)",
        value: round(median(allServing)),
        unit: "ms",
        goal: `< ${GOAL_MEDIAN_MS} ms`,
        ok: median(allServing) < GOAL_MEDIAN_MS,
      },
      {
        name: "hosts: switch start → every host moved (max)",
        value: round(Math.max(...allServing)),
        unit: "ms",
        goal: `< ${GOAL_MAX_MS} ms`,
        ok: Math.max(...allServing) < GOAL_MAX_MS,
      },
      {
        name: "hosts: mixed versions, first host moved → last, seen outside (max)",
        value: round(Math.max(...mixedOutside)),
        unit: "ms",
        goal: `≤ ${GOAL_MIXED_MS} ms`,
        ok: Math.max(...mixedOutside) <= GOAL_MIXED_MS,
      },
      {
        name: "hosts: the same, seen outside (median)",
        value: round(median(mixedOutside)),
        unit: "ms",
      },
      {
        name: "hosts: the same, first ready → last ready in the coordinator (max)",
        value: round(Math.max(...mixedCoordinator)),
        unit: "ms",
        goal: `≤ ${GOAL_MIXED_MS} ms`,
        ok: Math.max(...mixedCoordinator) <= GOAL_MIXED_MS,
      },
      {
        name: "hosts: opening the 3 control channels (SSH, host key, relay) (median)",
        value: round(median(openMs)),
        unit: "ms",
      },
      {
        name: "hosts: runtime API on 3 hosts over SSH, ready then drain (median)",
        value: round(median(runtimeMs)),
        unit: "ms",
      },
      {
        name: "hosts: whole coordinator command, guard off (median)",
        value: round(median(commandMs)),
        unit: "ms",
      },
      {
        name: "hosts: the machine's 1-minute load average meanwhile (median, 2 cores)",
        value: round(median(load)),
        unit: "",
      },
    ];
  } finally {
    sim.stop();
  }
}
