// The relay: `greenlight-ops relay`, run inside a host's proxy container by the coordinator over SSH
// (`docker exec -i <proxy container> greenlight-ops relay`). It is the only way to the proxy's runtime API
// from off the host: it reads JSON requests on stdin and answers on stdout, each tagged with its id —
//   {"id":1,"cmd":"show servers state app"}  → {"id":1,"answer":"…"}            (one runtime command)
//   {"id":2,"events":"access"}              → {"id":2,"subscribed":true}, then {"id":2,"lines":[…]}…
//   {"id":3,"get":"/health","timeoutMs":n}  → {"id":3,"status":200,"ms":4.2}   (through this host's front)
//   {"id":4,"stop":2}                        ends the event stream 2
// and greets with {"relay":<protocol>,…}. Nothing listens: whoever may `docker exec` on the host (root on
// it, in effect) reaches it, and nobody else.
import * as fs from "fs";
import { Readable, Writable } from "stream";
import { probe } from "../lib/http";
import { proxyPaths } from "../proxy/config";
import { socketCommand } from "../proxy/runtime";
import { EventStream, RELAY_PROTOCOL, lineSplitter, socketEvents } from "./channel";

export interface RelayOptions {
  /** The proxy's state directory (its admin socket and config are there). */
  stateDir: string;
  input: Readable;
  output: Writable;
  /** Milliseconds between flushes of an event stream's lines (default 50). */
  flushEveryMs?: number;
}

export interface RelayReport {
  step: "relay";
  requests: number;
  eventLines: number;
  ranMs: number;
}

/** Where this proxy's front answers, from its config's bind line (0.0.0.0 answers on loopback too). */
export function frontUrlOfConfig(config: string): string | undefined {
  const match = /^\s*bind\s+([^\s:]+):(\d+)/m.exec(config);
  if (!match) return undefined;
  return `http://${match[1] === "0.0.0.0" ? "127.0.0.1" : match[1]}:${match[2]}/`;
}

/** Lines an event stream may hold between two flushes before it drops (the reader is too slow). */
const MAX_BUFFERED_LINES = 50_000;

export async function runRelay(options: RelayOptions): Promise<RelayReport> {
  const started = Date.now();
  const paths = proxyPaths(options.stateDir);
  const send = (message: Record<string, unknown>) => options.output.write(`${JSON.stringify(message)}\n`);
  const streams = new Map<number, { stream?: EventStream; lines: string[]; dropped: number }>();
  let requests = 0;
  let eventLines = 0;
  const flushEvery = options.flushEveryMs ?? 50;
  const flush = () => {
    for (const [id, open] of streams) {
      if (open.lines.length === 0 && open.dropped === 0) continue;
      send({ id, lines: open.lines, ...(open.dropped > 0 ? { dropped: open.dropped } : {}) });
      open.lines = [];
      open.dropped = 0;
    }
  };
  const timer = setInterval(flush, flushEvery);

  const handle = async (request: Record<string, unknown>): Promise<void> => {
    const id = Number(request.id);
    if (!Number.isInteger(id)) return;
    requests += 1;
    try {
      if (typeof request.cmd === "string") {
        const timeoutMs = Math.min(Number(request.timeoutMs) || 2000, 30_000);
        send({ id, answer: await socketCommand(paths.socket, request.cmd, timeoutMs) });
      } else if (typeof request.events === "string") {
        const open: { stream?: EventStream; lines: string[]; dropped: number } = { lines: [], dropped: 0 };
        streams.set(id, open);
        open.stream = await socketEvents(paths.socket, request.events, (line) => {
          eventLines += 1;
          if (open.lines.length < MAX_BUFFERED_LINES) open.lines.push(line);
          else open.dropped += 1;
        });
        send({ id, subscribed: true });
        void open.stream.ended.then((why) => {
          if (!streams.delete(id)) return;
          flushOne(id, open);
          send({ id, end: true, ...(why ? { error: why } : {}) });
        });
      } else if (typeof request.stop === "number") {
        const open = streams.get(request.stop);
        if (open) {
          streams.delete(request.stop);
          open.stream?.close();
        }
      } else if (typeof request.get === "string") {
        if (!/^\/[A-Za-z0-9._~/-]*$/.test(request.get))
          throw new Error(`path ${JSON.stringify(request.get)} is not a URL path`);
        const front = frontUrlOfConfig(fs.readFileSync(paths.config, "utf8"));
        if (!front) throw new Error(`no bind line in ${paths.config}`);
        const timeoutMs = Math.min(Number(request.timeoutMs) || 10_000, 60_000);
        const answer = await probe(`${front}${request.get.slice(1)}`, timeoutMs);
        send({ id, status: answer.status, ms: answer.ms, ...(answer.error ? { failed: answer.error } : {}) });
      } else {
        throw new Error("expected cmd, events, stop or get");
      }
    } catch (error) {
      streams.delete(id);
      send({
        id,
        error: (error as Error).message,
        ...(typeof request.events === "string" ? { end: true } : {}),
      });
    }
  };
  const flushOne = (id: number, open: { lines: string[]; dropped: number }) => {
    if (open.lines.length > 0 || open.dropped > 0) send({ id, lines: open.lines, dropped: open.dropped });
    open.lines = [];
    open.dropped = 0;
  };

  send({ relay: RELAY_PROTOCOL, socket: paths.socket });
  await new Promise<void>((resolve) => {
    options.input.on(
      "data",
      lineSplitter((line) => {
        try {
          void handle(JSON.parse(line) as Record<string, unknown>);
        } catch {
          send({ error: `not a JSON request: ${line.slice(0, 80)}` });
        }
      }),
    );
    options.input.once("end", resolve);
    options.input.once("close", resolve);
  });
  clearInterval(timer);
  flush();
  for (const open of streams.values()) open.stream?.close();
  return { step: "relay", requests, eventLines, ranMs: Date.now() - started };
}
