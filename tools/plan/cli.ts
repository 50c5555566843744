// npm run plan -- --stack <name> [--at <ISO-8601 with a zone>] [--json] [--preview] [--stack-file <path>]
//                  [--diff-from <stack file|git ref>] [--outputs-file <pulumi stack output --json>]
// The offline preview (tools/plan/index.ts): exit 0 may go out, 1 a mandatory violation or a refusal,
// 2 bad config or usage.
import { Command } from "commander";
import * as fs from "fs";
import { ToolIo, instantOption, parseCommandLine, processIo, userPath, withUserPaths } from "../lib/io";
import { EXIT, PlanOptions, plan } from "./index";

function planCommand(): Command {
  return new Command("plan")
    .description("Run the program offline for a stack and judge it with the policy pack")
    .requiredOption("--stack <name>", "stack to plan (local, staging, production)")
    .option("--at <time>", "ISO-8601 instant with a zone to judge at (default: now)", instantOption)
    .option("--json", "print the plan as JSON: {stack, at, resources, violations[, diff]}", false)
    .option(
      "--wide",
      "print every line whole (by default lines fit 100 columns; commands are shortened)",
      false,
    )
    .option("--preview", "judge as a pull-request preview would (deployment window advisory)", false)
    .option("--stack-file <path>", "read the stack's config from this file instead of Pulumi.<stack>.yaml")
    .option(
      "--diff-from <file|ref>",
      "compare with this configuration (a stack file, or a git ref's Pulumi.<stack>.yaml) and say which steps run",
    )
    .option(
      "--outputs-file <path>",
      "the stack's `pulumi stack output --json`: report what the last migration rehearsal found (locks, classification)",
    );
}

/** Runs the plan command line; returns its exit code (bin/launch.js exits with it). */
export async function main(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  io: ToolIo = processIo,
): Promise<number> {
  const parsed = parseCommandLine<Omit<PlanOptions, "at"> & { at?: Date }>(planCommand(), argv, io);
  if ("exitCode" in parsed) return parsed.exitCode;
  const typed = withUserPaths(parsed.options, ["stackFile"], env);
  // --diff-from names a stack file where the user stands, or else a git ref.
  const diffFile = typed.diffFrom === undefined ? undefined : userPath(typed.diffFrom, env);
  const options: PlanOptions = {
    ...typed,
    diffFrom: diffFile !== undefined && fs.existsSync(diffFile) ? diffFile : typed.diffFrom,
    diffFromLabel: typed.diffFrom,
    at: typed.at ?? new Date(),
  };
  try {
    return await plan(options, io.out, io.err);
  } catch (error) {
    io.err(`plan: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}\n`);
    return EXIT.usage;
  }
}

if (require.main === module) main(process.argv.slice(2)).then((code) => process.exit(code));
