// Where a lifecycle tool writes; tests pass their own.
import { InvalidArgumentError } from "commander";

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
