// Streaming helpers for the data steps: one pass over a dump feeds the upload, the validators and
// the hash at once, with backpressure, so memory stays bounded whatever the database size.
import { ChildProcess } from "child_process";
import { Readable, Writable } from "stream";
import { finished } from "stream/promises";
import { progress } from "./step";

/** A destination of the fan-out. An optional sink may stop reading early (pg_restore --list). */
export interface Sink {
  name: string;
  stream: Writable;
  optional?: boolean;
  /** Not ended when the source ends (the caller ends it once every check has passed). */
  keepOpen?: boolean;
  /** Bytes the sink may fall behind before the source waits for it. Default: its stream's own limit. */
  lagBytes?: number;
}

/** Bytes seen so far and when counting started, for progress lines. */
export interface Meter {
  bytes: number;
  startedAt: number;
}

export function newMeter(): Meter {
  return { bytes: 0, startedAt: Date.now() };
}

/** "123.4 MB in 12 s (10.3 MB/s)". */
export function formatRate(meter: Meter, now = Date.now()): string {
  const seconds = Math.max((now - meter.startedAt) / 1000, 0.001);
  const megabytes = meter.bytes / 1e6;
  return `${megabytes.toFixed(1)} MB in ${seconds.toFixed(0)} s (${(megabytes / seconds).toFixed(1)} MB/s)`;
}

/** Prints a progress line every `everySeconds` until the returned function is called. */
export function startProgress(step: string, describe: () => string, everySeconds: number): () => void {
  if (everySeconds <= 0) return () => undefined;
  const timer = setInterval(() => progress(step, describe()), everySeconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Copies `source` into every sink, chunk by chunk, waiting for the slowest sink (backpressure).
 * `onChunk` sees each chunk first (hashing, counting). A required sink that closes or fails rejects;
 * an optional one is dropped. Sinks are ended (and flushed) when the source ends, except keepOpen ones.
 */
export async function fanOut(
  source: Readable,
  sinks: Sink[],
  onChunk: (chunk: Buffer) => void = () => undefined,
): Promise<void> {
  const failures = new Map<Sink, Error>();
  for (const sink of sinks) {
    // A child's stdin that closed early raises EPIPE asynchronously; remember it instead of crashing.
    sink.stream.on("error", (error: Error) => failures.set(sink, error));
  }
  let active = [...sinks];
  const write = (sink: Sink, chunk: Buffer): Promise<boolean> => {
    const closed = failures.has(sink) || sink.stream.destroyed || sink.stream.writableEnded;
    if (closed) {
      if (sink.optional) return Promise.resolve(false);
      return Promise.reject(
        new Error(`${sink.name} stopped reading: ${failures.get(sink)?.message ?? "stream closed"}`),
      );
    }
    if (sink.stream.write(chunk) || sink.stream.writableLength <= (sink.lagBytes ?? 0))
      return Promise.resolve(true);
    return new Promise<boolean>((resolve, reject) => {
      const done = (kept: boolean, error?: Error) => {
        sink.stream.off("drain", onDrain);
        sink.stream.off("close", onClose);
        if (error && !sink.optional) reject(error);
        else resolve(kept);
      };
      const onDrain = () => done(true);
      const onClose = () =>
        done(false, new Error(`${sink.name} stopped reading: ${failures.get(sink)?.message ?? "closed"}`));
      sink.stream.once("drain", onDrain);
      sink.stream.once("close", onClose);
    });
  };
  for await (const chunk of source) {
    const buffer = chunk as Buffer;
    onChunk(buffer);
    const kept = await Promise.all(active.map((sink) => write(sink, buffer)));
    active = active.filter((_, index) => kept[index]);
  }
  const ending = active.filter((sink) => !sink.keepOpen);
  for (const sink of ending) sink.stream.end();
  await Promise.all(
    ending.map((sink) =>
      finished(sink.stream, { readable: false }).catch((error: Error) => {
        if (!sink.optional) throw new Error(`${sink.name} failed: ${error.message}`);
      }),
    ),
  );
}

/** The result of a child process: exit code (or signal) and the tail of its stderr. */
export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Resolves when a child exits; keeps the last `keepBytes` of its stderr. */
export function childExit(child: ChildProcess, keepBytes = 8192): Promise<ChildResult> {
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-keepBytes);
  });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ code, signal, stderr }));
  });
}

/** Collects a child's stdout as text (bounded). */
export function collectStdout(child: ChildProcess, limitBytes = 16 * 1024 * 1024): Promise<string> {
  const out = child.stdout;
  if (!out) return Promise.resolve("");
  let stdout = "";
  out.on("data", (chunk: Buffer) => {
    if (stdout.length < limitBytes) stdout += chunk.toString();
  });
  return new Promise((resolve) => out.once("close", () => resolve(stdout)));
}

/** The most telling line of a tool's stderr: its first "error:" line, else its last line. */
export function firstErrorLine(stderr: string): string {
  const lines = stderr
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
  return lines.find((line) => /error:|FATAL:/i.test(line)) ?? lines[lines.length - 1] ?? "no message";
}

/** Describes how a child ended: "exit 1" or "signal SIGKILL". */
export function describeExit(result: ChildResult): string {
  return result.signal ? `signal ${result.signal}` : `exit ${result.code}`;
}

/** Stops a child that is still running. */
export function kill(child: ChildProcess | undefined): void {
  if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
}
