// The webhook from an attacker's view: its URL carries a token and its notices name releases and hosts.
// Against real local HTTP(S) servers: nothing goes to an http: URL off this machine, a redirect (307/308
// included) never replays the POST to where it points, and a red gate's notice carries statuses, never
// the app's answer. The config refuses http: outside the local stack without echoing the URL.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { notify } from "../../ops/notify";
import { ConfigError, parseStackConfig } from "../../schema/parse";
import { applyOverrides, readStackConfig } from "../../tools/harness/stack-file";
import { runOps } from "../ops/support/data";
import { startWebhook, WebhookReceiver } from "../ops/support/release";
import { makeCa, makeServerCertificate } from "../support/tls";

const PROJECT_DIR = path.join(__dirname, "..", "..");

/** A server that records every request and answers with `answer` (status, headers, body). */
interface Recorder {
  url: string;
  requests: { method: string; path: string; body: string }[];
  close(): Promise<void>;
}

function record(
  server: http.Server | https.Server,
  scheme: "http" | "https",
  answer: (path: string) => { status: number; headers?: Record<string, string>; body?: string },
): Promise<Recorder> {
  const requests: Recorder["requests"] = [];
  server.on("request", (request: http.IncomingMessage, response: http.ServerResponse) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      requests.push({ method: request.method ?? "", path: request.url ?? "", body });
      const { status, headers, body: text } = answer(request.url ?? "/");
      response.writeHead(status, headers);
      response.end(text ?? "");
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      resolve({
        url: `${scheme}://127.0.0.1:${port}/hooks/release`,
        requests,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    }),
  );
}

describe("webhooks: the token and the notices go only where they were configured", function () {
  this.timeout(120_000);
  let dir: string;
  const servers: { close(): Promise<void> }[] = [];
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-webhook-test-"));
  });
  after(async () => {
    for (const server of servers) await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function elsewhere(): Promise<Recorder> {
    const server = await record(http.createServer(), "http", () => ({ status: 200, body: "stolen" }));
    servers.push(server);
    return server;
  }

  it("an http: URL off this machine is refused before any connection, and the URL is never echoed", async () => {
    const started = Date.now();
    const result = await notify(
      { event: "switch", text: "traffic moved" },
      "http://hooks.example.invalid/services/T000/B000/token-canary",
      5000,
    );
    assert.equal(result.delivered, false);
    assert.match(result.error ?? "", /must be an https: URL \(http: only to this machine\), not http:/);
    assert.ok(Date.now() - started < 500, "no connection or name lookup was tried");
    assert.ok(!JSON.stringify(result).includes("token-canary"));
  });

  for (const status of [301, 302, 303, 307, 308]) {
    it(`a ${status} is not followed: the POST never reaches the server it points to`, async () => {
      const thief = await elsewhere();
      const hook = await record(http.createServer(), "http", () => ({
        status,
        headers: { location: `${thief.url.replace("/hooks/release", "/steal")}` },
      }));
      servers.push(hook);
      const result = await notify({ event: "revert", text: "green reverted to blue" }, hook.url, 3000);
      assert.equal(result.delivered, false);
      assert.equal(result.status, status);
      assert.match(result.error ?? "", new RegExp(`^webhook answered ${status}, a redirect: not followed`));
      assert.equal(hook.requests.length, 1);
      assert.deepEqual(thief.requests, [], "nothing reached the redirect's target");
    });
  }

  it("over https through the real CLI: delivered to a server whose CA the runner trusts; a 307 there is not followed either", async () => {
    const ca = makeCa(dir, "greenlight-test-webhook-ca");
    const certificate = makeServerCertificate(dir, "webhook", ca, ["IP:127.0.0.1"]);
    const tls = { cert: fs.readFileSync(certificate.certFile), key: fs.readFileSync(certificate.keyFile) };
    const thief = await elsewhere();
    const hook = await record(https.createServer(tls), "https", (requestPath) =>
      requestPath === "/moved"
        ? { status: 307, headers: { location: thief.url } }
        : { status: 200, body: "ok" },
    );
    servers.push(hook);
    const env = { PATH: process.env.PATH, NODE_EXTRA_CA_CERTS: ca.certFile };
    const sent = await runOps(["notify", "--event", "switch", "--text", "traffic moved to green"], {
      ...env,
      GREENLIGHT_WEBHOOK_URL: hook.url,
    });
    assert.equal(sent.code, 0, sent.stderr);
    assert.deepEqual(sent.json, { delivered: true, status: 200 });
    assert.equal(JSON.parse(hook.requests[0].body).event, "switch");
    const moved = await runOps(["notify", "--event", "revert", "--text", "reverted"], {
      ...env,
      GREENLIGHT_WEBHOOK_URL: hook.url.replace("/hooks/release", "/moved"),
    });
    assert.equal(moved.code, 0, moved.stderr);
    assert.equal(moved.json?.delivered, false);
    assert.equal(moved.json?.status, 307);
    assert.deepEqual(thief.requests, []);
  });

  it("a red gate's notice names statuses and counts; the app's answer stays in the step's own output", async () => {
    const canary = "Internal error: password=hunter2 at db.prod.internal";
    const app = await record(http.createServer(), "http", () => ({ status: 500, body: canary }));
    servers.push(app);
    const receiver: WebhookReceiver = await startWebhook();
    servers.push(receiver);
    const port = new URL(app.url).port;
    const gate = await runOps(
      [
        "health-gate",
        ...["--color", "green", "--release", "v2", "--port", port],
        ...["--interval", "1", "--timeout", "1", "--attempts", "1", "--deadline", "1"],
      ],
      { PATH: process.env.PATH, GREENLIGHT_WEBHOOK_URL: receiver.url },
    );
    assert.equal(gate.code, 1);
    assert.match(
      gate.stderr,
      /answered 500 "Internal error: password=hunter2/,
      "the operator's log keeps it",
    );
    assert.equal(receiver.messages.length, 1);
    const notice = receiver.messages[0].text;
    assert.match(notice, /green \(release v2\) failed its health gate/);
    assert.match(notice, /answered 500, 0\/1 in a row/);
    assert.ok(!notice.includes("hunter2") && !notice.includes("Internal error"), notice);
  });
});

