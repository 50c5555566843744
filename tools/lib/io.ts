// What the lifecycle tools (release, rollback, stats, secret, gen:config) share at their edges: where they
// write (tests pass their own), how they read their command line, and how they report a failure. The
// discipline: help on stdout with exit 0; a usage error or bad input is one line per problem on stderr,
// every problem at once, each naming the option or key, the value and the fix, exit 2; a refusal exit 1;
// the environment failing (a read-only disk, a missing program) exit 5; never a stack trace. The codes
// are contract/exit-codes.ts's. Paths the user types are read from where the user stands (INIT_CWD:
// `npm run` starts a script in the project folder).
import * as path from "path";
import { Command, CommanderError, InvalidArgumentError, OptionValues } from "commander";
import { isHelp, quietParser, usageLine } from "../../ops/lib/options";
import { commandLineProblems } from "../../ops/lib/command-line";
import { EXIT, isEnvironmentError } from "../../contract/exit-codes";
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

/**
 * Input a tool refuses before it changes anything: exit 2, like a usage error; the message is the fix.
 * Several problems are given as a list and printed one line each.
 */
export class BadInput extends Error {
  readonly problems: readonly string[];
  constructor(problems: string | readonly string[]) {
    const list = typeof problems === "string" ? [problems] : problems;
    super(list.join("\n"));
    this.name = "BadInput";
    this.problems = list;
  }
}

/** The tool failed because of its environment (a file system that refuses a write, a program missing): exit 5. */
export class EnvironmentFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EnvironmentFailure";
  }
}

/** A path the user typed, as where they stand sees it: npm run starts scripts in the project folder. */
export function userPath(typed: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.INIT_CWD ?? process.cwd(), typed);
}

/** The options with each named path option resolved from where the user stands (see userPath). */
export function withUserPaths<T extends object>(
  options: T,
  keys: readonly (keyof T)[],
  env: NodeJS.ProcessEnv,
): T {
  const resolved = { ...options };
  for (const key of keys) {
    const value = resolved[key];
    if (typeof value === "string") resolved[key] = userPath(value, env) as T[keyof T];
  }
  return resolved;
}

/**
 * Parses a tool's argv. Help goes to `io.out` and ends with exit code 0; usage errors are one line each on
 * `io.err` (`<tool>: <what>; npm run <tool> -- --help lists the options`), every one at once, exit code 2.
 */
export function parseCommandLine<T extends OptionValues>(
  program: Command,
  argv: string[],
  io: ToolIo,
): { options: T } | { exitCode: number } {
  const name = program.name();
  const hint = `npm run ${name} -- --help lists the options`;
  const problems = commandLineProblems(program, argv);
  if (problems.length > 0) {
    for (const problem of problems) io.err(`${name}: ${problem}; ${hint}\n`);
    return { exitCode: EXIT.usage };
  }
  try {
    return { options: quietParser(program, io.out).parse(argv, { from: "user" }).opts<T>() };
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    if (isHelp(error)) return { exitCode: EXIT.ok };
    io.err(usageLine(name, error, hint) + "\n");
    return { exitCode: EXIT.usage };
  }
}

/**
 * A tool's failure report: writes `<tool>: <message>` to its stderr and returns the exit code. A message
 * is one line; a list of problems is one line each.
 */
export function failure(
  io: ToolIo,
  tool: string,
): (code: number, message: string | readonly string[]) => number {
  return (code, message) => {
    const lines = typeof message === "string" ? [message] : message;
    for (const line of lines) io.err(`${tool}: ${line.replace(/\s*\n\s*/g, " ")}\n`);
    return code;
  };
}

/** Every problem of a stack configuration, one line each: `<key> got <value>; <expected>`. */
export function configProblemLines(problems: ConfigProblem[]): string[] {
  return problems.map((problem) => `${problem.key} got ${problem.received}; ${problem.expected}`);
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

/** An error of the environment (EnvironmentFailure, or a system error such as EACCES), as one line; else undefined. */
export function environmentProblem(error: unknown): string | undefined {
  if (error instanceof EnvironmentFailure) return error.message;
  if (!isEnvironmentError(error)) return undefined;
  const code = error.code as string;
  const where = error.path;
  const fix: Record<string, string> = {
    EACCES: "give this user write access there, or run from a writable copy",
    EPERM: "give this user write access there, or run from a writable copy",
    EROFS: "the file system is read-only: run from a writable copy",
    ENOSPC: "the disk is full: free space",
    EDQUOT: "the disk quota is used up: free space",
  };
  return `${code}${where ? ` on ${where}` : ""}: ${(error as Error).message.split("\n")[0]}${fix[code] ? `; ${fix[code]}` : ""}`;
}

/**
 * The entry point of a tool run as a script: its exit code, and for an error no tool anticipated one line
 * instead of a stack trace, exit 5 (the environment or an unanticipated failure, not a refusal).
 */
export function runAsScript(tool: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      const message = environmentProblem(error) ?? (error instanceof Error ? error.message : String(error));
      process.stderr.write(`${tool}: ${message.split("\n")[0]}\n`);
      process.exit(EXIT.environment);
    },
  );
}
