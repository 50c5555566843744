// The load generator is what every "0 failed requests" claim rests on, so it is tested against a server
// that fails on purpose: each answer it spoils must show up as a failure of the right kind.
import { strict as assert } from "assert";
import * as http from "http";
import { AddressInfo } from "net";
import { startLoad } from "./load";

/** An app-like server: GET answers "release v1 …", POST answers JSON; every `every`-th request is spoiled. */
async function server(
  spoil: "none" | "close" | "500",
  every = 250,
): Promise<{ url: string; seen(): number; close(): void }> {
  let seen = 0;
  const app = http.createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      seen++;
      if (spoil === "close" && seen % every === 0) return void request.socket.end();
      if (spoil === "500" && seen % every === 0) return void response.writeHead(500).end("broken");
      response.end(request.method === "POST" ? JSON.stringify({ release: "v1" }) : "release v1 ok\n");
    });
  });
  await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
  const { port } = app.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, seen: () => seen, close: () => app.close() };
}

describe("tests' load generator (autocannon)", function () {
  this.timeout(30_000);

  it("counts every answer of a healthy server as served, GET and POST in turn", async () => {
    const app = await server("none");
    try {
      const result = await startLoad({ url: app.url, clients: 10, maxRequests: 4000, maxMs: 10_000 }).done;
      assert.equal(result.total, 4000);
      assert.equal(result.failed, 0, JSON.stringify(result.failures));
      assert.deepEqual(result.byRelease, { v1: 4000 });
      assert.equal(result.gets, 2000);
      assert.equal(result.posts, 2000);
      assert.equal(app.seen(), 4000);
    } finally {
      app.close();
    }
  });

  it("counts a request whose connection closed unanswered, which autocannon itself does not report", async () => {
    const app = await server("close");
    try {
      const result = await startLoad({ url: app.url, clients: 10, maxRequests: 4000, maxMs: 10_000 }).done;
      assert.deepEqual(result.failures, { "closed unanswered": 16 });
      assert.equal(result.byRelease.v1, 4000 - 16);
    } finally {
      app.close();
    }
  });

  it("counts an error status by its code", async () => {
    const app = await server("500");
    try {
      const result = await startLoad({ url: app.url, clients: 10, maxRequests: 4000, maxMs: 10_000 }).done;
      assert.deepEqual(result.failures, { "status 500": 16 });
    } finally {
      app.close();
    }
  });

  it("counts refused connections, and stop() ends the load with what it counted", async () => {
    const app = await server("none");
    app.close();
    const run = startLoad({ url: app.url, clients: 2, maxRequests: 1_000_000, maxMs: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const result = await run.stop();
    assert.ok(result.elapsedMs < 5000, `stopped after ${result.elapsedMs} ms`);
    assert.ok(result.failures.ECONNREFUSED > 0, JSON.stringify(result.failures));
    assert.equal(result.failed, result.total);
  });
});
