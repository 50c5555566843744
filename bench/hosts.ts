// The switch across hosts on three simulated hosts (scripts/sim-hosts.sh): failed requests over repeated
// switches under unthrottled keep-alive GET and POST load through every host's front, the time from the
// switch's start (the coordinator's command line started here, as its command resource starts it) until
// every front answers with the new color, and the mixed-version window: from the first front answering
// with the new color to the last, seen from outside, beside what the coordinator measured (from the
// first host's ready to the last's) and the part the runtime commands themselves took. Switches through
// each proxy's admin socket forwarded by sshd (the default) alternate with switches through the relay in
// the proxy container (`--control-channel relay`, the fallback), so both are measured under the same load;
// where the coordinator's time goes (process start, SSH connection, channel, first answer) is printed too.
import * as os from "os";
import { Color, otherColor } from "../schema/types";
import { startSampleFleet } from "../tests/hosts/support";
import { startLoad } from "../tests/ops/support/load";
import { ensureDocker } from "../tests/support/docker";
import { SimHost, startSimHosts } from "../tests/support/hosts";
import { BenchResult } from "./result";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { isFresh } = require("../bin/launch") as { isFresh(entry: string): boolean };
import { untilServedBy } from "./switch";

const HOSTS = 3;
/** Switches through the forwarded socket; every third round goes through the relay instead. */
const SWITCHES = 12;
const RELAY_SWITCHES = 6;
const GOAL_MEDIAN_MS = 1000;
const GOAL_MAX_MS = 1500;
const GOAL_MIXED_MS = 100;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const round = (ms: number) => Math.round(ms * 10) / 10;

interface Sample {
  allServing: number;
  mixedOutside: number;
  mixedCoordinator: number;
  runtimeMs: number;
  openMs: number;
  bootMs: number;
  commandMs: number;
  /** Slowest host's SSH connection, channel and first answer in this switch. */
  connectMs: number;
  channelMs: number;
  verifyMs: number;
  via: string;
  load: number;
}

interface ChannelTimes {
  via: string;
  connectMs: number;
  channelMs: number;
  verifyMs: number;
}

