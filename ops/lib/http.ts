// One HTTP request on a fresh connection, with a hard timeout: what the gate, the smoke checks and
// the warm-up measure. A fresh connection per probe tests what a new client would see.
import * as http from "http";

export interface ProbeResult {
  /** HTTP status, or undefined when no answer came. */
  status?: number;
  /** Milliseconds from the request to the end of the body (or to the failure). */
  ms: number;
  /** Up to 64 KiB of the body. */
  body: string;
  /** Why no answer came: refused, timeout, reset… */
  error?: string;
}

const MAX_BODY = 64 * 1024;

export function probe(url: string, timeoutMs: number, method = "GET"): Promise<ProbeResult> {
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e6;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: Omit<ProbeResult, "ms">) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...result, ms: Math.round(elapsed() * 10) / 10 });
    };
    const request = http.request(url, { method, agent: false }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        if (body.length < MAX_BODY) body += chunk.slice(0, MAX_BODY - body.length);
      });
      response.on("end", () => finish({ status: response.statusCode, body }));
      response.on("error", (error) => finish({ status: response.statusCode, body, error: error.message }));
    });
    const timer = setTimeout(() => {
      finish({ body: "", error: `no answer within ${timeoutMs} ms` });
      request.destroy();
    }, timeoutMs);
    request.on("error", (error: NodeJS.ErrnoException) =>
      finish({ body: "", error: error.code ?? error.message }),
    );
    request.end();
  });
}
