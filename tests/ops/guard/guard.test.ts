// The guard on a real HAProxy (the local proxy, as `activate` runs it): its figures come from the proxy's
// own access-log ring read through the runtime API socket, and requests end with HAProxy's real
// termination codes — a client that aborts mid-upload (-1 CD--) or mid-download (200 CD--), a server
// that resets (502 SH--), a 5xx.
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as dgram from "dgram";
import { EventEmitter } from "events";
import * as fs from "fs";
import * as http from "http";
import { ControlPlane } from "../../../ops/control";
import { GuardWatch, describeGuard, tellsAbout, watchGuard } from "../../../ops/guard";
import { RequestSample } from "../../../ops/guard/requests";
import { LOG_RING, ProxySpec, activate, proxyPaths, proxyUrl } from "../../../ops/proxy";
import { haproxyBinary, stopProxy } from "../../../ops/proxy/process";
import { freePortRange, tempStateDir } from "../support/release";
import { needService } from "../../support/service";

const thresholds = { errorRatePercent: 5, p95Ms: 2000, minRequests: 20 };

/** Tells an aborting client that its upload reached the app (so HAProxy logs it against a server). */
const uploadsReceived = new EventEmitter();

/** An app whose paths end the way the termination codes need: answers, errors, big bodies, uploads, resets. */
function startBackend(port: number): Promise<http.Server> {
  const chunk = Buffer.alloc(1 << 20, 97);
  const server = http.createServer((request, response) => {
    const url = request.url ?? "/";
    if (url === "/fail") return void response.writeHead(500).end("internal error\n");
    if (url.startsWith("/upload")) {
      uploadsReceived.emit(url);
      request.resume();
      return void request.on("end", () => response.end("stored\n"));
    }
    if (url === "/download") {
      response.writeHead(200, { "content-type": "application/octet-stream" });
      let sent = 0;
      const timer = setInterval(() => (++sent > 20 ? response.end() : response.write(chunk)), 50);
      return void response.on("close", () => clearInterval(timer));
    }
    if (url === "/reset") return void request.socket.destroy();
    request.resume();
    response.end("ok\n");
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

let uploads = 0;

/** An upload the client abandons once the app has it, mid-body: HAProxy logs it -1 CD-- (no answer was sent). */
function abortedUpload(url: string): Promise<void> {
  const path = `/upload-${++uploads}`;
  return new Promise((resolve) => {
    const request = http.request(`${url}${path.slice(1)}`, {
      method: "POST",
      agent: false,
      headers: { "content-length": "1000000" },
    });
    const abandon = () => setTimeout(() => request.destroy(), 20);
    uploadsReceived.once(path, abandon);
    request.on("error", () => resolve());
    request.on("close", () => {
      uploadsReceived.off(path, abandon);
      resolve();
    });
    request.write("x".repeat(1000));
  });
}

/** A download the client abandons once its head arrived, mid-body: HAProxy logs it 200 CD--. */
function abortedDownload(url: string): Promise<void> {
  return new Promise((resolve) => {
    const request = http.get(`${url}download`, { agent: false }, (response) => {
      response.pause();
      setTimeout(() => request.destroy(), 50);
    });
    request.on("error", () => resolve());
    request.on("close", () => resolve());
  });
}

async function get(url: string): Promise<number> {
  try {
    return (await fetch(url)).status;
  } catch {
    return -1;
  }
}

/** Socket inodes this process holds that listen on the network: UDP sockets, and TCP ones in LISTEN. */
function networkListeners(): string[] {
  const mine = new Set(
    fs
      .readdirSync("/proc/self/fd")
      .map((fd) => {
        try {
          return /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/self/fd/${fd}`))?.[1];
        } catch {
          return undefined;
        }
      })
      .filter((inode): inode is string => inode !== undefined),
  );
  const found: string[] = [];
  for (const [table, listening] of [
    ["udp", () => true],
    ["udp6", () => true],
    ["tcp", (state: string) => state === "0A"],
    ["tcp6", (state: string) => state === "0A"],
  ] as const) {
    for (const line of fs.readFileSync(`/proc/net/${table}`, "utf8").split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length > 9 && mine.has(fields[9]) && listening(fields[3]))
        found.push(`${table} ${fields[1]}`);
    }
  }
  return found;
}

describe("the guard reads the proxy's own access log (real HAProxy, its ring over the admin socket)", function () {
  this.timeout(60_000);
  let spec: ProxySpec;
  let backends: http.Server[] = [];
  let plane: ControlPlane;
  let front: string;

  before(async function () {
    await needService(this, "HAProxy", async () => {
      execFileSync(haproxyBinary(), ["-v"], { stdio: "pipe" });
    });
    const base = await freePortRange(3);
    spec = {
      stateDir: tempStateDir(),
      proxyPort: base,
      upstreamHost: "127.0.0.1",
      hostPorts: { blue: base + 1, green: base + 2 },
      replicas: 1,
      healthPath: "/",
      maintenanceMode: "off",
      checkIntervalMs: 200,
    };
    backends = await Promise.all([startBackend(base + 1), startBackend(base + 2)]);
    await activate(spec, "green");
    front = proxyUrl(spec);
    plane = ControlPlane.local(proxyPaths(spec.stateDir).socket, front);
  });

  after(async () => {
    if (spec) await stopProxy(proxyPaths(spec.stateDir));
    for (const server of backends) server.close();
  });

  it("logs HAProxy's real termination codes: client aborts -1 CD-- and 200 CD--, a server reset 502 SH--, a 500; only the client's are left out", async () => {
    const lines: string[] = [];
    const [stream] = await plane.events(LOG_RING, (_host, line) => lines.push(line));
    const watch = await GuardWatch.open(plane, "green");
    try {
      await Promise.all([
        abortedUpload(front),
        abortedDownload(front),
        get(`${front}reset`),
        get(`${front}fail`),
        get(`${front}`),
      ]);
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      stream.close();
      watch.close();
    }
    const logged = (status: string, termination: string, method = "GET") =>
      lines.filter((line) => {
        const words = line.split(" ");
        // %tsc's last two letters are the sticky cookie's (sent, inserted): the guard reads the first two.
        return words[1] === status && words[4].slice(0, 2) === termination.slice(0, 2) && words[5] === method;
      }).length;
    const all = lines.join(" | ");
    assert.equal(logged("-1", "CD--", "POST"), 1, `client left mid-upload, no answer sent: ${all}`);
    assert.equal(logged("200", "CD--"), 1, `client left mid-download: ${all}`);
    assert.equal(logged("502", "SH--"), 1, `server reset before its head: ${all}`);
    assert.equal(logged("500", "----"), 1, all);
    assert.equal(logged("200", "----"), 1, all);
    // The guard's count of the same requests: the two client aborts left out, the reset and the 500 failed.
    const summary = watch.tally.summary();
    assert.equal(summary.requests, 3);
    assert.equal(summary.failures, 2);
    assert.deepEqual(summary.byStatus, { "200": 1, "500": 1, "502": 1 });
  });

  it("aborted client requests do not breach a healthy color; server errors still do", async () => {
    const watch = await GuardWatch.open(plane, "green");
    try {
      const judging = watchGuard({ watch, durationSeconds: 3, thresholds, judgeEveryMs: 100 });
      // Before the fix, 20 aborted uploads (-1 CD--: the default minRequests, 5 %) reverted a good release.
      await Promise.all(Array.from({ length: 40 }, () => abortedUpload(front)));
      for (let index = 0; index < 60; index++) assert.equal(await get(front), 200);
      const report = await judging;
      assert.equal(report.verdict, "healthy", describeGuard(report));
      assert.equal(report.summary.requests, 60);
      assert.equal(report.summary.failures, 0);
      assert.equal(report.clientAborts, 40, "left out, and reported");
    } finally {
      watch.close();
    }
    const failing = await GuardWatch.open(plane, "green");
    try {
      const judging = watchGuard({ watch: failing, durationSeconds: 10, thresholds, judgeEveryMs: 100 });
      await Promise.all(Array.from({ length: 40 }, () => abortedUpload(front)));
      for (let index = 0; index < 30; index++) await get(`${front}${index % 5 === 0 ? "fail" : ""}`);
      const report = await judging;
      assert.equal(report.verdict, "breach");
      assert.match((report.reasons ?? []).join(), /error rate [\d.]+ % \(\d+ of \d+\) is above 5 %/);
      assert.equal(
        report.summary.failures,
        report.summary.byStatus["500"],
        "the 500s, not the aborted uploads",
      );
    } finally {
      failing.close();
    }
  });

  it("listens on nothing: forged access-log datagrams, thousands of them, change no count and no verdict", async () => {
    const listenersBefore = networkListeners();
    const watch = await GuardWatch.open(plane, "green");
    const socket = dgram.createSocket("udp4");
    try {
      assert.deepEqual(
        networkListeners(),
        listenersBefore,
        "the guard opens no UDP socket and no listening TCP socket",
      );
      const judging = watchGuard({ watch, durationSeconds: 2, thresholds, judgeEveryMs: 100 });
      // What the old guard accepted from anyone: GL lines on the log port (5140, or the proxy's port).
      const forged = Buffer.from("GL 500 1 green-0 ---- GET\n".repeat(40));
      for (let round = 0; round < 250; round++)
        for (const port of [5140, spec.proxyPort]) socket.send(forged, port, "127.0.0.1", () => undefined);
      for (let index = 0; index < 30; index++) assert.equal(await get(front), 200);
      const report = await judging;
      assert.equal(report.verdict, "healthy", describeGuard(report));
      assert.equal(report.summary.requests, 30, "only the proxy's own lines count");
      assert.equal(report.summary.failures, 0);
    } finally {
      socket.close();
      watch.close();
    }
  });

  it("counts every request of a flood from the ring, in its fixed-size tally", async () => {
    const watch = await GuardWatch.open(plane, "green");
    try {
      // Lines of earlier tests HAProxy had not yet written to its ring may still arrive (a busy machine):
      // count from the moment the watch has been quiet for half a second.
      for (let last = -1; last !== watch.linesRead;) {
        last = watch.linesRead;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      const before = watch.tally.summary().requests;
      const linesBefore = watch.linesRead;
      const clients = Array.from({ length: 8 }, async () => {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        for (let index = 0; index < 500; index++)
          await new Promise<void>((resolve, reject) =>
            http
              .get(front, { agent }, (response) => response.resume().on("end", () => resolve()))
              .on("error", reject),
          );
        agent.destroy();
      });
      await Promise.all(clients);
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(
        watch.tally.summary().requests - before,
        4000,
        "no line lost between the ring and the guard",
      );
      assert.equal(watch.linesRead - linesBefore, 4000);
    } finally {
      watch.close();
    }
  });

  it("judges only the new color's requests and those no server took, not the old color's, maintenance answers or client aborts", () => {
    const sample = (server: string, termination = "----"): RequestSample => ({
      status: 503,
      totalMs: 1,
      server,
      termination,
      method: "GET",
    });
    const kept = [
      sample("green-1"),
      sample("blue-0"),
      sample("<NOSRV>", "SC--"),
      sample("<NOSRV>", "PR--"),
      sample("green-0", "CD--"),
      sample("green-0", "cH--"),
    ].filter((entry) => tellsAbout(entry, "green"));
    assert.deepEqual(
      kept.map((entry) => `${entry.server} ${entry.termination}`),
      ["green-1 ----", "<NOSRV> SC--"],
    );
  });

  it("refuses to watch when the proxy does not answer, so a switch never runs unwatched", async () => {
    const gone = ControlPlane.local("/nonexistent/haproxy.sock", front);
    await assert.rejects(
      GuardWatch.open(gone, "green"),
      /cannot read the access log of host local: .*ENOENT/,
    );
  });
});