export async function benchHosts(): Promise<BenchResult[]> {
  // A stale build runs the coordinator through ts-node: seconds of compiling counted as switch time.
  if (!isFresh("ops/cli")) throw new Error("bin/build is older than ops/: run `npm run build` first");
  await ensureDocker();
  const sim = await startSimHosts(HOSTS);
  try {
    // / and /health need no database; readiness is the gate's business, not the bench's.
    const { fleet } = await startSampleFleet(sim, ["v1", "v2"], { blue: "v1", green: "v2" });
    for (const host of fleet.hosts)
      await untilServedBy(fleet.frontUrl(host), "blue", process.hrtime.bigint(), 60_000);

    const loads = fleet.hosts.map((host: SimHost) =>
      startLoad({ url: fleet.frontUrl(host), clients: 6, maxRequests: 5_000_000, maxMs: 400_000 }),
    );
    const samples: Sample[] = [];
    let color: Color = "blue";
    for (let round = 0; round < SWITCHES + RELAY_SWITCHES; round++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      color = otherColor(color);
      const relay = round % 3 === 2;
      const started = process.hrtime.bigint();
      const switched = fleet.switch(color, color === "blue" ? "v1" : "v2", {
        "control-channel": relay ? "relay" : "auto",
      });
      const served = await Promise.all(
        fleet.hosts.map((host) => untilServedBy(fleet.frontUrl(host), color, started, 15_000)),
      );
      const run = await switched;
      if (run.code !== 0) throw new Error(`switch to ${color} failed: ${run.stderr.trim()}`);
      const report = run.json[0];
      const channels = report.channels as ChannelTimes[];
      const slowest = (key: "connectMs" | "channelMs" | "verifyMs") =>
        Math.max(...channels.map((channel) => channel[key]));
      samples.push({
        allServing: Math.max(...served),
        mixedOutside: Math.max(...served) - Math.min(...served),
        mixedCoordinator: Number(report.mixedMs),
        runtimeMs: Number(report.runtimeMs),
        openMs: Number(report.openMs),
        bootMs: Number(report.bootMs),
        commandMs: run.ms,
        connectMs: slowest("connectMs"),
        channelMs: slowest("channelMs"),
        verifyMs: slowest("verifyMs"),
        via: [...new Set(channels.map((channel) => channel.via))].join("+"),
        load: os.loadavg()[0],
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const results = await Promise.all(loads.map((load) => load.stop()));
    const failed = results.reduce((sum, result) => sum + result.failed, 0);
    const total = results.reduce((sum, result) => sum + result.total, 0);
    const rate = results.reduce((sum, result) => sum + result.rate, 0);
    const socket = samples.filter((sample) => sample.via === "socket");
    const relayed = samples.filter((sample) => sample.via === "relay");
    if (socket.length !== SWITCHES || relayed.length !== RELAY_SWITCHES)
      throw new Error(
        `expected ${SWITCHES} switches through the socket and ${RELAY_SWITCHES} through the relay, got ${samples.map((sample) => sample.via).join(", ")}`,
      );
    const of = (from: Sample[], key: keyof Omit<Sample, "via">) => from.map((sample) => sample[key]);
    const breakdown = (from: Sample[], label: string): BenchResult[] =>
      (
        [
          ["process start → opening channels (node, the CLI)", "bootMs"],
          ["SSH connection: TCP, key exchange, host key, auth (slowest host)", "connectMs"],
          ["channel: socket found and forwarded, or relay greeted (slowest)", "channelMs"],
          ["first answer through it, show info (slowest host)", "verifyMs"],
          ["every channel open and answering", "openMs"],
          ["runtime API: ready then drain on 3 hosts", "runtimeMs"],
          ["whole coordinator command, guard off", "commandMs"],
        ] as const
      ).map(([name, key]) => ({
        name: `hosts ${label}: ${name} (median)`,
        value: round(median(of(from, key))),
        unit: "ms",
      }));
    const allServing = of(socket, "allServing");
    const mixedOutside = of(socket, "mixedOutside");
    const mixedCoordinator = of(socket, "mixedCoordinator");
    return [
      {
        name: `hosts: failed requests in ${samples.length} switches across ${HOSTS} hosts`,
        value: failed,
        unit: "requests",
        goal: "0",
        ok: failed === 0,
      },
      { name: "hosts: requests through the 3 fronts meanwhile (GET + POST)", value: total, unit: "requests" },
      { name: "hosts: load, all fronts together (unthrottled)", value: Math.round(rate), unit: "req/s" },
      {
        name: `hosts: switch start → every host moved, socket (median of ${socket.length})`,
        value: round(median(allServing)),
        unit: "ms",
        goal: `< ${GOAL_MEDIAN_MS} ms`,
        ok: median(allServing) < GOAL_MEDIAN_MS,
      },
      {
        name: "hosts: switch start → every host moved, socket (max)",
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
      ...breakdown(socket, "socket"),
      {
        name: `hosts relay: switch start → every host moved (median of ${relayed.length})`,
        value: round(median(of(relayed, "allServing"))),
        unit: "ms",
      },
      {
        name: "hosts relay: switch start → every host moved (max)",
        value: round(Math.max(...of(relayed, "allServing"))),
        unit: "ms",
      },
      {
        name: "hosts relay: mixed versions, seen outside (max)",
        value: round(Math.max(...of(relayed, "mixedOutside"))),
        unit: "ms",
      },
      ...breakdown(relayed, "relay"),
      {
        name: "hosts: the machine's 1-minute load average meanwhile (median, 2 cores)",
        value: round(median(of(samples, "load"))),
        unit: "",
      },
    ];
  } finally {
    sim.stop();
  }
}
