// What the lifecycle tools (release, rollback, stats, secret, gen:config) share at their edges: where they
// write (tests pass their own), how they read their command line, and how they report a failure. The
// discipline: help on stdout with exit 0; a usage error or bad input is ONE line on stderr naming the
// option or key, the value and the fix, exit 2; a refusal is one line, exit 1; never a stack trace.
import { Command, CommanderError, InvalidArgumentError, OptionValues } from "commander";
import { EXIT_USAGE, isHelp, quietParser, usageLine } from "../../ops/lib/options";
import { ConfigProblem } from "../../schema/parse";
import { InstantError, parseInstant } from "../../contract/instant";

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

/** Input a tool refuses before it changes anything: exit 2, like a usage error; the message is the fix. */
export class BadInput extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BadInput";
  }
}

/**
 * Parses a tool's argv. Help goes to `io.out` and ends with exit code 0; a usage error is one line on
 * `io.err` (`<tool>: <what>; npm run <tool> -- --help lists the options`) and exit code 2.
 */
export function parseCommandLine<T extends OptionValues>(
  program: Command,
  argv: string[],
  io: ToolIo,
): { options: T } | { exitCode: number } {
  const name = program.name();
  try {
    return { options: quietParser(program, io.out).parse(argv, { from: "user" }).opts<T>() };
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    if (isHelp(error)) return { exitCode: 0 };
    io.err(usageLine(name, error, `npm run ${name} -- --help lists the options`) + "\n");
    return { exitCode: EXIT_USAGE };
  }
}

/** A tool's failure report: writes `<tool>: <message>` to its stderr and returns the exit code. */
export function failure(io: ToolIo, tool: string): (code: number, message: string) => number {
  return (code, message) => {
    io.err(`${tool}: ${message.replace(/\s*\n\s*/g, " ")}\n`);
    return code;
  };
}

/** Every problem of a stack configuration on one line: `<key> got <value>; <expected>`, separated by " | ". */
export function configProblemsLine(problems: ConfigProblem[]): string {
  return problems.map((problem) => `${problem.key} got ${problem.received}; ${problem.expected}`).join(" | ");
}

/** Commander parser for `--at <time>` and other instants: contract/instant.ts's rules, or a usage error. */
export function instantOption(value: string): Date {
  try {
    return parseInstant(value);
  } catch (error) {
    if (error instanceof InstantError) throw new InvalidArgumentError(error.reason);
    throw error;
  }
}

/** Commander parser for a whole number of at least 1. */
export function positiveIntegerOption(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new InvalidArgumentError(`expected a whole number of at least 1, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/**
 * The entry point of a tool run as a script: its exit code, and for an error no tool anticipated one line
 * (exit 1) instead of a stack trace.
 */
export function runAsScript(tool: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(`${tool}: ${message.split("\n")[0]}\n`);
      process.exit(1);
    },
  );
}
