// The control plane from an attacker's side, on three simulated hosts (scripts/sim-hosts.sh) running the
// proxy containers as the program runs them: from a container on a host, no proxy's admin API answers
// anywhere; forged and flooding access-log datagrams, and clients that abandon their requests, change no
// verdict of the guard while its memory stays bounded, and a release answering 5xx is still reverted; a
// host presenting another SSH key gets nothing (no login, no environment, no move).
import { strict as assert } from "assert";
import * as fs from "fs";
import { parseHostKey } from "../../contract/host-key";
import { fingerprint } from "../../ops/control/ssh";
import { shellQuote } from "../../contract/shell";
import { PROXY_STATE_DIR } from "../../ops/hosts/remote";
import { admission, showServersState } from "../../ops/proxy/runtime";
import { ControlPlane, SocketChannel } from "../../ops/control";
import { freePort } from "../support/ports";
import { Fleet, startThreeHostFleet } from "../hosts/support";
import { startLoad, waitUntil } from "../ops/support/load";
import { SimHosts } from "../support/hosts";

/** Waits until an asynchronous check holds. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** What a container on a host may run: node, reading /proc and speaking TCP and UDP. */
function nodeIn(image: string, script: string): string {
  return `docker run --rm --network host --entrypoint /usr/local/bin/node ${image} -e ${shellQuote(script)}`;
}

