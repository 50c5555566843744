import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import { proxyPaths } from "../../../ops/proxy/config";
import { haproxyBinary, stopProxy } from "../../../ops/proxy/process";
import { showServersState, parseServersState, admission } from "../../../ops/proxy/runtime";
import { buildSampleImage } from "../../fixtures/app/build";
import { ensureDocker, removeContainers } from "../../support/docker";
import { PgCluster, startPostgres } from "../../support/postgres";
import { needService } from "../../support/service";
import { startLoad, waitUntil } from "../support/load";
import {
  ColorRun,
  freePortRange,
  proxyFlags,
  runOps,
  startColor,
  startWebhook,
  tempStateDir,
  WebhookReceiver,
} from "../support/release";

const GATE_FLAGS = ["--interval", "1", "--timeout", "2", "--attempts", "2", "--deadline", "15"];

describe("blue/green release on real Docker, HAProxy and the sample app", function () {
  this.timeout(240_000);
  let pg: PgCluster;
  let databaseUrl: string;
  const images: Record<string, string> = {};
  let stateDir: string;
  let proxyPort: number;
  let bluePort: number;
  let greenPort: number;
  let colors: ColorRun[] = [];
  let webhooks: WebhookReceiver[] = [];
  const prefix = `gl-switch-${process.pid}`;

  before(async function () {
    await needService(this, "Docker", ensureDocker);
    await needService(this, "HAProxy", async () => {
      execFileSync(haproxyBinary(), ["-v"], { stdio: "pipe" });
    });
    pg = await needService(this, "PostgreSQL 15", startPostgres);
    await pg.query("CREATE DATABASE shop");
    databaseUrl = pg.url("shop");
    for (const name of ["v1", "v2", "v3", "v4"]) images[name] = buildSampleImage(name).ref;
    // The migration is the data-safety layer's step; here the schema simply carries version 2.
    execFileSync(
      "docker",
      ["run", "--rm", "--network", "host", "-e", `DATABASE_URL=${databaseUrl}`, images.v2, "/app/migrate.js"],
      { stdio: "pipe", timeout: 60_000 },
    );
  });

  after(async () => {
    await pg?.stop();
  });

  beforeEach(async () => {
    stateDir = tempStateDir();
    const base = await freePortRange(5);
    proxyPort = base;
    bluePort = base + 1;
    greenPort = base + 3;
    colors = [];
    webhooks = [];
  });

  afterEach(async () => {
    await stopProxy(proxyPaths(stateDir));
    removeContainers(...colors.flatMap((run) => run.containers));
    for (const webhook of webhooks) await webhook.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  const flags = (replicas = 1) => proxyFlags({ stateDir, proxyPort, bluePort, greenPort, replicas });
  const color = async (which: "blue" | "green", release: string, replicas = 1) => {
    const run = await startColor({
      prefix,
      color: which,
      release,
      image: images[release],
      port: which === "blue" ? bluePort : greenPort,
      replicas,
      databaseUrl,
    });
    colors.push(run);
    return run;
  };
  const gate = (which: "blue" | "green", release: string, env: Record<string, string> = {}) =>
    runOps(
      [
        "health-gate",
        "--color",
        which,
        "--release",
        release,
        "--port",
        String(which === "blue" ? bluePort : greenPort),
        ...GATE_FLAGS,
      ],
      env,
    );
  const switchTo = (
    which: "blue" | "green",
    release: string,
    extra: string[] = [],
    env: Record<string, string> = {},
  ) => runOps(["switch", "--color", which, "--release", release, ...flags(), ...extra], env);
  const webhook = async (answer: "ok" | "hang" = "ok") => {
    const receiver = await startWebhook({ answer });
    webhooks.push(receiver);
    return receiver;
  };
  const get = async (requestPath = "/") => {
    const response = await fetch(`http://127.0.0.1:${proxyPort}${requestPath}`);
    return { status: response.status, body: await response.text() };
  };

  it("blue v1 serves; v2 on green passes the gate; the switch under constant load fails 0 of ≥ 10,000 requests and moves responses from v1 to v2", async () => {
    await color("blue", "v1");
    const first = await switchTo("blue", "v1", ["--guard-seconds", "0"]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.json[0].method, "start");
    assert.deepEqual(await get(), { status: 200, body: "release v1 (blue)\n" });

    await color("green", "v2");
    const gateRun = await gate("green", "v2");
    assert.equal(gateRun.code, 0, gateRun.stderr);
    assert.equal(gateRun.json[0].passed, true);
    assert.equal((gateRun.json[0].checks as unknown[]).length, 2, "health and readiness of one replica");

    const receiver = await webhook();
    const load = startLoad({
      url: `http://127.0.0.1:${proxyPort}/`,
      clients: 20,
      maxRequests: 400_000,
      maxMs: 120_000,
    });
    await waitUntil("3,000 answers from v1 under load", () => load.served("v1") >= 3000, 60_000);
    const switched = await switchTo(
      "green",
      "v2",
      ["--image", images.v2, "--warmup", "/", "--guard-seconds", "3", "--guard-min-requests", "50"],
      { GREENLIGHT_WEBHOOK_URL: receiver.url },
    );
    await waitUntil(
      "≥ 10,000 requests and 3,000 answers from v2",
      () => load.count() >= 10_000 && load.served("v2") >= 3000,
      60_000,
    );
    const result = await load.stop();

    assert.equal(switched.code, 0, switched.stderr);
    const report = switched.json[0] as Record<string, unknown>;
    assert.equal(report.method, "flip");
    assert.equal(report.previousColor, "blue");
    assert.equal(report.activeColor, "green");
    assert.equal((report.guard as { verdict: string }).verdict, "healthy");
    assert.ok(
      (report.guard as { summary: { requests: number } }).summary.requests >= 50,
      "the guard saw the load",
    );
    assert.equal(result.failed, 0, `failed requests: ${JSON.stringify(result.failures)} of ${result.total}`);
    assert.ok(result.total >= 10_000, `only ${result.total} requests`);
    assert.ok(result.gets > 1000 && result.posts > 1000, "a mix of GET and POST");
    assert.equal(result.sequence[0], "v1");
    assert.equal(result.sequence[result.sequence.length - 1], "v2");
    const lastV1 = result.sequence.lastIndexOf("v1");
    assert.ok(
      result.sequence.slice(lastV1 + 1).every((release) => release === "v2"),
      "once v2 answers, v1 never comes back",
    );
    assert.deepEqual(await get(), { status: 200, body: "release v2 (green)\n" });
    assert.equal(receiver.messages.length, 1);
    assert.equal(receiver.messages[0].event, "switch");
    assert.match(receiver.messages[0].text, /traffic moved to green \(release v2\) from blue/);
    console.log(
      `      load: ${result.total} requests (${result.gets} GET, ${result.posts} POST) at ${result.rate}/s, ${result.failed} failed; ` +
        `v1 ${result.byRelease.v1}, v2 ${result.byRelease.v2}; runtime flip ${report.runtimeMs} ms`,
    );
  });

  it("the served color survives a proxy restart: config and server-state file agree", async () => {
    await color("blue", "v1");
    await color("green", "v2");
    assert.equal((await switchTo("blue", "v1", ["--guard-seconds", "0"])).code, 0);
    assert.equal((await switchTo("green", "v2", ["--guard-seconds", "0"])).code, 0);
    const paths = proxyPaths(stateDir);
    const saved = parseServersState(fs.readFileSync(paths.stateFile, "utf8"));
    assert.deepEqual(
      saved.map((server) => [server.name, admission(server)]),
      [
        ["blue-0", "drain"],
        ["green-0", "ready"],
      ],
    );
    // An operator (or systemd) restarts HAProxy from the live config, without greenlight.
    const restart = async () => {
      await stopProxy(paths);
      execFileSync(haproxyBinary(), ["-f", paths.config], { stdio: "pipe" });
      await waitUntil("the proxy answers", () => fs.existsSync(paths.socket), 5000);
    };
    const blueAdmission = async () =>
      admission(
        (await showServersState(paths.socket)).find((server) => server.name === "blue-0") ?? {
          adminState: -1,
        },
      );
    await restart();
    assert.deepEqual(await get(), { status: 200, body: "release v2 (green)\n" });
    // HAProxy restores a server the config disables in maintenance, not drain: no checks run on it.
    assert.equal(await blueAdmission(), "maint");
    const again = await switchTo("green", "v2", ["--guard-seconds", "0"]);
    assert.equal(again.json[0].method, "unchanged");
    assert.equal(
      await blueAdmission(),
      "drain",
      "the next switch puts the warm color back under health checks",
    );
    // Straight from maintenance, the flip back waits for HAProxy's own check of blue before it sends traffic.
    await restart();
    const back = await switchTo("blue", "v1", ["--guard-seconds", "0"]);
    assert.equal(back.code, 0, back.stderr);
    assert.equal(back.json[0].method, "flip");
    assert.deepEqual(await get(), { status: 200, body: "release v1 (blue)\n" });
  });

  it("v3 fails readiness: the gate is red with a report of each check, nothing switches, v2 keeps serving with 0 failed requests", async () => {
    await color("blue", "v2");
    assert.equal((await switchTo("blue", "v2", ["--guard-seconds", "0"])).code, 0);
    await color("green", "v3");
    const receiver = await webhook();
    const load = startLoad({ url: `http://127.0.0.1:${proxyPort}/`, maxRequests: 200_000, maxMs: 60_000 });
    const gateRun = await gate("green", "v3", { GREENLIGHT_WEBHOOK_URL: receiver.url });
    await waitUntil("2,000 requests", () => load.count() >= 2000, 30_000);
    const result = await load.stop();

    assert.equal(gateRun.code, 1);
    assert.match(gateRun.stderr, /health gate of green \(release v3\) failed/);
    assert.match(gateRun.stderr, /\/health\/ready answered 503/);
    const report = gateRun.json[0] as {
      passed: boolean;
      checks: { path: string; passed: boolean; lastStatus: number }[];
    };
    assert.equal(report.passed, false);
    assert.deepEqual(
      report.checks.map((check) => [check.path, check.passed, check.lastStatus]),
      [
        ["/health", true, 200],
        ["/health/ready", false, 503],
      ],
    );
    assert.equal(result.failed, 0, JSON.stringify(result.failures));
    assert.deepEqual(Object.keys(result.byRelease), ["v2"]);
    assert.deepEqual(await get(), { status: 200, body: "release v2 (blue)\n" });
    assert.equal(receiver.messages.length, 1);
    assert.equal(receiver.messages[0].event, "gate-failure");
    assert.match(receiver.messages[0].text, /green \(release v3\) failed its health gate/);
  });

  it("v4 passes the gate but fails 20 % of / after the switch: the guard reverts within its window and reports the error rate", async () => {
    await color("blue", "v2");
    assert.equal((await switchTo("blue", "v2", ["--guard-seconds", "0"])).code, 0);
    await color("green", "v4");
    assert.equal((await gate("green", "v4")).code, 0, "v4 is healthy and ready");
    const receiver = await webhook();
    const load = startLoad({
      url: `http://127.0.0.1:${proxyPort}/`,
      clients: 20,
      maxRequests: 200_000,
      maxMs: 90_000,
    });
    await waitUntil("500 requests on v2", () => load.served("v2") >= 500, 30_000);
    const switched = await switchTo(
      "green",
      "v4",
      ["--guard-seconds", "30", "--guard-min-requests", "100", "--guard-error-rate", "5"],
      { GREENLIGHT_WEBHOOK_URL: receiver.url },
    );
    const afterRevert = load.count();
    await waitUntil("1,000 requests after the revert", () => load.count() >= afterRevert + 1000, 30_000);
    const result = await load.stop();

    assert.equal(switched.code, 1, switched.stderr);
    assert.match(
      switched.stderr,
      /guard reverted traffic to blue: error rate [\d.]+ % \(\d+ of \d+\) is above 5 %/,
    );
    const report = switched.json[0] as {
      activeColor: string;
      revertedFrom: string;
      guard: { verdict: string; watchedMs: number; summary: { errorRatePercent: number; requests: number } };
    };
    assert.equal(report.activeColor, "blue");
    assert.equal(report.revertedFrom, "green");
    assert.equal(report.guard.verdict, "breach");
    assert.ok(
      report.guard.watchedMs < 30_000,
      `reverted after ${report.guard.watchedMs} ms, inside the 30 s window`,
    );
    assert.ok(
      report.guard.summary.errorRatePercent > 10 && report.guard.summary.errorRatePercent < 30,
      `measured ${report.guard.summary.errorRatePercent} %, about 20 %`,
    );
    assert.ok(result.failures["status 500"] > 0, "the bad release did fail requests before the revert");
    const tail = result.sequence.slice(-500);
    assert.ok(
      tail.every((release) => release === "v2"),
      "after the revert only v2 answers",
    );
    assert.deepEqual(await get(), { status: 200, body: "release v2 (blue)\n" });
    const saved = parseServersState(fs.readFileSync(proxyPaths(stateDir).stateFile, "utf8"));
    assert.equal(admission(saved.find((server) => server.name === "blue-0") ?? { adminState: -1 }), "ready");
    assert.match(fs.readFileSync(proxyPaths(stateDir).config, "utf8"), /# active color: blue/);
    assert.deepEqual(
      receiver.messages.map((message) => message.event),
      ["revert"],
    );
    assert.match(receiver.messages[0].text, /release v4 on green reverted to blue: error rate/);
    console.log(
      `      guard: ${report.guard.summary.requests} requests judged, error rate ${report.guard.summary.errorRatePercent} %, reverted after ${report.guard.watchedMs} ms`,
    );
  });

  it("the guard on its own (greenlight-ops guard) watches the serving color and flips back on a breach", async () => {
    await color("blue", "v2");
    await color("green", "v4");
    assert.equal((await switchTo("blue", "v2", ["--guard-seconds", "0"])).code, 0);
    assert.equal((await switchTo("green", "v4", ["--guard-seconds", "0"])).code, 0, "moved without a guard");
    const load = startLoad({ url: `http://127.0.0.1:${proxyPort}/`, maxRequests: 200_000, maxMs: 60_000 });
    const guarded = await runOps([
      "guard",
      "--color",
      "green",
      ...flags(),
      "--guard-seconds",
      "20",
      "--guard-min-requests",
      "100",
    ]);
    await waitUntil("500 more requests", () => load.served("v2") >= 500, 30_000);
    const result = await load.stop();
    assert.equal(guarded.code, 1, guarded.stderr);
    assert.match(
      guarded.stderr,
      /^guard: guard reverted traffic to blue: error rate [\d.]+ % \(\d+ of \d+\) is above 5 %/m,
    );
    assert.equal((guarded.json[0] as { revertedTo: string }).revertedTo, "blue");
    assert.ok(result.sequence.slice(-300).every((release) => release === "v2"));
  });

  it("a webhook that hangs or is down neither fails nor blocks the release", async () => {
    await color("blue", "v1");
    await color("green", "v2");
    assert.equal((await switchTo("blue", "v1", ["--guard-seconds", "0"])).code, 0);
    const hanging = await webhook("hang");
    const slow = await switchTo("green", "v2", ["--guard-seconds", "0"], {
      GREENLIGHT_WEBHOOK_URL: hanging.url,
    });
    assert.equal(slow.code, 0, slow.stderr);
    assert.match(slow.stderr, /webhook not delivered \(no answer within 3000 ms\); the release goes on/);
    assert.ok(slow.ms < 10_000, `took ${slow.ms} ms`);
    assert.equal(hanging.messages.length, 1, "the message was sent");
    const dead = await freePortRange(1);
    const down = await switchTo("blue", "v1", ["--guard-seconds", "0"], {
      GREENLIGHT_WEBHOOK_URL: `http://127.0.0.1:${dead}/hook`,
    });
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stderr, /webhook not delivered \(.*ECONNREFUSED.*\)/);
    assert.deepEqual(await get(), { status: 200, body: "release v1 (blue)\n" });
  });

  it("maintenance mode from config: read-only lets GET and HEAD through and answers 503 to writes; on answers 503 to everything", async () => {
    await color("blue", "v1");
    await color("green", "v2");
    assert.equal((await switchTo("blue", "v1", ["--guard-seconds", "0"])).code, 0);
    const readOnly = await switchTo("blue", "v1", ["--guard-seconds", "0", "--maintenance", "read-only"]);
    assert.equal(readOnly.code, 0, readOnly.stderr);
    assert.equal(readOnly.json[0].method, "reload");
    assert.deepEqual(await get(), { status: 200, body: "release v1 (blue)\n" });
    assert.equal((await fetch(`http://127.0.0.1:${proxyPort}/`, { method: "HEAD" })).status, 200);
    const write = await fetch(`http://127.0.0.1:${proxyPort}/`, { method: "POST", body: "{}" });
    assert.equal(write.status, 503);
    assert.match(await write.text(), /Read-only maintenance/);
    assert.equal(write.headers.get("retry-after"), "300");
    const on = await switchTo("blue", "v1", ["--guard-seconds", "0", "--maintenance", "on"]);
    assert.equal(on.code, 0, on.stderr);
    const page = await get();
    assert.equal(page.status, 503);
    assert.match(page.body, /Down for maintenance/);
    const off = await switchTo("green", "v2", ["--guard-seconds", "0"]);
    assert.equal(off.code, 0, off.stderr);
    assert.deepEqual(await get(), { status: 200, body: "release v2 (green)\n" });
  });

  describe("bad input", () => {
    it("an unknown color is refused before anything runs (exit 2)", async () => {
      const switched = await switchTo("purple" as "blue", "v2");
      assert.equal(switched.code, 2);
      assert.match(
        switched.stderr,
        /option '--color <color>' argument 'purple' is invalid\. expected blue or green/,
      );
      const gateRun = await runOps([
        "health-gate",
        "--color",
        "purple",
        "--release",
        "v2",
        "--port",
        String(greenPort),
      ]);
      assert.equal(gateRun.code, 2);
      assert.equal(fs.existsSync(proxyPaths(stateDir).config), false, "no proxy config was written");
    });

    it("a port clash fails the switch with the port named: the proxy port taken, or colors sharing ports", async () => {
      await color("blue", "v1");
      const squatter = net.createServer().listen(proxyPort, "127.0.0.1");
      try {
        const clash = await switchTo("blue", "v1", ["--guard-seconds", "0"]);
        assert.equal(clash.code, 1);
        assert.match(clash.stderr, new RegExp(`HAProxy did not start.*127\\.0\\.0\\.1:${proxyPort}`));
      } finally {
        await new Promise((resolve) => squatter.close(resolve));
      }
      const overlap = await runOps([
        "switch",
        "--color",
        "blue",
        "--release",
        "v1",
        ...proxyFlags({ stateDir, proxyPort, bluePort, greenPort: bluePort + 1, replicas: 2 }),
      ]);
      assert.equal(overlap.code, 2);
      assert.match(
        overlap.stderr,
        /servers blue-1 and green-0 both use 127\.0\.0\.1:\d+: give the colors separate ports/,
      );
    });

    it("an image missing locally is refused with its name before any container is created", async () => {
      const missing = await runOps(["image", "--image", "greenlight-sample:v99", "--no-pull"]);
      assert.equal(missing.code, 1);
      assert.match(
        missing.stderr,
        /image greenlight-sample:v99 is not on this Docker host \(pulling is off\): load or build it/,
      );
      const present = await runOps(["image", "--image", images.v2, "--no-pull"]);
      assert.equal(present.code, 0, present.stderr);
      assert.match(String(present.json[0].id), /^sha256:[a-f0-9]{64}$/);
    });

    it("a config HAProxy rejects never replaces the live one: the switch fails and the running proxy keeps serving", async () => {
      await color("blue", "v1");
      await color("green", "v2");
      assert.equal((await switchTo("blue", "v1", ["--guard-seconds", "0"])).code, 0);
      const paths = proxyPaths(stateDir);
      const liveBefore = fs.readFileSync(paths.config, "utf8");
      const load = startLoad({ url: `http://127.0.0.1:${proxyPort}/`, maxRequests: 100_000, maxMs: 60_000 });
      const rejected = await switchTo("green", "v2", [
        "--guard-seconds",
        "0",
        "--upstream-host",
        "no-such-host.invalid",
      ]);
      await waitUntil("1,000 requests", () => load.count() >= 1000, 30_000);
      const result = await load.stop();
      assert.equal(rejected.code, 1);
      assert.match(
        rejected.stderr,
        /HAProxy rejects the config for green active .*could not resolve address 'no-such-host\.invalid'.*the live config and traffic are unchanged/,
      );
      assert.equal(
        fs.readFileSync(paths.config, "utf8"),
        liveBefore,
        "the live config is byte for byte the good one",
      );
      assert.equal(fs.existsSync(`${paths.config}.candidate`), false);
      assert.equal(result.failed, 0, JSON.stringify(result.failures));
      assert.deepEqual(Object.keys(result.byRelease), ["v1"]);
    });
  });
});
