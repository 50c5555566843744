// npm run stats -- --stack <s> [--history-file <path>] [--json]
// Deployment metrics from `pulumi stack history --json`, compared with seed 002's targets.
// Exit 0: report printed; 2: usage, unreadable history, or no pulumi CLI to read it with.
import { Command, CommanderError } from "commander";
import * as path from "path";
import { processIo, ToolIo } from "./history/io";
import { deploymentStats, renderStats } from "./history/metrics";
import { readLiveHistory } from "./history/pulumi-cli";
import { readHistoryFile, StackUpdate } from "./history/read";

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
  let options: StatsOptions;
  try {
    options = new Command("stats")
      .description("Deployment metrics of a stack from `pulumi stack history --json`")
      .requiredOption("--stack <name>", "stack to report on")
      .option(
        "--history-file <path>",
        "read `pulumi stack history --json` output from a file instead of running pulumi",
      )
      .option("--json", "print the metrics as JSON", false)
      .option("--project-dir <dir>", "the Pulumi project pulumi runs in", path.resolve(__dirname, ".."))
      .exitOverride()
      .configureOutput({ writeErr: (text) => process.stderr.write(text) })
      .parse(argv, { from: "user" })
      .opts<StatsOptions>();
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    throw error;
  }
  let updates: StackUpdate[];
  try {
    updates =
      options.historyFile !== undefined
        ? readHistoryFile(options.historyFile)
        : readLiveHistory(options.stack, env, options.projectDir);
  } catch (error) {
    io.err(`stats: ${(error as Error).message}\n`);
    return EXIT.usage;
  }
  const stats = deploymentStats(options.stack, updates);
  io.out(options.json ? JSON.stringify(stats, null, 2) + "\n" : renderStats(stats));
  return EXIT.ok;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
