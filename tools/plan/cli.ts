// npm run plan -- --stack <name> [--at <ISO-8601 with a zone>] [--json] [--preview] [--stack-file <path>]
//                  [--diff-from <stack file|git ref>]
// The offline preview (tools/plan/index.ts): exit 0 may go out, 1 a mandatory violation or a refusal,
// 2 bad config or usage.
import { Command, CommanderError } from "commander";
import { EXIT, PlanOptions, plan } from "./index";

class UsageError extends Error {}

export function parseArgs(argv: string[]): PlanOptions {
  const program = new Command("plan")
    .description("Run the program offline for a stack and judge it with the policy pack")
    .requiredOption("--stack <name>", "stack to plan (local, staging, production)")
    .option("--at <time>", "ISO-8601 instant to judge at (default: now)")
    .option("--json", "print the DESIGN.md JSON document", false)
    .option("--preview", "judge as a pull-request preview would (deployment window advisory)", false)
    .option("--stack-file <path>", "read the stack's config from this file instead of Pulumi.<stack>.yaml")
    .option(
      "--diff-from <file|ref>",
      "compare with this configuration (a stack file, or a git ref's Pulumi.<stack>.yaml) and say which steps run",
    )
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) })
    .parse(argv, { from: "user" });
  const opts = program.opts<{
    stack: string;
    at?: string;
    json: boolean;
    preview: boolean;
    stackFile?: string;
    diffFrom?: string;
  }>();
  const at = opts.at === undefined ? new Date() : new Date(opts.at);
  if (opts.at !== undefined && (!/^\d{4}-\d{2}-\d{2}T/.test(opts.at) || Number.isNaN(at.getTime()))) {
    throw new UsageError(
      `--at ${JSON.stringify(opts.at)}: expected an ISO-8601 time such as 2026-11-25T11:00:00Z`,
    );
  }
  return {
    stack: opts.stack,
    at,
    json: opts.json,
    preview: opts.preview,
    stackFile: opts.stackFile,
    diffFrom: opts.diffFrom,
  };
}

if (require.main === module) {
  (async () => {
    let options: PlanOptions;
    try {
      options = parseArgs(process.argv.slice(2));
    } catch (error) {
      if (error instanceof CommanderError && error.exitCode === 0) process.exit(0);
      if (error instanceof UsageError) process.stderr.write(`plan: ${error.message}\n`);
      process.exit(EXIT.usage);
    }
    process.exit(await plan(options));
  })().catch((error: unknown) => {
    process.stderr.write(`plan: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(EXIT.usage);
  });
}
