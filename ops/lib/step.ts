import { Command } from "commander";

/** A failure with the one-line reason the CLI prints on stderr, and its exit code. */
export class StepError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
    /** Measured numbers or a report, printed as JSON on stdout before the reason. */
    readonly report?: unknown,
    /** What a webhook notice may say of the failure: never text of the app's (its answers stay in the step's output). */
    readonly notice?: string,
  ) {
    super(message);
    this.name = "StepError";
  }
}

/** A request to stop a step cleanly (lib/stop.ts turns SIGINT and SIGTERM into one). */
export interface StopRequest {
  /** The signal that asked for the stop, once one has. */
  readonly signal: NodeJS.Signals | undefined;
  /** Aborted when the stop is requested, for APIs that take an AbortSignal. */
  readonly abortSignal: AbortSignal;
  /** Calls `listener` when the stop is requested (at once if it was); returns a function that forgets it. */
  onStop(listener: () => void): () => void;
}

/** One operational step as the CLI exposes it: `greenlight-ops <name> [options]`. */
export interface StepCommand {
  name: string;
  description: string;
  /** Declares the step's options on its commander sub-command. */
  options(command: Command): Command;
  /** SIGINT and SIGTERM ask the step to clean up and exit 130/143 (the data steps), not end it at once. */
  stopsCleanly?: boolean;
  /** Runs the step; the returned object is printed as one line of JSON on stdout. */
  run(options: Record<string, unknown>, env: NodeJS.ProcessEnv, stop: StopRequest): Promise<unknown>;
}

/** Reads a required environment variable (secrets and connection strings never come in as arguments). */
export function requireEnv(env: NodeJS.ProcessEnv, name: string, what: string): string {
  const value = env[name];
  if (value === undefined || value === "") {
    throw new StepError(
      `${name} is not set: it must carry ${what} (secrets come in through the environment)`,
      2,
    );
  }
  return value;
}

/** Progress on stderr, one line, so stdout stays one JSON object. */
export function progress(step: string, message: string): void {
  process.stderr.write(`[${step}] ${message}\n`);
}
