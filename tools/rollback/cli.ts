// npm run rollback -- --stack <s> [--to <version>] [--history-file <path> [--outputs-file <path>]] [--json] [--yes]
// Plans a rollback from `pulumi stack history --json`: flip to the warm color, redeploy the target's
// release, or restore the backup taken before a breaking schema change. Dry run unless --yes.
// Checks first: Pulumi.yaml and the stack file exist, a saved history is the stack's own, and every
// configuration the commands would deploy passes the stack's config rules.
// Exit 0: planned (or ran); 1: refused, or a command failed (its exit code); 2: usage, bad input (a
// missing file, another stack's history, a configuration the stack's rules refuse), no pulumi.
// This is the command line; the plan is ./index.ts.
import { Command } from "commander";
import { EXIT } from "../../contract/exit-codes";
import {
  BadInput,
  failure,
  instantOption,
  parseCommandLine,
  positiveIntegerOption,
  processIo,
  runAsScript,
  ToolIo,
  withUserPaths,
} from "../lib/io";
import { OverrideFlags, overrideFromFlags, overrideOptions } from "../lib/override";
import { HISTORY_FILE_OPTION, MissingPulumiError } from "../history/pulumi-cli";
import { runInOrder } from "../lib/run-commands";
import { describeStop } from "./stopped";
import * as path from "path";
import { OUTPUTS_FILE_OPTION } from "../history/outputs";
import { HistoryError } from "../history/read";
import { prepareRollback, RollbackPlan } from ".";
import { planDocument, renderPlan } from "./render";
import { RollbackRefusal } from "./target";
import { StackYamlError } from "../lib/stack-yaml";
import { PROJECT_DIR } from "../lib/project-root";

interface RollbackOptions extends OverrideFlags {
  stack: string;
  to?: number;
  historyFile?: string;
  outputsFile?: string;
  json: boolean;
  wide: boolean;
  yes: boolean;
  maxAgeDays: number;
  at?: Date;
  projectDir: string;
}

function rollbackCommand(): Command {
  const command = new Command("rollback")
    .description("Plan (and with --yes run) a rollback from `pulumi stack history --json`")
    .requiredOption("--stack <name>", "stack to roll back (staging, production, …)")
    .option(
      "--to <version>",
      "history version to roll back to, as the plan prints it (v11) or as a number (default: the last good state)",
      versionOption,
    )
    .option(...HISTORY_FILE_OPTION)
    .option(...OUTPUTS_FILE_OPTION)
    .option("--json", "print the plan as JSON", false)
    .option(
      "--wide",
      "print every line whole (by default lines fit 100 columns; commands wrap with \\ and are never cut)",
      false,
    )
    .option(
      "--yes",
      "run the commands (pulumi config set …, then pulumi up), stopping at the first failure",
      false,
    )
    .option("--max-age-days <days>", "refuse a target older than this", positiveIntegerOption, 30)
    .option(
      "--at <time>",
      "instant with a zone ages are measured from, e.g. 2026-11-24T12:00:00Z (default: now)",
      instantOption,
    )
    .option("--project-dir <dir>", "the Pulumi project the commands run in", PROJECT_DIR);
  return overrideOptions(command, "rollback", "the incident ticket");
}

/** `--to v11` or `--to 11`: the plan and `pulumi stack history` print versions both ways. */
function versionOption(value: string): number {
  return positiveIntegerOption(value.replace(/^v(?=\d)/i, ""));
}

/** Runs the rollback tool; returns its exit code. */
export async function main(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  io: ToolIo = processIo,
): Promise<number> {
  const parsed = parseCommandLine<RollbackOptions>(rollbackCommand(), argv, io);
  if ("exitCode" in parsed) return parsed.exitCode;
  const options = withUserPaths(parsed.options, ["historyFile", "projectDir"], env);
  const fail = failure(io, "rollback");

  const now = options.at ?? new Date();
  const override = overrideFromFlags(options, now);
  if (override !== undefined && "problems" in override) return fail(EXIT.usage, override.problems);

  let plan: RollbackPlan;
  try {
    plan = await prepareRollback(
      {
        stack: options.stack,
        to: options.to,
        historyFile: options.historyFile,
        outputsFile: options.outputsFile,
        maxAgeDays: options.maxAgeDays,
        projectDir: options.projectDir,
        now,
        override,
        run: options.yes,
        rerun: [
          "npm",
          "run",
          "rollback",
          "--",
          "--stack",
          options.stack,
          ...(options.historyFile !== undefined ? ["--history-file", options.historyFile] : []),
          ...(options.projectDir !== PROJECT_DIR ? ["--project-dir", options.projectDir] : []),
        ],
      },
      env,
    );
  } catch (error) {
    if (error instanceof RollbackRefusal) return fail(EXIT.refused, error.message);
    if (error instanceof MissingPulumiError) return fail(EXIT.environment, error.message);
    if (error instanceof BadInput) return fail(EXIT.usage, error.problems);
    if (error instanceof StackYamlError || error instanceof HistoryError)
      return fail(EXIT.usage, error.message);
    throw error;
  }

  io.out(
    options.json
      ? JSON.stringify(planDocument(plan), null, 2) + "\n"
      : renderPlan(plan, !options.yes, options.wide),
  );
  // plan --diff-from's refusal: an update must never replace the serving color's containers in place.
  const inPlace = plan.updates.flatMap((update) => update.refusals.map((refusal) => ({ update, refusal })));
  if (inPlace.length > 0) {
    return fail(
      EXIT.refused,
      inPlace.map(
        ({ update, refusal }) =>
          `refused: step ${update.index + 1} (pulumi up): ${refusal.split(";")[0]}; undo that setting in Pulumi.${plan.stack}.yaml (the plan's notes name what differs from the live config) and plan again`,
      ),
    );
  }
  if (!options.yes) return EXIT.ok;
  if (plan.window?.blocked) {
    return fail(
      EXIT.refused,
      `not running: the deployment window is closed at ${plan.window.at} (${plan.window.closedBecause}) and the policy pack ` +
        `would stop the rollback's pulumi up; with the on-call approver's sign-off run: ${plan.window.overrideCommand}`,
    );
  }

  if (plan.manual.length > 0) {
    return fail(EXIT.refused, `not running: first ${plan.manual.join("; ")}`);
  }
  if (plan.commands.some((command) => command.interactive) && !io.stdinIsTTY) {
    return fail(
      EXIT.refused,
      "not running: a secret must be typed at `pulumi config set --secret` and stdin is not a terminal; run it in a terminal",
    );
  }
  const outcome = await runInOrder(plan.commands, {
    cwd: options.projectDir,
    env,
    log: (line) => io.err(`rollback: ${line}\n`),
    outputToStderr: options.json,
    stackFile: path.join(options.projectDir, `Pulumi.${plan.stack}.yaml`),
  });
  if (!outcome.ok) return fail(outcome.exitCode, describeStop(plan.stack, plan.commands, outcome));
  io.err(`rollback: ${plan.stack} rolled back to v${plan.to.version} (${plan.to.release}, ${plan.action})\n`);
  return EXIT.ok;
}

if (require.main === module) runAsScript("rollback", () => main(process.argv.slice(2)));
