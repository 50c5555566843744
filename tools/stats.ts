// npm run stats -- --stack <s> [--history-file <path>] [--json]
// Deployment metrics from `pulumi stack history --json`, compared with seed 002's targets.
// Exit 0: report printed; 2: usage, unreadable history, or no pulumi CLI to read it with.
import { Command } from "commander";
import * as path from "path";
import { failure, parseCommandLine, processIo, ToolIo } from "./history/io";
import { deploymentStats, renderStats } from "./history/metrics";
import { HISTORY_FILE_OPTION, readStackHistory } from "./history/pulumi-cli";
import { StackUpdate } from "./history/read";

export const EXIT = { ok: 0, usage: 2 } as const;

interface StatsOptions {
  stack: string;
  historyFile?: string;
  json: boolean;
  projectDir: string;
}

/** Runs the stats tool; returns its exit code. */
export async function main(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  io: ToolIo = processIo,
): Promise<number> {
  const parsed = parseCommandLine<StatsOptions>(
    new Command("stats")
      .description("Deployment metrics of a stack from `pulumi stack history --json`")
      .requiredOption("--stack <name>", "stack to report on")
      .option(...HISTORY_FILE_OPTION)
      .option("--json", "print the metrics as JSON", false)
      .option("--project-dir <dir>", "the Pulumi project pulumi runs in", path.resolve(__dirname, "..")),
    argv,
    EXIT,
  );
  if ("exitCode" in parsed) return parsed.exitCode;
  const { options } = parsed;
  let updates: StackUpdate[];
  try {
    updates = readStackHistory(options, env);
  } catch (error) {
    return failure(io, "stats")(EXIT.usage, (error as Error).message);
  }
  const stats = deploymentStats(options.stack, updates);
  io.out(options.json ? JSON.stringify(stats, null, 2) + "\n" : renderStats(stats));
  return EXIT.ok;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
