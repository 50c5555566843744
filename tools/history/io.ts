// What the lifecycle tools (release, rollback, stats) share at their edges: where they write (tests pass
// their own), how they read their command line, and how they report a failure.
import { Command, CommanderError, InvalidArgumentError, OptionValues } from "commander";

export interface ToolIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** A prompt for a secret needs a terminal. */
  stdinIsTTY: boolean;
}

export const processIo: ToolIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  stdinIsTTY: Boolean(process.stdin.isTTY),
};

/**
 * Parses a tool's argv. Commander prints --help and usage errors itself, so on those only the exit code
 * is left: `exit.ok` after help, `exit.usage` after a usage error.
 */
export function parseCommandLine<T extends OptionValues>(
  program: Command,
  argv: string[],
  exit: { ok: number; usage: number },
): { options: T } | { exitCode: number } {
  try {
    return {
      options: program
        .exitOverride()
        .configureOutput({ writeErr: (text) => process.stderr.write(text) })
        .parse(argv, { from: "user" })
        .opts<T>(),
    };
  } catch (error) {
    if (error instanceof CommanderError) return { exitCode: error.exitCode === 0 ? exit.ok : exit.usage };
    throw error;
  }
}

/** A tool's failure report: writes `<tool>: <message>` to its stderr and returns the exit code. */
export function failure(io: ToolIo, tool: string): (code: number, message: string) => number {
  return (code, message) => {
    io.err(`${tool}: ${message}\n`);
    return code;
  };
}

/** Commander parser for `--at <time>`: an ISO-8601 instant, or a usage error naming the fix. */
export function instantOption(value: string): Date {
  const instant = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(instant.getTime())) {
    throw new InvalidArgumentError(
      `expected an ISO-8601 time such as 2026-11-25T11:00:00Z, got ${JSON.stringify(value)}`,
    );
  }
  return instant;
}

/** Commander parser for a whole number of at least 1. */
export function positiveIntegerOption(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new InvalidArgumentError(`expected a whole number of at least 1, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}
