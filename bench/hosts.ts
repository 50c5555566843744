// The switch across hosts on three simulated hosts (scripts/sim-hosts.sh): failed requests over repeated
// switches under constant keep-alive GET and POST load through every host's front, and the time from the
// switch's start (the coordinator's command sent over SSH to the first host, as remote.Command sends it)
// until every front answers with the new color, beside the part the runtime API itself took.
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
const SWITCHES = 10;
/** More switches with the coordinator run by `docker exec` in the first proxy container, for comparison. */
const EXEC_SWITCHES = 4;
const GOAL_MS = 2000;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const round = (ms: number) => Math.round(ms * 10) / 10;

export async function benchHosts(): Promise<BenchResult[]> {
  await ensureDocker();
  const sim = await startSimHosts(HOSTS);
  try {
    const images = { v1: buildSampleImage("v1").ref, v2: buildSampleImage("v2").ref };
    const [opsImage] = await Promise.all([sim.buildOpsImage(), sim.buildAppImages(Object.values(images))]);
    const base = await freePortRange(6);
    // / and /health need no database; readiness is the gate's business, not the bench's.
    const fleet = new Fleet(
      sim,
      opsImage,
      { proxy: base, admin: base + 1, log: base + 2, blue: base + 3, green: base + 4 },
      "postgresql://nobody@127.0.0.1:1/none",
    );
    await fleet.startColor("blue", "v1", images.v1);
    await fleet.startColor("green", "v2", images.v2);
    await fleet.startProxies();
    for (const host of fleet.hosts)
      await untilServedBy(fleet.frontUrl(host), "blue", process.hrtime.bigint());

    const loads = fleet.hosts.map((host: SimHost) =>
      startLoad({ url: fleet.frontUrl(host), clients: 6, maxRequests: 2_000_000, maxMs: 300_000 }),
    );
    const allServing: number[] = [];
    const commandMs: number[] = [];
    const runtimeMs: number[] = [];
    const stepMs: number[] = [];
    const execServing: number[] = [];
    let color: Color = "blue";
    /** One switch to the other color; milliseconds from its start until every front serves that color. */
    const timedSwitch = async (via: "run" | "exec") => {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      color = otherColor(color);
      const started = process.hrtime.bigint();
      const switched = fleet.switch(color, color === "blue" ? "v1" : "v2", {}, {}, via);
      const served = await Promise.all(
        fleet.hosts.map((host) => untilServedBy(fleet.frontUrl(host), color, started, 15_000)),
      );
      const run = await switched;
      if (run.code !== 0) throw new Error(`switch to ${color} (docker ${via}) failed: ${run.stderr.trim()}`);
      return { served: Math.max(...served), run };
    };
    for (let round = 0; round < SWITCHES; round++) {
      const { served, run } = await timedSwitch("run");
      allServing.push(served);
      commandMs.push(run.ms);
      runtimeMs.push(Number(run.json[0].runtimeMs));
      stepMs.push(Number(run.json[0].preflightMs) + Number(run.json[0].runtimeMs));
    }
    for (let round = 0; round < EXEC_SWITCHES; round++) execServing.push((await timedSwitch("exec")).served);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const results = await Promise.all(loads.map((load) => load.stop()));
    const failed = results.reduce((sum, result) => sum + result.failed, 0);
    const total = results.reduce((sum, result) => sum + result.total, 0);
    return [
      {
        name: `hosts: failed requests in ${SWITCHES + EXEC_SWITCHES} switches across ${HOSTS} hosts`,
        value: failed,
        unit: "requests",
        goal: "0",
        ok: failed === 0,
      },
      { name: "hosts: requests through the 3 fronts meanwhile (GET + POST)", value: total, unit: "requests" },
      {
        name: "hosts: switch start → every host serves the new color (median)",
        value: round(median(allServing)),
        unit: "ms",
        goal: `< ${GOAL_MS} ms`,
        ok: median(allServing) < GOAL_MS,
      },
      {
        name: "hosts: switch start → every host serves the new color (max)",
        value: round(Math.max(...allServing)),
        unit: "ms",
        goal: `< ${GOAL_MS} ms`,
        ok: Math.max(...allServing) < GOAL_MS,
      },
      {
        name: "hosts: runtime API on 3 hosts, ready then drain (median)",
        value: round(median(runtimeMs)),
        unit: "ms",
      },
      {
        name: "hosts: in the step, checks on 3 hosts + runtime API (median)",
        value: round(median(stepMs)),
        unit: "ms",
      },
      {
        name: "hosts: the same, coordinator by docker exec in the proxy (median)",
        value: round(median(execServing)),
        unit: "ms",
      },
      {
        name: "hosts: whole coordinator command over SSH (median)",
        value: round(median(commandMs)),
        unit: "ms",
      },
    ];
  } finally {
    sim.stop();
  }
}
