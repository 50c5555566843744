// npm run stats -- --stack <s> [--history-file <path>] [--json]
// Deployment metrics from `pulumi stack history --json`, compared with the targets of the metrics runbook.
// Exit 0: report printed; 2: usage, unreadable history, a stack this project does not have, or a saved
// history that is another stack's; 5: no pulumi CLI to read the live history with.
import { Command } from "commander";
import * as path from "path";
import {
  BadInput,
  failure,
  parseCommandLine,
  processIo,
  runAsScript,
  ToolIo,
  withUserPaths,
} from "../lib/io";
import { readProjectStack } from "../lib/project";
import { checkHistoryIsStacks } from "../history/owner";
import { deploymentStats, renderStats } from ".";
import { HISTORY_FILE_OPTION, MissingPulumiError, readStackHistory } from "../history/pulumi-cli";
import { HistoryError, liveUpdate, StackUpdate } from "../history/read";
import { PROJECT_DIR } from "../lib/project-root";

import { EXIT } from "../../contract/exit-codes";

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
  const options = withUserPaths(parsed.options, ["historyFile", "projectDir"], env);
  const fail = failure(io, "stats");
  let updates: StackUpdate[];
  try {
    // The stack must be this project's, and a saved history that stack's own (not any history at all).
    const { file, config } = readProjectStack(options.projectDir, options.stack);
    updates = readStackHistory(options, env);
    const live = liveUpdate(updates);
    if (options.historyFile !== undefined && live !== undefined)
      checkHistoryIsStacks(live, config, {
        stack: options.stack,
        historyFile: options.historyFile,
        stackFileName: path.basename(file),
      });
  } catch (error) {
    if (error instanceof MissingPulumiError) return fail(EXIT.environment, error.message);
    if (error instanceof BadInput) return fail(EXIT.usage, error.problems);
    if (error instanceof HistoryError) return fail(EXIT.usage, error.message);
    throw error;
  }
  const stats = deploymentStats(options.stack, updates);
  io.out(options.json ? JSON.stringify(stats, null, 2) + "\n" : renderStats(stats));
  return EXIT.ok;
}

if (require.main === module) runAsScript("stats", () => main(process.argv.slice(2)));
