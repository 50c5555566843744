// The proxy command and the all-or-nothing move across proxies, on real HAProxy processes on this
// machine: three `greenlight-ops proxy` processes, one per loopback address 127.0.0.2-4, in front of
// small HTTP backends, each driven through its own relay process (`greenlight-ops relay`, the control
// channel the coordinator runs over SSH; the container and SSH layers are in tests/hosts).
import { strict as assert } from "assert";
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { RelayChannel } from "../../../ops/control";
import { moveFleet, ProxyTarget, revertFleet } from "../../../ops/proxy/fleet";
import { previewFleet } from "../../../ops/proxy/preview";
import { proxyPaths } from "../../../ops/proxy/config";
import { haproxyBinary } from "../../../ops/proxy/process";
import { admission, parseServersState, setServerState, showServersState } from "../../../ops/proxy/runtime";
import { needService } from "../../support/service";
import { CliProcess, spawnOps, spawnRelay } from "../support/cli";
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

/** `promise`, or an error naming `what` (and `detail()`) when it has not settled within `ms`. */
async function within<T>(what: string, ms: number, promise: Promise<T>, detail?: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not end within ${ms} ms${detail ? `\n${detail()}` : ""}`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe("proxies on several addresses: the proxy command and the all-or-nothing move", function () {
  this.timeout(120_000);
  let base: number;
  const ports = () => ({ proxy: base, blue: base + 3, green: base + 4 });
  let stateDirs: string[] = [];
  let proxies: CliProcess[] = [];
  let backends: Backend[] = [];
  let relays: RelayChannel[] = [];
  const targets = (): ProxyTarget[] => relays.map((relay) => ({ name: relay.host, admin: relay }));

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
  /** Stops one proxy process (SIGTERM, unless it ended already) and waits for its exit. */
  const stopProxy = async (index: number) => {
    const proxy = proxies[index];
    if (proxy.pid && !proxy.ended()) process.kill(proxy.pid, "SIGTERM");
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
    relays = await Promise.all(stateDirs.map((dir, index) => spawnRelay(`h${index + 2}`, dir)));
    for (const index of ADDRESSES.keys()) {
      await waitFor(`proxy ${index} serves blue`, async () => (await get(index)).startsWith("200 blue"));
      await waitFor(
        `proxy ${index} checks green in drain`,
        async () => (await serving(index)) === "blue-0:ready green-0:drain",
      );
    }
  });

  afterEach(async () => {
    // Each step is bounded and named: a step that does not end fails the hook saying which it was.
    await within("closing the relays", 10_000, Promise.all(relays.map((relay) => relay.close())));
    // HAProxy's soft stop ends by hard-stop-after (30 s); spawnOps then ends the call, group and all.
    await within(
      "stopping the proxies",
      45_000,
      Promise.all(proxies.map((_, index) => stopProxy(index))),
      () => proxies.map((proxy, index) => `proxy ${index}: ${proxy.stderrSoFar().slice(-400)}`).join("\n"),
    );
    for (const backend of backends) {
      backend.server.closeAllConnections();
      await within(
        `closing the backend on ${JSON.stringify(backend.server.address())}`,
        10_000,
        new Promise((resolve) => backend.server.close(resolve)),
      );
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
      /listens on 127\.0\.0\.3:\d+ with green serving; runtime API on \/\S+\/haproxy\.sock/,
    );
  });

  it("a restarted proxy keeps its preview front: the previewed color answers there again, with no new preview", async () => {
    const previewPort = ports().proxy + 1;
    const previewArgs = ["--preview-port", String(previewPort), "--preview-address", ADDRESSES[1]];
    const preview = async () => {
      const response = await fetch(`http://${ADDRESSES[1]}:${previewPort}/`);
      return `${response.status} ${await response.text()}`;
    };
    await stopProxy(1);
    startProxy(1, previewArgs);
    await waitFor("the proxy with a preview front serves blue", async () =>
      (await get(1)).startsWith("200 blue"),
    );
    await greenSeen(1, 2);
    assert.match(await preview(), /^503 /, "nothing previewed yet");
    await previewFleet([targets()[1]], "green", { checkIntervalMs: 200 });
    assert.equal(await preview(), `200 green ${ADDRESSES[1]}`);
    const stateFile = proxyPaths(stateDirs[1]).stateFile;
    await waitFor("the state file holds the preview front's color", async () =>
      parseServersState(fs.readFileSync(stateFile, "utf8")).some(
        (state) => state.backend === "preview" && state.name === "green-0" && admission(state) === "ready",
      ),
    );
    const stopped = await stopProxy(1);
    assert.equal(stopped.code, 0, stopped.stderr);
    startProxy(1, previewArgs);
    await waitFor("the restarted proxy answers", async () => (await get(1)).startsWith("200"));
    assert.equal(await get(1), `200 blue ${ADDRESSES[1]}`, "users stay on blue");
    await waitFor(
      "the restarted preview front answers",
      async () => (await preview()).startsWith("200"),
      5000,
    );
    const answers = new Set<string>();
    for (let request = 0; request < 10; request++) answers.add(await preview());
    assert.deepEqual([...answers], [`200 green ${ADDRESSES[1]}`]);
    assert.equal(await serving(1), "blue-0:ready green-0:drain");
  });

  it("one proxy unreachable: nothing moves on any host, and the failure names it", async () => {
    await stopProxy(2);
    await assert.rejects(moveFleet(targets(), "green", { checkIntervalMs: 200 }), (error: Error) => {
      assert.match(
        error.message,
        /^cannot reach the proxy of h4; no traffic moved on any host: host h4: HAProxy admin socket \/\S+\/haproxy\.sock: connect (ENOENT|ECONNREFUSED)/,
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
    assert.match(
      failures[0],
      /^host h4: HAProxy admin socket \/\S+\/haproxy\.sock: connect (ENOENT|ECONNREFUSED)/,
    );
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
    // h4's HAProxy answers reads but refuses changes on the socket its relay uses (runtime API at
    // operator level): it passes the checks before the move, then fails the move itself.
    await stopProxy(2);
    const paths = proxyPaths(stateDirs[2]);
    const spare = `${stateDirs[2]}/spare.sock`;
    const config = fs
      .readFileSync(paths.config, "utf8")
      .replace(
        `${paths.socket} mode 600 level admin`,
        `${paths.socket} mode 600 level operator\n  stats socket ${spare} mode 600 level admin`,
      );
    fs.writeFileSync(paths.config, config);
    const haproxy = spawn(haproxyBinary(), ["-W", "-db", "-f", paths.config], { stdio: "ignore" });
    try {
      await waitFor("h4 serves blue again", async () => (await get(2)).startsWith("200 blue"));
      await setServerState(spare, "green-0", "drain");
      await greenSeen(2, 2);
      await assert.rejects(moveFleet(targets(), "green", { checkIntervalMs: 200 }), (error: Error) => {
        assert.match(
          error.message,
          /^switch to green failed on h4; every host is back on its previous servers: host h4: HAProxy refused "set server app\/green-0 (weight 100%|state ready)": Permission denied/,
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

  it("switch-hosts refuses bad host options before connecting anywhere (exit 2)", async () => {
    const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPad3uJpYFrNrv8WLr9npEuUv85mDbiISbJy0C/t3T5P";
    const flags = [
      "--color",
      "green",
      "--release",
      "v2",
      "--container",
      "greenlight-proxy-shop-hosts",
      "--proxy-port",
      String(ports().proxy),
    ];
    const env = { GREENLIGHT_SSH_PRIVATE_KEY: "unused" };
    const cases: [string[], RegExp][] = [
      [
        ["--host", "h2=root@127.0.0.2:2222", "--host", "h2=root@127.0.0.3:2222", "--host-key", `h2=${key}`],
        /host h2 is given twice/,
      ],
      [["--host", "web 1", "--host-key", `h2=${key}`], /expected <name>=<user>@<address>\[:<ssh port>\]/],
      [["--host", "h2=root@127.0.0.2:2222"], /required option '--host-key/],
      [
        ["--host", "h2=root@127.0.0.2:2222", "--host-key", "h2=ssh-rsa AAAAB3NzaC1yc2E"],
        /expected <name>=<type> <base64>/,
      ],
      [
        ["--host", "h2=root@127.0.0.2:2222", "--host", "h3=root@127.0.0.3:2222", "--host-key", `h2=${key}`],
        /host h3 needs exactly one --host-key \(got 0\)/,
      ],
    ];
    for (const [hosts, message] of cases) {
      const run = await runOps(["switch-hosts", ...flags, ...hosts], env);
      assert.equal(run.code, 2, `${hosts.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, message);
    }
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
      ]);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /servers blue-0 and green-0 both use 127\.0\.0\.1:\d+/);
      assert.equal(fs.existsSync(path.join(dir, "haproxy.cfg")), false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