describe("webhooks in the config: https: outside the local stack", () => {
  const NOW = new Date("2026-12-01T11:00:00Z");

  /** A stack file with a webhook URL as the program sees it under the CLI: decrypted, no secret keys known. */
  function parseWith(stack: string, webhookUrl: string) {
    const config = applyOverrides(readStackConfig(PROJECT_DIR, stack), {
      "greenlight:webhookUrl": webhookUrl,
    }).config;
    return parseStackConfig({ stack, values: config, now: NOW });
  }

  function problemOf(run: () => unknown): string {
    try {
      run();
    } catch (error) {
      assert.ok(error instanceof ConfigError, String(error));
      return error.message;
    }
    assert.fail("expected a ConfigError");
  }

  it("refuses http: on staging and production, naming the key and the fix, never the URL", () => {
    for (const stack of ["staging", "production"]) {
      const message = problemOf(() => parseWith(stack, "http://hooks.example.com/T000/token-canary"));
      assert.match(
        message,
        new RegExp(
          `greenlight:webhookUrl: got \\[hidden\\]; expected an https: URL on stack ${stack}: .*fix: pulumi config set --secret greenlight:webhookUrl https://`,
        ),
      );
      assert.ok(!message.includes("token-canary"), message);
    }
    assert.match(
      problemOf(() => parseWith("production", "not a url")),
      /greenlight:webhookUrl: got \[hidden\]; expected an https: URL/,
    );
  });

  it("accepts https: everywhere, and http: on local only to this machine", () => {
    assert.equal(
      parseWith("production", "https://hooks.example.com/T000").secrets.webhookUrl,
      "https://hooks.example.com/T000",
    );
    assert.equal(
      parseWith("local", "http://127.0.0.1:9000/hook").secrets.webhookUrl,
      "http://127.0.0.1:9000/hook",
    );
    assert.match(
      problemOf(() => parseWith("local", "http://chat.internal/hook")),
      /expected an https: URL \(http: only to this machine on the local stack\)/,
    );
  });
});