describe("the control plane, seen by an attacker on the simulated hosts", function () {
  this.timeout(300_000);
  let sim: SimHosts;
  let fleet: Fleet;
  let images: Record<string, string>;

  before(async function () {
    this.timeout(1_200_000);
    // / and POST / need no database: the guard judges answers, not readiness.
    ({ sim, fleet, images } = await startThreeHostFleet(this));
  });

  after(() => sim?.stop());

  it("no admin API answers from a container on a host: every proxy listens only on its front, its runtime API a mode-600 UNIX socket", async () => {
    // What each host's HAProxy listens on, seen from this machine as root: the processes under the
    // proxy container's init, their socket inodes, and which of those /proc/net lists as listening.
    const socketOf = `
      const s = require("fs").statSync("${PROXY_STATE_DIR}/haproxy.sock");
      console.log(JSON.stringify({ mode: (s.mode & 0o777).toString(8), uid: s.uid, socket: s.isSocket() }));`;
    for (const host of fleet.hosts) {
      const init = Number(
        sim.docker(host, ["inspect", "--format", "{{.State.Pid}}", fleet.proxyContainer]).trim(),
      );
      assert.deepEqual(
        haproxyListeners(init),
        [`tcp ${host.address}:${fleet.ports.proxy}`],
        `${host.name}: the front only`,
      );
      const run = await sim.ssh(
        host,
        `docker exec ${fleet.proxyContainer} /usr/local/bin/node -e ${shellQuote(socketOf)}`,
      );
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(
        run.json[0],
        { mode: "600", uid: 0, socket: true },
        `${host.name}: a mode-600 UNIX socket`,
      );
    }
    // From a container on h2 sharing the host's network (the worst case): every port anything listens
    // on at any host's address, and the old admin port, asked what HAProxy's runtime API would answer.
    // Every port a process of a simulated host (its dockerd, containers and sshd) listens on, the old
    // admin port beside; other work on this shared machine may listen on the same loopback addresses.
    const targets = fleet.hosts.flatMap((host) => {
      const hostDir = `${sim.dir}/h${host.number}`;
      // Its sshd, and every container it runs (containerd's shims leave dockerd's process tree).
      const containers = sim.docker(host, ["ps", "-q"]).trim().split(/\s+/).filter(Boolean);
      const roots = [
        Number(fs.readFileSync(`${hostDir}/sshd.pid`, "utf8")),
        ...containers.map((id) =>
          Number(sim.docker(host, ["inspect", "--format", "{{.State.Pid}}", id]).trim()),
        ),
      ];
      return [
        `${host.address}:9999`,
        ...roots
          .flatMap((root) => haproxyListeners(root, false))
          .filter((socket) => socket.startsWith(`tcp ${host.address}:`))
          .map((socket) => socket.slice(4)),
      ];
    });
    assert.ok(
      targets.length >= fleet.hosts.length * 5,
      `front, replicas, sshd and the old admin port: ${targets}`,
    );
    const probe = `
      const fs = require("fs"), net = require("net");
      const hosts = ${JSON.stringify(fleet.hosts.map((host) => host.address))};
      const hex = (a) => a.split(".").reverse().map((n) => Number(n).toString(16).padStart(2, "0")).join("").toUpperCase();
      const targets = new Set(${JSON.stringify(targets)});
      const ask = (target) => new Promise((resolve) => {
        const [host, port] = target.split(":");
        const s = net.createConnection({ host, port: Number(port) });
        let answer = "";
        s.on("connect", () => s.write("show info\\nshow servers state\\n"));
        s.on("data", (d) => (answer += d));
        s.on("error", (e) => resolve({ target, error: e.code }));
        s.on("close", () => resolve({ target, answer: answer.slice(0, 200) }));
        setTimeout(() => s.destroy(), 2000);
      });
      Promise.all([...targets].map(ask)).then((answers) => console.log(JSON.stringify(answers)));`;
    const run = await sim.ssh(fleet.hosts[0], nodeIn(images.v1, probe));
    assert.equal(run.code, 0, run.stderr);
    const answers = JSON.parse(run.stdout.trim().split("\n").pop() ?? "[]") as {
      target: string;
      answer?: string;
      error?: string;
    }[];
    for (const host of fleet.hosts) {
      const front = answers.find((entry) => entry.target === `${host.address}:${fleet.ports.proxy}`);
      assert.match(
        String(front?.answer),
        /^HTTP\/1\.1 400/,
        `${host.name}'s front is reached, and answers HTTP only`,
      );
      assert.equal(answers.find((entry) => entry.target === `${host.address}:9999`)?.error, "ECONNREFUSED");
    }
    const admin = answers.filter((entry) => /Name: HAProxy|# be_id|Unknown command/.test(entry.answer ?? ""));
    assert.deepEqual(admin, [], "no runtime API answered");
  });

  it("the coordinator reaches each proxy's admin socket through sshd, with no process started on a host; an app container on the host cannot reach that socket", async () => {
    const hosts = fleet.hosts.map((host) => ({
      name: host.name,
      address: host.address,
      port: host.sshPort,
      user: "root",
      hostKey: sim.hostKey(host),
    }));
    // Not told where the socket is: each host's Docker is asked, and answers the state volume's place.
    const plane = await ControlPlane.open(hosts, {
      container: fleet.proxyContainer,
      auth: { privateKey: sim.privateKey() },
      via: "auto",
    });
    try {
      assert.deepEqual(
        plane.opened.map((opened) => [opened.host, opened.via, opened.socketRefused]),
        fleet.hosts.map((host) => [host.name, "socket", undefined]),
      );
      assert.deepEqual(
        plane.channels.map((channel) => (channel as SocketChannel).socketPath),
        fleet.hosts.map((host) => fleet.adminSocket(host)),
      );
      for (const info of await plane.all("show info")) assert.match(info, /^Name: HAProxy/m);
      // Nothing runs in the proxy containers for it: no relay, no docker exec.
      for (const host of fleet.hosts) {
        const top = await sim.ssh(host, `docker top ${fleet.proxyContainer} -eo args`);
        assert.ok(!/relay-main/.test(top.stdout), `${host.name}: ${top.stdout}`);
      }
      // The warm-up's requests through each front start the relay then, and only then.
      const warm = await plane.channels[0].get("/health", 10_000);
      assert.equal(warm.status, 200, JSON.stringify(warm));
    } finally {
      await plane.close();
    }
    // On each host the socket is root's, mode 600, in Docker's data root.
    for (const host of fleet.hosts) {
      const socket = fs.statSync(fleet.adminSocket(host));
      assert.ok(socket.isSocket(), `${host.name}: a UNIX socket`);
      assert.equal(socket.mode & 0o777, 0o600, `${host.name}: mode 600`);
      assert.equal(socket.uid, 0, `${host.name}: root's`);
    }
    // An app container on h2 sharing the host's network tries every host's socket, by its host path
    // and by the path inside the proxy container: none is there to connect to.
    const paths = [...fleet.hosts.map((host) => fleet.adminSocket(host)), `${PROXY_STATE_DIR}/haproxy.sock`];
    const probe = `
      const net = require("net");
      const ask = (path) => new Promise((resolve) => {
        const s = net.createConnection({ path });
        let answer = "";
        s.on("connect", () => s.write("show info\\n"));
        s.on("data", (d) => (answer += d));
        s.on("error", (e) => resolve({ path, error: e.code }));
        s.on("close", () => resolve({ path, answer: answer.slice(0, 200) }));
        setTimeout(() => s.destroy(), 2000);
      });
      Promise.all(${JSON.stringify(paths)}.map(ask)).then((answers) => console.log(JSON.stringify(answers)));`;
    const run = await sim.ssh(fleet.hosts[0], nodeIn(images.v1, probe));
    assert.equal(run.code, 0, run.stderr);
    const answers = JSON.parse(run.stdout.trim().split("\n").pop() ?? "[]") as {
      path: string;
      error?: string;
    }[];
    assert.deepEqual(
      answers.map((answer) => [answer.path, answer.error]),
      paths.map((path) => [path, "ENOENT"]),
      run.stdout,
    );
  });

  it("where sshd refuses to forward sockets (AllowStreamLocalForwarding no), the relay serves instead, and saying so", async () => {
    const host = fleet.hosts[0];
    const port = await freePort();
    const variant = await sim.startSshdVariant(host, port, ["AllowStreamLocalForwarding no"]);
    try {
      const target = {
        name: host.name,
        address: host.address,
        port,
        user: "root",
        hostKey: sim.hostKey(host),
        adminSocket: fleet.adminSocket(host),
      };
      const options = { container: fleet.proxyContainer, auth: { privateKey: sim.privateKey() } };
      const plane = await ControlPlane.open([target], options);
      try {
        assert.equal(plane.opened[0].via, "relay");
        // OpenSSH refuses the channel ("open failed"); the report carries sshd's answer.
        assert.match(String(plane.opened[0].socketRefused), /Channel open failure/);
        assert.match((await plane.all("show info"))[0], /^Name: HAProxy/m);
      } finally {
        await plane.close();
      }
      assert.ok(
        variant.log().some((line) => /streamlocal/i.test(line)),
        `sshd saw the forward and refused it: ${variant.log().join(" | ")}`,
      );
      // Asked for the socket only, the coordinator fails naming the host, having moved nothing.
      await assert.rejects(ControlPlane.open([target], { ...options, via: "socket" }), (error: Error) => {
        assert.match(
          error.message,
          new RegExp(
            `^cannot reach the proxy of ${host.name} over SSH; nothing was done on any host: .*Channel open failure`,
          ),
        );
        return true;
      });
    } finally {
      variant.stop();
    }
  });

  it("forged and flooding datagrams and abandoned requests under load leave a healthy release in place, in bounded memory; a release answering 5xx is still reverted", async () => {
    const loads = fleet.hosts.map((host) =>
      startLoad({ url: fleet.frontUrl(host), clients: 4, maxRequests: 2_000_000, maxMs: 240_000 }),
    );
    // A host-network container on h3 floods forged access-log lines at every host: the old UDP log port,
    // the proxies' port, and the old admin port, as fast as it can.
    const flood = `
      const dgram = require("dgram");
      const s = dgram.createSocket("udp4");
      const line = Buffer.from("GL 500 1 green-0 ---- GET\\n".repeat(40));
      const targets = ${JSON.stringify(fleet.hosts.flatMap((host) => [5140, fleet.ports.proxy, 9999].map((port) => [host.address, port])))};
      let sent = 0;
      const end = Date.now() + 40000;
      const burst = () => { for (let i = 0; i < 200; i++) for (const [h, p] of targets) { s.send(line, p, h); sent++; } if (Date.now() < end) setImmediate(burst); else s.close(() => console.log(JSON.stringify({ sent }))); };
      burst();`;
    const flooding = sim.ssh(fleet.hosts[1], nodeIn(images.v1, flood));
    // Clients that abandon their uploads midway: HAProxy logs each "-1 … CD--".
    let aborting = true;
    const abandoned = Array.from({ length: 8 }, async () => {
      let count = 0;
      while (aborting) {
        for (const host of fleet.hosts) {
          await abandonUpload(fleet.frontUrl(host));
          count += 1;
        }
      }
      return count;
    });
    try {
      await waitUntil(
        "v1 answers on every front",
        () => loads.every((load) => load.served("v1") >= 200),
        60_000,
      );
      const healthy = await fleet.switch("green", "v2", {
        "guard-seconds": 15,
        "guard-min-requests": 50,
        "guard-error-rate": 1,
      });
      assert.equal(healthy.code, 0, healthy.stderr);
      const report = healthy.json[0] as {
        peakRssMb: number;
        guard: { verdict: string; clientAborts: number; summary: { requests: number; failures: number } };
      };
      assert.equal(report.guard.verdict, "healthy");
      assert.equal(report.guard.summary.failures, 0, "not one forged 500 counted");
      // What the old guard would have made of the abandoned uploads: failures above the 1 % threshold.
      // (How many abandon per request served depends on the machine's load: 2.8 % calm, 4.3 % at a load of 6.)
      const oldRate = report.guard.clientAborts / (report.guard.summary.requests + report.guard.clientAborts);
      assert.ok(
        oldRate > 0.01,
        `abandoned ${report.guard.clientAborts} of ${report.guard.summary.requests}: would have reverted`,
      );
      assert.ok(
        report.peakRssMb > 0 && report.peakRssMb < 200,
        `the coordinator's peak memory ${report.peakRssMb} MB after ${report.guard.summary.requests} requests`,
      );
      console.log(
        `      guard: ${report.guard.summary.requests} requests judged, ${report.guard.clientAborts} abandoned left out; coordinator peak RSS ${report.peakRssMb} MB`,
      );

      await fleet.startColor("blue", "v1", images.v1);
      await fleet.startColor("green", "v4", images.v4);
      // The restarted colors come back UP in HAProxy's own checks after a few intervals; the coordinator
      // now reaches every proxy sooner than that, and rightly refuses a color its proxy sees DOWN.
      for (const host of fleet.hosts)
        await until(
          `${host.name}'s proxy sees every checked server up`,
          async () =>
            (await showServersState(fleet.adminSocket(host))).every(
              (state) => admission(state) === "maint" || state.operationalState === 2,
            ),
          30_000,
        );
      const back = await fleet.switch("blue", "v1");
      assert.equal(back.code, 0, back.stderr);
      const failing = await fleet.switch("green", "v4", {
        "guard-seconds": 30,
        "guard-min-requests": 150,
        "guard-error-rate": 5,
      });
      assert.equal(failing.code, 1, failing.stderr);
      assert.match(
        failing.stderr,
        /guard reverted traffic to blue on 3 hosts: error rate [\d.]+ % \(\d+ of \d+\) is above 5 %/,
      );
      for (const host of fleet.hosts)
        await until(
          `${host.name} is back on v1`,
          async () => /^release v1 /.test((await fleet.get(host)).body),
          10_000,
        );
    } finally {
      aborting = false;
      await Promise.all(abandoned);
      await Promise.all(loads.map((load) => load.stop()));
      const flooded = await flooding;
      assert.equal(flooded.code, 0, flooded.stderr);
      assert.ok(Number(flooded.json[0]?.sent) > 10_000, `forged datagrams sent: ${flooded.stdout}`);
    }
  });

  it("a host presenting another SSH key gets nothing: no login, no environment, no relay, and no host moves", async () => {
    // Blue v1 live on every host to begin with, whatever the test before left.
    const bodies = await Promise.all(fleet.hosts.map(async (host) => (await fleet.get(host)).body));
    if (!bodies.every((body) => /^release v1 \(blue\)/.test(body))) {
      await fleet.startColor("blue", "v1", images.v1);
      const back = await fleet.switch("blue", "v1");
      assert.equal(back.code, 0, back.stderr);
    }
    await fleet.startColor("green", "v2", images.v2);
    const target = fleet.hosts[1];
    const impostor = await sim.startImpostor(target);
    try {
      const switched = await fleet.switch(
        "green",
        "v2",
        {},
        { GREENLIGHT_WEBHOOK_URL: "http://127.0.0.1:9/secret-hook" },
      );
      assert.equal(switched.code, 1, switched.stderr);
      const expected = fingerprint(parseHostKey(sim.hostKey(target)).blob);
      const presented = fingerprint(parseHostKey(impostor.hostKey).blob);
      assert.ok(
        switched.stderr.includes(
          `cannot reach the proxy of ${target.name} over SSH; nothing was done on any host: host ${target.name}: host ${target.name} (${target.address}:${target.sshPort}) presented the SSH host key ${presented}, not the pinned ${expected}`,
        ),
        switched.stderr,
      );
      // A remote step (remote.Command pins the key the same way; here OpenSSH with the pinned known_hosts).
      const gate = await fleet.gate(target, "green", "v2", { PGPASSWORD: "not-for-an-impostor" });
      assert.equal(gate.code, 255);
      assert.match(gate.stderr, /Host key verification failed/);
      const log = impostor.log();
      assert.ok(
        log.lines.some((line) => /Connection from /.test(line)),
        "the impostor was reached",
      );
      assert.equal(log.authenticated, false, log.lines.join("\n"));
      assert.ok(
        !log.lines.some((line) => /channel_req|Setting env|streamlocal|channel_open/i.test(line)),
        "no session, no environment, no forwarded socket",
      );
    } finally {
      impostor.stop();
    }
    for (const host of fleet.hosts)
      assert.match((await fleet.get(host)).body, /^release v1 \(blue\)/, `${host.name} did not move`);
  });
});

/** Process ids under `root` (its descendants and itself), from /proc. */
function processTree(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of fs.readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // The process ended meanwhile.
    }
  }
  const tree = [root];
  for (let index = 0; index < tree.length; index++)
    for (const [pid, parent] of parents) if (parent === tree[index]) tree.push(pid);
  return tree;
}

