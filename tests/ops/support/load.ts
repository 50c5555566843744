// Constant load through the proxy on loopback: keep-alive clients sending a mix of GET and POST with no
// retries, bounded in request count and time. Counts every failure a user would see.
import * as http from "http";

export interface LoadOptions {
  url: string;
  /** Concurrent keep-alive clients (default 20). */
  clients?: number;
  /** Hard cap on requests. */
  maxRequests: number;
  /** Hard cap on time, in milliseconds. */
  maxMs: number;
}

export interface LoadResult {
  total: number;
  failed: number;
  /** Failures by kind: "status 503", "ECONNRESET", … */
  failures: Record<string, number>;
  /** Successful answers by release (from the body). */
  byRelease: Record<string, number>;
  gets: number;
  posts: number;
  /** Release of each successful answer, in completion order (for "moved from v1 to v2"). */
  sequence: string[];
  /** Requests per second over the run. */
  rate: number;
  elapsedMs: number;
}

export interface LoadRun {
  /** Requests completed so far. */
  count(): number;
  /** Successful answers from a release so far. */
  served(release: string): number;
  /** Asks the clients to stop after their current request; resolves with the totals. */
  stop(): Promise<LoadResult>;
  /** Resolves when the clients stopped by themselves (caps reached). */
  done: Promise<LoadResult>;
}

function releaseOf(body: string, method: string): string | undefined {
  if (method === "POST") {
    try {
      return (JSON.parse(body) as { release?: string }).release;
    } catch {
      return undefined;
    }
  }
  return /^release (\S+) /.exec(body)?.[1];
}

/** Starts the clients; stop() ends them. */
export function startLoad(options: LoadOptions): LoadRun {
  const clients = options.clients ?? 20;
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients, keepAliveMsecs: 1000 });
  const url = new URL(options.url);
  const result: LoadResult = {
    total: 0,
    failed: 0,
    failures: {},
    byRelease: {},
    gets: 0,
    posts: 0,
    sequence: [],
    rate: 0,
    elapsedMs: 0,
  };
  const started = Date.now();
  let stopping = false;
  const fail = (kind: string) => {
    result.failed++;
    result.failures[kind] = (result.failures[kind] ?? 0) + 1;
  };
  const one = (method: "GET" | "POST"): Promise<void> =>
    new Promise((resolve) => {
      const body = method === "POST" ? JSON.stringify({ order: result.total, items: ["a", "b"] }) : undefined;
      const request = http.request(
        {
          host: url.hostname,
          port: url.port,
          path: "/",
          method,
          agent,
          headers: body
            ? { "content-type": "application/json", "content-length": Buffer.byteLength(body) }
            : {},
        },
        (response) => {
          let text = "";
          response.setEncoding("utf8");
          response.on("data", (chunk: string) => (text += chunk));
          response.on("end", () => {
            result.total++;
            const release = releaseOf(text, method);
            if (response.statusCode !== 200 || release === undefined) {
              fail(`status ${response.statusCode}`);
            } else {
              result.byRelease[release] = (result.byRelease[release] ?? 0) + 1;
              result.sequence.push(release);
            }
            resolve();
          });
          response.on("error", (error: NodeJS.ErrnoException) => {
            result.total++;
            fail(error.code ?? error.message);
            resolve();
          });
        },
      );
      // No retries: whatever goes wrong is counted, as a user would see it.
      request.on("error", (error: NodeJS.ErrnoException) => {
        result.total++;
        fail(error.code ?? error.message);
        resolve();
      });
      request.setTimeout(10_000, () =>
        request.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })),
      );
      if (method === "GET") result.gets++;
      else result.posts++;
      request.end(body);
    });
  const client = async (index: number) => {
    let turn = index;
    while (!stopping && result.total < options.maxRequests && Date.now() - started < options.maxMs) {
      await one(turn++ % 2 === 0 ? "GET" : "POST");
    }
  };
  const finish = () => {
    result.elapsedMs = Date.now() - started;
    result.rate = Math.round((result.total / result.elapsedMs) * 1000);
    agent.destroy();
    return result;
  };
  const done = Promise.all(Array.from({ length: clients }, (_, index) => client(index))).then(finish);
  return {
    count: () => result.total,
    served: (release: string) => result.byRelease[release] ?? 0,
    stop: () => {
      stopping = true;
      return done;
    },
    done,
  };
}

/** Waits until `condition` holds, polling; throws after `timeoutMs` naming what it waited for. */
export async function waitUntil(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
