// Finding and running the Pulumi CLI for the lifecycle tools (rollback --yes, reading live history).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { formatCommand, pulumiStackHistory } from "../lib/commands";
import { HistoryError, parseHistoryText, readHistoryFile, StackUpdate } from "./read";

/** The Pulumi CLI is needed and not on PATH. */
export class MissingPulumiError extends Error {
  constructor(why: string) {
    super(
      `the Pulumi CLI (pulumi) is not on PATH, and ${why}. Install it (https://www.pulumi.com/docs/install/) ` +
        "and run again, or read a saved history with --history-file <file> for a dry run.",
    );
    this.name = "MissingPulumiError";
  }
}

/** The path of an executable found on PATH, or undefined. */
export function findExecutable(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (dir === "") continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // Not here: keep looking along PATH.
    }
  }
  return undefined;
}

/** Throws MissingPulumiError unless `pulumi` is on PATH. */
export function requirePulumi(env: NodeJS.ProcessEnv, why: string): string {
  const found = findExecutable("pulumi", env);
  if (found === undefined) throw new MissingPulumiError(why);
  return found;
}

/** Runs `pulumi stack history --json` for a stack and parses it. */
export function readLiveHistory(
  stack: string,
  env: NodeJS.ProcessEnv,
  cwd: string,
  pageSize = 500,
): StackUpdate[] {
  requirePulumi(env, "reading the stack's history needs it");
  const argv = pulumiStackHistory(stack, pageSize);
  const result = spawnSync(argv[0], argv.slice(1), {
    cwd,
    env,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.error) throw new HistoryError(`${formatCommand(argv)}: ${result.error.message}`);
  if (result.status !== 0) {
    throw new HistoryError(
      `${formatCommand(argv)} exited ${result.status}: ${(result.stderr ?? "").trim().split("\n").pop() ?? ""}`,
    );
  }
  return parseHistoryText(result.stdout, `pulumi stack history --stack ${stack}`);
}

/** The option that reads a saved history instead of running pulumi (rollback, stats). */
export const HISTORY_FILE_OPTION = [
  "--history-file <path>",
  "read `pulumi stack history --json` output from a file instead of running pulumi",
] as const;

/** A tool's history: the saved `--history-file` when given, else the live one from the Pulumi CLI. */
export function readStackHistory(
  source: { stack: string; historyFile?: string; projectDir: string },
  env: NodeJS.ProcessEnv,
): StackUpdate[] {
  return source.historyFile !== undefined
    ? readHistoryFile(source.historyFile)
    : readLiveHistory(source.stack, env, source.projectDir);
}
