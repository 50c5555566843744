// Option parsers shared by the release steps: commander calls them per value, and an
// InvalidArgumentError becomes "option '--x <n>' argument 'y' is invalid. <why>" with exit 2.
// Also the command-line discipline every greenlight CLI keeps (the steps and the tools): help on stdout
// with exit 0, a usage error as ONE line naming the option, the value and where the fix is, exit 2.
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { HOST, RELEASE_ID, URL_PATH, isImageRef } from "../../contract/patterns";
import { COLORS, Color } from "../../schema/types";
import { EXIT } from "../../contract/exit-codes";

export function integer(min: number, max: number): (value: string) => number {
  return (value: string) => {
    if (!/^-?\d+$/.test(value.trim()))
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    const parsed = Number(value);
    if (parsed < min || parsed > max)
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    return parsed;
  };
}

export const port = integer(1, 65535);

export function color(value: string): Color {
  if (!COLORS.includes(value as Color)) throw new InvalidArgumentError("expected blue or green");
  return value as Color;
}

export function releaseId(value: string): string {
  if (!RELEASE_ID.test(value)) {
    throw new InvalidArgumentError("expected 1-64 letters, digits, '.', '_' or '-'");
  }
  return value;
}

export function host(value: string): string {
  if (!HOST.test(value)) throw new InvalidArgumentError("expected a host name or IPv4 address");
  return value;
}

export function imageRef(value: string): string {
  if (!isImageRef(value)) {
    throw new InvalidArgumentError("expected a Docker image reference such as registry/shop@sha256:<64 hex>");
  }
  return value;
}

export function urlPath(value: string): string {
  if (!URL_PATH.test(value)) throw new InvalidArgumentError("expected an absolute path such as /health");
  return value;
}

/** Collects a repeatable option into a list, each value checked by `parse`. */
export function repeatable<T>(
  parse: (value: string) => T,
): (value: string, previous: T[] | undefined) => T[] {
  return (value, previous) => [...(previous ?? []), parse(value)];
}

/** Replica ports: hostPort, hostPort+1, … (replica i listens on hostPort+i). */
export function replicaPorts(hostPort: number, replicas: number): number[] {
  if (hostPort + replicas - 1 > 65535) {
    throw new InvalidArgumentError(`port ${hostPort} + ${replicas} replicas runs past 65535`);
  }
  return Array.from({ length: replicas }, (_, replica) => hostPort + replica);
}

/** The color under test and where its replicas answer: shared by health-gate and smoke. */
export interface ColorTarget {
  color: Color;
  release: string;
  host: string;
  /** One port per replica. */
  ports: number[];
}

export function addTargetOptions(command: Command): Command {
  return command
    .requiredOption("--color <color>", "color under test: blue or green", color)
    .requiredOption("--release <id>", "release the color runs", releaseId)
    .requiredOption("--port <port>", "host port of replica 0 (replica i on port+i)", port)
    .option("--replicas <n>", "replicas of the color", integer(1, 16), 1)
    .option("--host <host>", "address the replicas are reached at", host, "127.0.0.1");
}

export function targetFromOptions(options: Record<string, unknown>): ColorTarget {
  return {
    color: options.color as Color,
    release: String(options.release),
    host: String(options.host),
    ports: replicaPorts(Number(options.port), Number(options.replicas)),
  };
}

/** Exit code of a usage error or bad input, for every greenlight command line. */
export const EXIT_USAGE = EXIT.usage;

/**
 * Makes commander throw instead of exiting, print help to `out`, and print nothing of its own on errors:
 * the caller reports them with `usageLine`. Subcommands created afterwards inherit this.
 */
export function quietParser(program: Command, out: (text: string) => void): Command {
  return program.exitOverride().configureOutput({
    writeOut: out,
    writeErr: () => undefined,
    outputError: () => undefined,
  });
}

/** A commander failure as one line: `<name>: <what>; <where the fix is>` (no "error:" prefix, no help dump). */
export function usageLine(name: string, error: CommanderError | InvalidArgumentError, help: string): string {
  const what = error.message
    .replace(/^error: /, "")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .join(" ")
    .replace(/\.$/, "");
  return `${name}: ${what}; ${help}`;
}

/** Help and version end with exit code 0 and are not failures. */
export function isHelp(error: CommanderError): boolean {
  return error.exitCode === 0;
}
