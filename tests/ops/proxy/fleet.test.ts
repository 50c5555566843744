// The proxy command and the all-or-nothing move across proxies, on real HAProxy processes on this
// machine: three `greenlight-ops proxy` processes, one per loopback address 127.0.0.2-4, each with its
// runtime API on TCP, in front of small HTTP backends (the container and SSH layers are in tests/hosts).
import { strict as assert } from "assert";
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { moveFleet, ProxyTarget, revertFleet } from "../../../ops/proxy/fleet";
import { proxyPaths } from "../../../ops/proxy/config";
import { haproxyBinary } from "../../../ops/proxy/process";
import {
  admission,
  parseServersState,
  setServerState,
  showServersState,
  tcpAdmin,
} from "../../../ops/proxy/runtime";
import { needService } from "../../support/service";
import { CliProcess, spawnOps } from "../support/cli";
import { freePortRange, runOps, tempStateDir } from "../support/release";

const ADDRESSES = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];

interface Backend {
  server: http.Server;
  /** Answers 503 on /health while false. */
  healthy: boolean;
}

function startBackend(address: string, port: number, body: string): Promise<Backend> {
  const backend: Backend = { server: http.createServer(), healthy: true };
  backend.server.on("request", (request: http.IncomingMessage, response: http.ServerResponse) => {
    if (request.url === "/health") response.writeHead(backend.healthy ? 200 : 503).end();
    else response.end(body);
  });
  return new Promise((resolve) => backend.server.listen(port, address, () => resolve(backend)));
}

