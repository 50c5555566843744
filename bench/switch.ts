// The traffic switch on real Docker and HAProxy: failed requests during repeated switches under constant
// load (20 keep-alive clients, GET and POST, no retries), and how long a flip to the warm color takes —
// the runtime API alone, the in-process step (validate, flip, save state), and the whole
// `node bin/greenlight-ops.js switch` process as a command resource runs it — until traffic moved.
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { proxyPaths } from "../ops/proxy/config";
import { stopProxy } from "../ops/proxy/process";
import { ProxySpec, activate } from "../ops/proxy";
import { probe } from "../ops/lib/http";
import { Color, otherColor } from "../schema/types";
import { buildSampleImage } from "../tests/fixtures/app/build";
import { startLoad } from "../tests/ops/support/load";
import {
  ColorRun,
  PROJECT_DIR,
  freePortRange,
  proxyFlags,
  startColor,
  tempStateDir,
} from "../tests/ops/support/release";
import { ensureDocker, removeContainers } from "../tests/support/docker";
import { BenchResult } from "./result";

/** Flips under load, and separate flips timed end to end. */
const SWITCHES_UNDER_LOAD = 10;
const TIMED_FLIPS = 5;
const GOAL_MS = 2000;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/** Milliseconds since `started` until a fresh request through the proxy is answered by `color`. */
export async function untilServedBy(
  proxyUrl: string,
  color: Color,
  started: bigint,
  timeoutMs = 10_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await probe(proxyUrl, 1000);
    if (answer.status === 200 && answer.body.includes(`(${color})`))
      return Number(process.hrtime.bigint() - started) / 1e6;
    if (Date.now() > deadline) throw new Error(`traffic did not move to ${color} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** How the CLI is started: as shipped (bin/greenlight-ops.js, ts-node) or from a tsc build. */
interface Cli {
  entry: string;
  env: NodeJS.ProcessEnv;
}

/** Compiles the project into a temp dir (never bin/build: a stale build would shadow the sources). */
function compiledCli(): { cli: Cli; cleanup: () => void } {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "gl-bench-build-"));
  execFileSync(
    process.execPath,
    [
      require.resolve("typescript/bin/tsc"),
      "-p",
      path.join(PROJECT_DIR, "tsconfig.json"),
      "--noEmit",
      "false",
      "--outDir",
      outDir,
    ],
    {
      stdio: "pipe",
    },
  );
  return {
    cli: {
      entry: path.join(outDir, "ops", "cli.js"),
      env: { NODE_PATH: path.join(PROJECT_DIR, "node_modules") },
    },
    cleanup: () => fs.rmSync(outDir, { recursive: true, force: true }),
  };
}

/** Runs the CLI switch and watches the proxy while it runs; resolves with both times. */
function cliSwitch(
  cli: Cli,
  flags: string[],
  color: Color,
  proxyUrl: string,
): Promise<{ movedMs: number; processMs: number }> {
  const started = process.hrtime.bigint();
  const child = spawn(
    process.execPath,
    [
      cli.entry,
      "switch",
      "--color",
      color,
      "--release",
      color === "blue" ? "v1" : "v2",
      ...flags,
      "--guard-seconds",
      "0",
    ],
    {
      cwd: PROJECT_DIR,
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, ...cli.env, GREENLIGHT_WEBHOOK_URL: "" },
    },
  );
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number>((resolve, reject) =>
    child.once("close", (code) =>
      code === 0
        ? resolve(Number(process.hrtime.bigint() - started) / 1e6)
        : reject(new Error(`switch exited ${code}: ${stderr.trim()}`)),
    ),
  );
  return Promise.all([untilServedBy(proxyUrl, color, started), exited]).then(([movedMs, processMs]) => ({
    movedMs,
    processMs,
  }));
}

export async function benchSwitch(): Promise<BenchResult[]> {
  await ensureDocker();
  const images = { v1: buildSampleImage("v1").ref, v2: buildSampleImage("v2").ref };
  const stateDir = tempStateDir();
  const base = await freePortRange(3);
  const ports = { proxy: base, blue: base + 1, green: base + 2 };
  const spec: ProxySpec = {
    stateDir,
    proxyPort: ports.proxy,
    upstreamHost: "127.0.0.1",
    hostPorts: { blue: ports.blue, green: ports.green },
    replicas: 1,
    healthPath: "/health",
    maintenanceMode: "off",
    checkIntervalMs: 500,
  };
  const proxyUrl = `http://127.0.0.1:${ports.proxy}/`;
  const runs: ColorRun[] = [];
  try {
    // The app's / and /health need no database; readiness is the gate's business, not the bench's.
    const common = {
      prefix: `gl-bench-${process.pid}`,
      databaseUrl: "postgresql://nobody@127.0.0.1:1/none",
      replicas: 1,
    };
    runs.push(
      await startColor({ ...common, color: "blue", release: "v1", image: images.v1, port: ports.blue }),
    );
    runs.push(
      await startColor({ ...common, color: "green", release: "v2", image: images.v2, port: ports.green }),
    );
    await activate(spec, "blue");
    await untilServedBy(proxyUrl, "blue", process.hrtime.bigint());

    const load = startLoad({ url: proxyUrl, clients: 20, maxRequests: 2_000_000, maxMs: 300_000 });
    const runtimeMs: number[] = [];
    const stepMs: number[] = [];
    let color: Color = "blue";
    for (let flip = 0; flip < SWITCHES_UNDER_LOAD; flip++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      color = otherColor(color);
      const started = process.hrtime.bigint();
      const activation = await activate(spec, color);
      stepMs.push(Number(process.hrtime.bigint() - started) / 1e6);
      runtimeMs.push(activation.runtimeMs ?? 0);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const loaded = await load.stop();

    const flags = proxyFlags({
      stateDir,
      proxyPort: ports.proxy,
      bluePort: ports.blue,
      greenPort: ports.green,
    });
    const timeFlips = async (cli: Cli) => {
      const moved: number[] = [];
      const processes: number[] = [];
      for (let flip = 0; flip < TIMED_FLIPS; flip++) {
        color = otherColor(color);
        const timed = await cliSwitch(cli, flags, color, proxyUrl);
        moved.push(timed.movedMs);
        processes.push(timed.processMs);
      }
      return { moved: median(moved), movedMax: Math.max(...moved), process: median(processes) };
    };
    const shipped = await timeFlips({ entry: path.join(PROJECT_DIR, "bin", "greenlight-ops.js"), env: {} });
    const build = compiledCli();
    const compiled = await timeFlips(build.cli).finally(build.cleanup);
    return [
      {
        name: `switch: failed requests in ${SWITCHES_UNDER_LOAD} switches under load`,
        value: loaded.failed,
        unit: "requests",
        goal: "0",
        ok: loaded.failed === 0,
      },
      {
        name: "switch: requests served during those switches (GET + POST)",
        value: loaded.total,
        unit: "requests",
      },
      { name: "switch: request rate through the proxy", value: loaded.rate, unit: "req/s" },
      {
        name: "flip: runtime API, ready new then drain old (median)",
        value: round(median(runtimeMs)),
        unit: "ms",
        goal: `< ${GOAL_MS} ms`,
        ok: median(runtimeMs) < GOAL_MS,
      },
      { name: "flip: runtime API (max)", value: round(Math.max(...runtimeMs)), unit: "ms" },
      {
        name: "flip: in-process step incl. haproxy -c and state file (median)",
        value: round(median(stepMs)),
        unit: "ms",
        goal: `< ${GOAL_MS} ms`,
        ok: median(stepMs) < GOAL_MS,
      },
      {
        name: "flip: CLI (ts-node, as shipped) start → traffic moved (median)",
        value: round(shipped.moved),
        unit: "ms",
        goal: `< ${GOAL_MS} ms`,
        ok: shipped.moved < GOAL_MS,
      },
      { name: "flip: CLI (ts-node) start → traffic moved (max)", value: round(shipped.movedMax), unit: "ms" },
      { name: "flip: CLI (ts-node) whole process (median)", value: round(shipped.process), unit: "ms" },
      {
        name: "flip: CLI (tsc build) start → traffic moved (median)",
        value: round(compiled.moved),
        unit: "ms",
        goal: `< ${GOAL_MS} ms`,
        ok: compiled.moved < GOAL_MS,
      },
      {
        name: "flip: CLI (tsc build) start → traffic moved (max)",
        value: round(compiled.movedMax),
        unit: "ms",
      },
      { name: "flip: CLI (tsc build) whole process (median)", value: round(compiled.process), unit: "ms" },
    ];
  } finally {
    await stopProxy(proxyPaths(stateDir));
    removeContainers(...runs.flatMap((run) => run.containers));
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}
