// What the coordinator holds for one host's proxy: a ProxyChannel runs runtime API commands, streams the
// access-log ring and requests a path through the host's own front. Two kinds: LocalChannel, the proxy
// on this machine through its UNIX socket; RelayChannel, a proxy elsewhere through the relay
// (relay.ts) at the other end of a byte stream (an SSH session's `docker exec -i`, or a child process).
import * as net from "net";
import { Duplex } from "stream";
import { ProbeResult, probe } from "../lib/http";
import { RuntimeClient, checkRuntimeCommand, socketCommand } from "../proxy/runtime";

/** The relay protocol's version: the coordinator refuses a relay that speaks another. */
export const RELAY_PROTOCOL = 1;

/** Longest line either side accepts; a longer one is dropped (HAProxy's ring lines are at most 1 KiB). */
export const MAX_LINE_BYTES = 64 * 1024;

/** A subscription to a ring's new events. */
export interface EventStream {
  close(): void;
  /** Resolves when the stream ends (the proxy went away, or close()). */
  readonly ended: Promise<string | undefined>;
}

export type WarmupAnswer = Pick<ProbeResult, "status" | "ms" | "error">;

export interface ProxyChannel extends RuntimeClient {
  /** The host this channel reaches, as failures name it. */
  readonly host: string;
  /** Streams the ring's events written from now on (`show events <ring> -w -n`), line by line. */
  events(ring: string, onLine: (line: string) => void): Promise<EventStream>;
  /** GET `path` through this host's own front, on a fresh connection. */
  get(path: string, timeoutMs: number): Promise<WarmupAnswer>;
  close(): Promise<void>;
}

/** Splits a byte stream into lines, dropping any line longer than maxBytes (memory stays bounded). */
export function lineSplitter(
  onLine: (line: string) => void,
  maxBytes = MAX_LINE_BYTES,
): (chunk: Buffer) => void {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let overlong = false;
  return (chunk: Buffer) => {
    let start = 0;
    for (let index = chunk.indexOf(10); index >= 0; index = chunk.indexOf(10, start)) {
      if (!overlong && pendingBytes + index - start <= maxBytes) {
        pending.push(chunk.subarray(start, index));
        onLine(Buffer.concat(pending).toString("utf8"));
      }
      pending = [];
      pendingBytes = 0;
      overlong = false;
      start = index + 1;
    }
    const rest = chunk.length - start;
    if (rest === 0 || overlong) return;
    if (pendingBytes + rest > maxBytes) {
      overlong = true;
      pending = [];
      pendingBytes = 0;
    } else {
      pending.push(Buffer.from(chunk.subarray(start)));
      pendingBytes += rest;
    }
  };
}

/** Opens `show events <ring> -w -n` on a UNIX admin socket; resolves once the command is written. */
export function socketEvents(
  socketPath: string,
  ring: string,
  onLine: (line: string) => void,
): Promise<EventStream> {
  if (!/^[a-z][a-z0-9-]{0,31}$/.test(ring))
    return Promise.reject(new Error(`ring ${JSON.stringify(ring)} is not a ring name`));
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ path: socketPath });
    let opened = false;
    const ended = new Promise<string | undefined>((resolveEnd) => {
      socket.once("close", () => resolveEnd(undefined));
      socket.once("error", (error) => {
        if (!opened) reject(new Error(`HAProxy admin socket ${socketPath}: ${error.message}`));
        resolveEnd(error.message);
      });
    });
    socket.on(
      "data",
      lineSplitter((line) => line !== "" && onLine(line)),
    );
    socket.once("connect", () =>
      socket.write(`show events ${ring} -w -n\n`, () => {
        opened = true;
        resolve({ close: () => socket.destroy(), ended });
      }),
    );
  });
}

/** The proxy on this machine: its UNIX admin socket and its front's URL. */
export class LocalChannel implements ProxyChannel {
  constructor(
    readonly host: string,
    private readonly socketPath: string,
    private readonly frontUrl: string,
  ) {}

  command(text: string, timeoutMs?: number): Promise<string> {
    return socketCommand(this.socketPath, text, timeoutMs);
  }

  events(ring: string, onLine: (line: string) => void): Promise<EventStream> {
    return socketEvents(this.socketPath, ring, onLine);
  }

  async get(path: string, timeoutMs: number): Promise<WarmupAnswer> {
    const { status, ms, error } = await probe(`${this.frontUrl}${path.replace(/^\//, "")}`, timeoutMs);
    return { status, ms, error };
  }

  async close(): Promise<void> {}
}

type Reply = Record<string, unknown> & { id: number };

