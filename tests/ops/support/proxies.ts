// Three real HAProxy processes (`greenlight-ops proxy` on 127.0.0.2-4), each in front of a small backend
// per color on its own address and driven through its own relay process (the control channel without
// SSH; tests/hosts runs it over SSH): what the canary tests and `npm run bench -- progressive` share.
import * as fs from "fs";
import * as http from "http";
import { RelayChannel } from "../../../ops/control";
import { admission, showServersState } from "../../../ops/proxy/runtime";
import { CliProcess, spawnOps, spawnRelay } from "./cli";
import { freePortRange, tempStateDir } from "./release";

export const PROXY_ADDRESSES = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];
const RELEASE = { blue: "v1", green: "v2" } as const;

/** A color's backend on one host: GET answers "release <id> <color>", POST answers JSON. */
export interface Backend {
  server: http.Server;
  /** Answers 503 on /health while false. */
  healthy: boolean;
  /** Every n-th request answers 500 (0: none). */
  errorEvery: number;
  delayMs: number;
  served: number;
}

function startBackend(address: string, port: number, color: "blue" | "green"): Promise<Backend> {
  const backend: Backend = {
    server: http.createServer(),
    healthy: true,
    errorEvery: 0,
    delayMs: 0,
    served: 0,
  };
  backend.server.on("request", (request: http.IncomingMessage, response: http.ServerResponse) => {
    if (request.url === "/health") return void response.writeHead(backend.healthy ? 200 : 503).end();
    request.resume();
    request.on("end", () => {
      backend.served += 1;
      const fail = backend.errorEvery > 0 && backend.served % backend.errorEvery === 0;
      const body =
        request.method === "POST"
          ? JSON.stringify({ release: RELEASE[color] })
          : `release ${RELEASE[color]} ${color}`;
      setTimeout(() => response.writeHead(fail ? 500 : 200).end(body), backend.delayMs);
    });
  });
  return new Promise((resolve) => backend.server.listen(port, address, () => resolve(backend)));
}

export interface ProxyTrio {
  /** The proxies' port (each on its own address); blue's backends on base + 1, green's on base + 2. */
  base: number;
  /** Each proxy's preview front's port (on its own address). */
  previewPort: number;
  stateDirs: string[];
  proxies: CliProcess[];
  backends: { blue: Backend; green: Backend }[];
  relays: RelayChannel[];
  /** Where clients reach proxy `index`. */
  front(index: number): string;
  /** Stops the proxies, relays and backends and removes the state folders. */
  stop(): Promise<void>;
}

/** Waits until an asynchronous check holds. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Starts the three proxies with blue serving and green checked UP in drain at weight 0 on every one,
 * each with a preview front; a failure stops what started.
 */
export async function startProxyTrio(lifetimeMs: number): Promise<ProxyTrio> {
  const base = await freePortRange(4);
  const trio: ProxyTrio = {
    base,
    previewPort: base + 3,
    stateDirs: PROXY_ADDRESSES.map(() => tempStateDir()),
    proxies: [],
    backends: [],
    relays: [],
    front: (index) => `http://${PROXY_ADDRESSES[index]}:${base}/`,
    stop: async () => {
      await Promise.all(trio.relays.map((relay) => relay.close()));
      for (const proxy of trio.proxies) if (proxy.pid) process.kill(proxy.pid, "SIGTERM");
      await Promise.all(trio.proxies.map((proxy) => proxy.done));
      for (const backend of trio.backends.flatMap((pair) => [pair.blue, pair.green])) {
        backend.server.closeAllConnections();
        await new Promise((resolve) => backend.server.close(resolve));
      }
      for (const dir of trio.stateDirs) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    for (const address of PROXY_ADDRESSES) {
      trio.backends.push({
        blue: await startBackend(address, base + 1, "blue"),
        green: await startBackend(address, base + 2, "green"),
      });
    }
    trio.proxies = PROXY_ADDRESSES.map((address, index) =>
      spawnOps(
        [
          "proxy",
          ...["--state-dir", trio.stateDirs[index], "--listen-address", address, "--upstream-host", address],
          ...[
            "--proxy-port",
            String(base),
            "--blue-port",
            String(base + 1),
            "--green-port",
            String(base + 2),
          ],
          ...["--check-interval-ms", "200", "--preview-port", String(trio.previewPort)],
          ...["--preview-address", address],
        ],
        { ...process.env },
        lifetimeMs,
      ),
    );
    trio.relays = await Promise.all(trio.stateDirs.map((dir, index) => spawnRelay(`h${index + 2}`, dir)));
    for (const [index, relay] of trio.relays.entries()) {
      await waitFor(`${relay.host} serves blue, green checked UP in drain at weight 0`, async () => {
        const states = await showServersState(relay);
        const layout = states
          .map((state) => `${state.name}:${admission(state)}:${state.userWeight}`)
          .join(" ");
        const greenUp = states.some((state) => state.name === "green-0" && state.operationalState === 2);
        return layout === "blue-0:ready:1 green-0:drain:0" && greenUp && (await fetch(trio.front(index))).ok;
      });
    }
    return trio;
  } catch (error) {
    await trio.stop();
    throw error;
  }
}