/** The TCP sockets listening and the UDP sockets held by the processes under `root` (HAProxy's only, by default). */
function haproxyListeners(root: number, onlyHaproxy = true): string[] {
  const inodes = new Set<string>();
  for (const pid of processTree(root)) {
    let command = "";
    try {
      command = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0];
    } catch {
      continue;
    }
    if (onlyHaproxy && !command.endsWith("haproxy")) continue;
    for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
      const match = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]);
    }
  }
  assert.ok(inodes.size > 0, `no socket found under pid ${root}`);
  const address = (hex: string) => {
    const [ip, port] = hex.split(":");
    return `${[3, 2, 1, 0].map((at) => parseInt(ip.slice(at * 2, at * 2 + 2), 16)).join(".")}:${parseInt(port, 16)}`;
  };
  const found: string[] = [];
  for (const table of ["tcp", "udp", "tcp6", "udp6"]) {
    for (const line of fs.readFileSync(`/proc/${root}/net/${table}`, "utf8").split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length > 9 && inodes.has(fields[9]) && (table.startsWith("udp") || fields[3] === "0A"))
        found.push(`${table} ${table.endsWith("6") ? fields[1] : address(fields[1])}`);
    }
  }
  return found.sort();
}

/** An upload abandoned after its first kilobyte: HAProxy logs it -1 CD--. */
async function abandonUpload(front: string): Promise<void> {
  const http = await import("http");
  await new Promise<void>((resolve) => {
    const request = http.request(front, {
      method: "POST",
      agent: false,
      headers: { "content-length": "100000" },
    });
    request.on("error", () => resolve());
    request.on("close", () => resolve());
    request.write("x".repeat(1000));
    setTimeout(() => request.destroy(), 60);
  });
}