interface Pending {
  resolve(reply: Reply): void;
  reject(error: Error): void;
}

/**
 * A proxy reached through the relay at the other end of `stream`: requests and answers are JSON lines
 * carrying an id, so commands, event streams and warm-up requests share one stream.
 */
export class RelayChannel implements ProxyChannel {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly streams = new Map<number, { onLine(line: string): void; end(why?: string): void }>();
  private closedWith: string | undefined;
  readonly hello: Promise<Record<string, unknown>>;

  constructor(
    readonly host: string,
    private readonly stream: Duplex,
    private readonly onClose: () => void = () => undefined,
  ) {
    let greet: (hello: Record<string, unknown>) => void = () => undefined;
    let refuse: (error: Error) => void = () => undefined;
    this.hello = new Promise((resolve, reject) => {
      greet = resolve;
      refuse = reject;
    });
    this.hello.catch(() => undefined);
    let greeted = false;
    stream.on(
      "data",
      lineSplitter((line) => {
        let message: Record<string, unknown>;
        try {
          message = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return;
        }
        if (!greeted && "relay" in message) {
          greeted = true;
          if (message.relay === RELAY_PROTOCOL) greet(message);
          else
            refuse(
              new Error(
                `the relay in the proxy container speaks protocol ${String(message.relay)}, this coordinator ${RELAY_PROTOCOL}: replace the proxy container with the current ops image`,
              ),
            );
          return;
        }
        this.dispatch(message);
      }),
    );
    const fail = (why: string) => {
      if (this.closedWith !== undefined) return;
      this.closedWith = why;
      refuse(new Error(why));
      for (const waiting of this.pending.values()) waiting.reject(new Error(why));
      this.pending.clear();
      for (const open of this.streams.values()) open.end(why);
      this.streams.clear();
      this.onClose();
    };
    stream.once("close", () => fail("the relay's stream closed"));
    stream.once("end", () => fail("the relay's stream ended"));
    stream.once("error", (error: Error) => fail(`the relay's stream failed: ${error.message}`));
  }

  private dispatch(message: Record<string, unknown>): void {
    const id = Number(message.id);
    const open = this.streams.get(id);
    if (open) {
      if (Array.isArray(message.lines)) for (const line of message.lines) open.onLine(String(line));
      if (message.end === true) {
        this.streams.delete(id);
        open.end(typeof message.error === "string" ? message.error : undefined);
      }
    }
    const waiting = this.pending.get(id);
    if (!waiting || (open && message.subscribed !== true && message.end !== true)) return;
    this.pending.delete(id);
    if (typeof message.error === "string") waiting.reject(new Error(message.error));
    else waiting.resolve(message as Reply);
  }

  private request(body: Record<string, unknown>, timeoutMs: number): { id: number; reply: Promise<Reply> } {
    const id = this.nextId++;
    if (this.closedWith !== undefined) return { id, reply: Promise.reject(new Error(this.closedWith)) };
    const reply = new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no answer from the relay within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
    this.stream.write(`${JSON.stringify({ id, ...body })}\n`);
    return { id, reply };
  }

  async command(text: string, timeoutMs = 2000): Promise<string> {
    checkRuntimeCommand(text);
    const { reply } = this.request({ cmd: text, timeoutMs }, timeoutMs + 1000);
    return String((await reply).answer ?? "");
  }

  async events(ring: string, onLine: (line: string) => void): Promise<EventStream> {
    let finish: (why?: string) => void = () => undefined;
    const ended = new Promise<string | undefined>((resolve) => (finish = resolve));
    const id = this.nextId;
    this.streams.set(id, { onLine, end: (why) => finish(why) });
    const { reply } = this.request({ events: ring }, 5000);
    try {
      await reply;
    } catch (error) {
      this.streams.delete(id);
      throw error;
    }
    return {
      close: () => {
        if (this.streams.delete(id) && this.closedWith === undefined)
          this.stream.write(`${JSON.stringify({ id: this.nextId++, stop: id })}\n`);
        finish(undefined);
      },
      ended,
    };
  }

  async get(path: string, timeoutMs: number): Promise<WarmupAnswer> {
    const { reply } = this.request({ get: path, timeoutMs }, timeoutMs + 2000);
    const answer = await reply;
    return {
      status: typeof answer.status === "number" ? answer.status : undefined,
      ms: Number(answer.ms),
      error: typeof answer.failed === "string" ? answer.failed : undefined,
    };
  }

  async close(): Promise<void> {
    if (this.closedWith === undefined) this.stream.end();
  }
}
