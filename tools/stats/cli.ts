// npm run stats -- --stack <s> [--history-file <path>] [--json]
// Deployment metrics from `pulumi stack history --json`, compared with the targets of the metrics runbook.
// Exit 0: report printed; 2: usage, unreadable history, or no pulumi CLI to read it with.
import { Command } from "commander";
import { failure, parseCommandLine, processIo, runAsScript, ToolIo } from "../lib/io";
import { deploymentStats, renderStats } from ".";
import { HISTORY_FILE_OPTION, MissingPulumiError, readStackHistory } from "../history/pulumi-cli";
import { HistoryError, StackUpdate } from "../history/read";
import { PROJECT_DIR } from "../lib/project-root";

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
      .option("--project-dir <dir>", "the Pulumi project pulumi runs in", PROJECT_DIR),
    argv,
    io,
  );
  if ("exitCode" in parsed) return parsed.exitCode;
  const { options } = parsed;
  let updates: StackUpdate[];
  try {
    updates = readStackHistory(options, env);
  } catch (error) {
    if (error instanceof HistoryError || error instanceof MissingPulumiError) {
      return failure(io, "stats")(EXIT.usage, error.message);
    }
    throw error;
  }
  const stats = deploymentStats(options.stack, updates);
  io.out(options.json ? JSON.stringify(stats, null, 2) + "\n" : renderStats(stats));
  return EXIT.ok;
}

if (require.main === module) runAsScript("stats", () => main(process.argv.slice(2)));
