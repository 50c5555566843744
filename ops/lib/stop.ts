// A clean stop for the data steps. SIGINT (Ctrl-C) or SIGTERM (a cancelled `pulumi up`, a CI
// timeout) asks the running step to stop its children, remove what it created (a scratch or new
// database, the spool file, an open multipart upload) and exit 130 or 143 with one line, instead of
// dying with all of that left behind. A second signal exits at once.
import { ChildProcess } from "child_process";
import { EXIT } from "../../contract/exit-codes";
import { kill } from "./stream";
import { StepError, StopRequest } from "./step";

export type StopSignal = "SIGINT" | "SIGTERM";

/** 128 + the signal's number, as a shell reports a process the signal ended. */
export const STOP_EXIT_CODES: Record<StopSignal, number> = {
  SIGINT: EXIT.interrupted,
  SIGTERM: EXIT.terminated,
};

/** A stop request, fired at most once; listeners run as it fires (or at once when it already has). */
export class Stop implements StopRequest {
  private by: StopSignal | undefined;
  private readonly listeners = new Set<() => void>();
  private readonly controller = new AbortController();

  get signal(): StopSignal | undefined {
    return this.by;
  }

  get abortSignal(): AbortSignal {
    return this.controller.signal;
  }

  request(signal: StopSignal): void {
    if (this.by) return;
    this.by = signal;
    this.controller.abort(new Error(`stopped by ${signal}`));
    for (const listener of [...this.listeners]) listener();
    this.listeners.clear();
  }

  onStop(listener: () => void): () => void {
    if (this.by) {
      listener();
      return () => undefined;
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** A step's failure because a stop was requested. */
export class StoppedError extends StepError {}

/** The step's failure once a stop was requested: "stopped by SIGTERM; <what was cleaned up>". */
export function stoppedError(stop: StopRequest, cleanedUp?: string): StoppedError {
  const signal = (stop.signal ?? "SIGTERM") as StopSignal;
  return new StoppedError(
    `stopped by ${signal}${cleanedUp ? `; ${cleanedUp}` : ""}`,
    STOP_EXIT_CODES[signal] ?? 143,
  );
}

/** Throws the stop when one was requested: the step's next phase never starts. */
export function throwIfStopped(stop: StopRequest): void {
  if (stop.signal) throw stoppedError(stop);
}

/** Kills `child` (SIGTERM) if a stop is requested while it runs. */
export function killOnStop(stop: StopRequest, child: ChildProcess): void {
  const forget = stop.onStop(() => kill(child));
  child.once("close", forget);
}

/** Waits `ms`, or less when a stop is requested meanwhile. */
export function pause(ms: number, stop: StopRequest): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    const forget = stop.onStop(done);
    function done() {
      clearTimeout(timer);
      forget();
      resolve();
    }
  });
}

/**
 * Runs a step with SIGINT and SIGTERM turned into a stop request; the step cleans up and fails with
 * stoppedError. A second signal ends the process at once with the same exit code.
 */
export async function withStopSignals<T>(step: string, run: (stop: Stop) => Promise<T>): Promise<T> {
  const stop = new Stop();
  const handler = (signal: StopSignal) => () => {
    if (stop.signal) {
      process.stderr.write(`${step}: ${signal} again: exiting without cleaning up\n`);
      process.exit(STOP_EXIT_CODES[signal]);
    }
    stop.request(signal);
  };
  const onInterrupt = handler("SIGINT");
  const onTerminate = handler("SIGTERM");
  process.on("SIGINT", onInterrupt);
  process.on("SIGTERM", onTerminate);
  try {
    return await run(stop);
  } finally {
    process.off("SIGINT", onInterrupt);
    process.off("SIGTERM", onTerminate);
  }
}