describe("proxies on several addresses: the proxy command and the all-or-nothing move", function () {
  this.timeout(120_000);
  let base: number;
  const ports = () => ({ proxy: base, admin: base + 1, log: base + 2, blue: base + 3, green: base + 4 });
  let stateDirs: string[] = [];
  let proxies: CliProcess[] = [];
  let backends: Backend[] = [];
  const targets = (): ProxyTarget[] =>
    ADDRESSES.map((address, index) => ({ name: `h${index + 2}`, admin: tcpAdmin(address, ports().admin) }));

  const startProxy = (index: number, extra: string[] = []): CliProcess => {
    const address = ADDRESSES[index];
    const process_ = spawnOps(
      [
        "proxy",
        "--state-dir",
        stateDirs[index],
        "--listen-address",
        address,
        "--proxy-port",
        String(ports().proxy),
        "--admin-address",
        address,
        "--admin-port",
        String(ports().admin),
        "--log-address",
        ADDRESSES[0],
        "--log-port",
        String(ports().log),
        "--upstream-host",
        address,
        "--blue-port",
        String(ports().blue),
        "--green-port",
        String(ports().green),
        "--check-interval-ms",
        "200",
        ...extra,
      ],
      { ...process.env },
      60_000,
    );
    proxies[index] = process_;
    return process_;
  };
  const get = async (index: number) => {
    const response = await fetch(`http://${ADDRESSES[index]}:${ports().proxy}/`);
    return `${response.status} ${await response.text()}`;
  };
  const waitFor = async (what: string, check: () => Promise<boolean>, timeoutMs = 15_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await check().catch(() => false))) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  /** Stops one proxy process (SIGTERM) and waits for its exit. */
  const stopProxy = async (index: number) => {
    const proxy = proxies[index];
    if (proxy.pid) process.kill(proxy.pid, "SIGTERM");
    return proxy.done;
  };
  /** Waits until HAProxy's own checks on host `index` see green-0 in an operational state. */
  const greenSeen = (index: number, operationalState: number) =>
    waitFor(`${ADDRESSES[index]} sees green-0 in state ${operationalState}`, async () =>
      (await showServersState(targets()[index].admin)).some(
        (state) => state.name === "green-0" && state.operationalState === operationalState,
      ),
    );
  const serving = async (index: number) =>
    (await showServersState(targets()[index].admin))
      .map((state) => `${state.name}:${admission(state)}`)
      .join(" ");

  before(async function () {
    await needService(this, "HAProxy", async () => {
      execFileSync(haproxyBinary(), ["-v"], { stdio: "pipe" });
    });
  });

  beforeEach(async () => {
    base = await freePortRange(5);
    stateDirs = ADDRESSES.map(() => tempStateDir());
    backends = [];
    for (const address of ADDRESSES) {
      backends.push(await startBackend(address, ports().blue, `blue ${address}`));
      backends.push(await startBackend(address, ports().green, `green ${address}`));
    }
    proxies = [];
    ADDRESSES.forEach((_, index) => startProxy(index));
    for (const index of ADDRESSES.keys()) {
      await waitFor(`proxy ${index} serves blue`, async () => (await get(index)).startsWith("200 blue"));
      await waitFor(
        `proxy ${index} checks green in drain`,
        async () => (await serving(index)) === "blue-0:ready green-0:drain",
      );
    }
  });

  afterEach(async () => {
    await Promise.all(proxies.map((_, index) => stopProxy(index)));
    for (const backend of backends) {
      backend.server.closeAllConnections();
      await new Promise((resolve) => backend.server.close(resolve));
    }
    for (const dir of stateDirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("the proxy command serves blue at its own address, keeps green checked in drain, saves the served color, and a restart serves it again", async () => {
    const moved = await moveFleet(targets(), "green", { checkIntervalMs: 200 });
    assert.deepEqual(
      moved.hosts.map((host) => [host.host, host.previousColor, host.moved]),
      [
        ["h2", "blue", true],
        ["h3", "blue", true],
        ["h4", "blue", true],
      ],
    );
    assert.equal(moved.previousColor, "blue");
    for (const index of ADDRESSES.keys()) assert.equal(await get(index), `200 green ${ADDRESSES[index]}`);
    const stateFile = proxyPaths(stateDirs[1]).stateFile;
    await waitFor("the state file follows", async () =>
      parseServersState(fs.readFileSync(stateFile, "utf8")).every(
        (state) => admission(state) === (state.name.startsWith("green") ? "ready" : "drain"),
      ),
    );
    const stopped = await stopProxy(1);
    assert.equal(stopped.code, 0, stopped.stderr);
    const report = JSON.parse(stopped.stdout.trim()) as Record<string, unknown>;
    assert.deepEqual(
      [report.step, report.startedWith, report.stoppedWith, report.stoppedBy],
      ["proxy", "blue", "green", "SIGTERM"],
    );
    startProxy(1);
    await waitFor("the restarted proxy answers", async () => (await get(1)).startsWith("200"));
    assert.equal(await get(1), `200 green ${ADDRESSES[1]}`);
    await waitFor("the restarted proxy says how it started", async () =>
      proxies[1].stderrSoFar().includes("[proxy] HAProxy"),
    );
    assert.match(
      proxies[1].stderrSoFar(),
      /listens on 127\.0\.0\.3:\d+ with green serving, runtime API on 127\.0\.0\.3:\d+/,
    );
  });

  it("one proxy unreachable: nothing moves on any host, and the failure names it", async () => {
    await stopProxy(2);
    await assert.rejects(moveFleet(targets(), "green", { checkIntervalMs: 200 }), (error: Error) => {
      assert.match(
        error.message,
        /^cannot reach the proxy of h4; no traffic moved on any host: host h4: HAProxy admin socket 127\.0\.0\.4:\d+: connect ECONNREFUSED/,
      );
      return true;
    });
    for (const index of [0, 1]) assert.equal(await serving(index), "blue-0:ready green-0:drain");
    startProxy(2);
    await waitFor("h4 is back", async () => (await get(2)).startsWith("200 blue"));
  });

  it("a revert moves back every proxy it reaches, and names the one it could not", async () => {
    await moveFleet(targets(), "green", { checkIntervalMs: 200 });
    await stopProxy(2);
    const failures = await revertFleet(targets(), "blue", { checkIntervalMs: 200 });
    assert.equal(failures.length, 1);
    assert.match(failures[0], /^host h4: HAProxy admin socket 127\.0\.0\.4:\d+: connect ECONNREFUSED/);
    for (const index of [0, 1]) {
      assert.equal(await serving(index), "blue-0:ready green-0:drain");
      assert.equal(await get(index), `200 blue ${ADDRESSES[index]}`);
    }
    startProxy(2);
    await waitFor("h4 is back", async () => (await get(2)).startsWith("200"));
  });

  it("the target color DOWN on one host: nothing moves on any host, and the failure names it", async () => {
    backends[5].healthy = false;
    await greenSeen(2, 0);
    await assert.rejects(moveFleet(targets(), "green", { checkIntervalMs: 200 }), (error: Error) => {
      assert.match(
        error.message,
        /^green is not ready to take traffic on h4; no traffic moved on any host: host h4: HAProxy's own health checks see green-0 DOWN/,
      );
      return true;
    });
    for (const index of ADDRESSES.keys()) assert.equal(await serving(index), "blue-0:ready green-0:drain");
  });

  it("a proxy failing during the move: every proxy gets back the servers it had, and the failure names it", async () => {
    // h4's HAProxy answers reads but refuses changes on the port the move uses (runtime API at operator
    // level): it passes the checks before the move, then fails the move itself.
    await stopProxy(2);
    const spare = ports().admin + 10;
    const paths = proxyPaths(stateDirs[2]);
    const config = fs
      .readFileSync(paths.config, "utf8")
      .replace(
        `ipv4@${ADDRESSES[2]}:${ports().admin} level admin`,
        `ipv4@${ADDRESSES[2]}:${ports().admin} level operator\n  stats socket ipv4@${ADDRESSES[2]}:${spare} level admin`,
      );
    fs.writeFileSync(paths.config, config);
    const haproxy = spawn(haproxyBinary(), ["-W", "-db", "-f", paths.config], { stdio: "ignore" });
    try {
      await waitFor("h4 serves blue again", async () => (await get(2)).startsWith("200 blue"));
      await setServerState(tcpAdmin(ADDRESSES[2], spare), "green-0", "drain");
      await greenSeen(2, 2);
      await assert.rejects(moveFleet(targets(), "green", { checkIntervalMs: 200 }), (error: Error) => {
        assert.match(
          error.message,
          /^switch to green failed on h4; every host is back on its previous servers: host h4: HAProxy refused "set server app\/green-0 state ready": Permission denied/,
        );
        return true;
      });
      for (const index of ADDRESSES.keys()) {
        assert.equal(await serving(index), "blue-0:ready green-0:drain", `${ADDRESSES[index]} is back`);
        assert.equal(await get(index), `200 blue ${ADDRESSES[index]}`);
      }
    } finally {
      haproxy.kill("SIGTERM");
      await new Promise((resolve) => haproxy.once("exit", resolve));
      startProxy(2);
    }
  });

  it("switch-hosts moves every host, reports each, and a second run changes nothing", async () => {
    const flags = [
      "--release",
      "v2",
      ...ADDRESSES.flatMap((address, index) => ["--host", `h${index + 2}=${address}`]),
      "--admin-port",
      String(ports().admin),
      "--proxy-port",
      String(ports().proxy),
      "--log-address",
      ADDRESSES[0],
      "--log-port",
      String(ports().log),
      "--guard-seconds",
      "0",
      "--warmup",
      "/",
    ];
    const first = await runOps(["switch-hosts", "--color", "green", ...flags]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.json[0].method, "flip");
    assert.deepEqual(
      (first.json[0].warmup as { proxyUrl: string; status: number }[]).map((warm) => warm.status),
      [200, 200, 200],
    );
    for (const index of ADDRESSES.keys()) assert.equal(await get(index), `200 green ${ADDRESSES[index]}`);
    const again = await runOps(["switch-hosts", "--color", "green", ...flags]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.json[0].method, "unchanged");
    assert.deepEqual(again.json[0].guard, { skipped: "guard window is 0 s" });
    const twice = await runOps([
      "switch-hosts",
      "--color",
      "green",
      ...flags,
      "--host",
      `h2=${ADDRESSES[1]}`,
    ]);
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /host h2 is given twice/);
    const bad = await runOps(["switch-hosts", "--color", "green", ...flags.slice(0, 2), "--host", "web 1"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /expected <name>=<private address>\[:<admin port>\]/);
  });

  it("the proxy refuses a bad layout before starting HAProxy (exit 2)", async () => {
    const dir = tempStateDir();
    try {
      const run = await runOps([
        "proxy",
        "--state-dir",
        dir,
        "--proxy-port",
        String(ports().proxy),
        "--blue-port",
        String(ports().blue),
        "--green-port",
        String(ports().blue),
        "--admin-address",
        ADDRESSES[0],
      ]);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /--admin-address and --admin-port go together/);
      assert.equal(fs.existsSync(path.join(dir, "haproxy.cfg")), false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
