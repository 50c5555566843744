// greenlight-ops: the operational steps the command resources call. Thin: each step lives in its own
// folder (index.ts the step, cli.ts its command line; lib/ what they share); this file only parses
// arguments, prints the step's JSON result, and maps failures to exit codes.
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { backupCommand } from "./backup/cli";
import { guardCommand } from "./guard/cli";
import { healthGateCommand } from "./gate/cli";
import { proxyCommand } from "./proxy/cli";
import { imageCommand } from "./image/cli";
import { migrateCommand } from "./migrate/cli";
import { notifyCommand } from "./notify/cli";
import { EXIT_USAGE, isHelp, quietParser, usageLine } from "./lib/options";
import { recordCommand } from "./record/cli";
import { rehearseCommand } from "./rehearse/cli";
import { restoreCommand } from "./restore/cli";
import { smokeCommand } from "./smoke/cli";
import { StepCommand, StepError } from "./lib/step";
import { Stop, withStopSignals } from "./lib/stop";
import { redactProcessOutput } from "./lib/redact";
import { switchCommand, switchHostsCommand } from "./switch/cli";
import { ENV_STDIN_FLAG } from "./hosts/remote";
import { ENV_NAME } from "../contract/patterns";
import { hostKeysStep, relayStep } from "./control/cli";

/** Every step the CLI offers, in runbook order. */
export const COMMANDS: StepCommand[] = [
  recordCommand,
  backupCommand,
  restoreCommand,
  rehearseCommand,
  migrateCommand,
  imageCommand,
  healthGateCommand,
  smokeCommand,
  switchCommand,
  guardCommand,
  proxyCommand,
  switchHostsCommand,
  hostKeysStep,
  relayStep,
  notifyCommand,
];

/**
 * The NAME=value entries (NUL-separated) a host's step container gets on stdin: its secrets, kept out
 * of the container's configuration. An empty value is an unset variable.
 */
export async function readEnvEntries(
  stream: AsyncIterable<Buffer | string>,
): Promise<Record<string, string>> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  const entries: Record<string, string> = {};
  for (const [index, entry] of Buffer.concat(chunks).toString("utf8").split("\0").entries()) {
    if (entry === "") continue;
    const name = entry.slice(0, Math.max(entry.indexOf("="), 0));
    if (!ENV_NAME.test(name))
      throw new StepError(`${ENV_STDIN_FLAG}: entry ${index + 1} on stdin is not NAME=value`, 2);
    const value = entry.slice(name.length + 1);
    if (value !== "") entries[name] = value;
  }
  return entries;
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (argv[0] === ENV_STDIN_FLAG) {
    try {
      return await main(argv.slice(1), { ...env, ...(await readEnvEntries(process.stdin)) });
    } catch (error) {
      return report("greenlight-ops", error);
    }
  }
  // A failing step's stdout and stderr end up in the update's log: no secret of the step's may be in them.
  const restoreOutput = redactProcessOutput(env);
  try {
    return await runMain(argv, env);
  } finally {
    restoreOutput();
  }
}

async function runMain(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const program = quietParser(
    new Command("greenlight-ops").description(
      "Operational steps of a greenlight release; secrets come in through environment variables",
    ),
    (text) => process.stdout.write(text),
  );
  let exitCode = 0;
  let current: string | undefined;
  program.hook("preSubcommand", (_program, subcommand) => {
    current = subcommand.name();
  });
  for (const step of COMMANDS) {
    step
      .options(program.command(step.name).description(step.description))
      .action(async (options: Record<string, unknown>) => {
        try {
          const result = step.stopsCleanly
            ? await withStopSignals(step.name, (stop) => step.run(options, env, stop))
            : await step.run(options, env, new Stop());
          process.stdout.write(JSON.stringify(result) + "\n");
        } catch (error) {
          // An option value the parser could only judge with others (ports past 65535): still usage.
          if (error instanceof InvalidArgumentError)
            exitCode = usage(usageLine(`greenlight-ops ${step.name}`, error, stepHelp(step.name)));
          else exitCode = report(step.name, error);
        }
      });
  }
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (error) {
    if (!(error instanceof CommanderError)) return report("greenlight-ops", error);
    if (isHelp(error)) return 0;
    if (error.code === "commander.help") {
      // No step named: one line, not the whole help on stderr.
      return usage(
        `greenlight-ops: name a step: ${COMMANDS.map((step) => step.name).join(", ")}; greenlight-ops --help describes them`,
      );
    }
    return usage(
      current === undefined
        ? usageLine("greenlight-ops", error, "greenlight-ops --help lists the steps")
        : usageLine(`greenlight-ops ${current}`, error, stepHelp(current)),
    );
  }
  return exitCode;
}

function stepHelp(step: string): string {
  return `greenlight-ops ${step} --help lists its options`;
}

function usage(line: string): number {
  process.stderr.write(line + "\n");
  return EXIT_USAGE;
}

function report(step: string, error: unknown): number {
  if (error instanceof StepError) {
    if (error.report !== undefined) process.stdout.write(JSON.stringify(error.report) + "\n");
    process.stderr.write(`${step}: ${error.message.split("\n")[0]}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`${step}: ${message.split("\n")[0]}\n`);
  return 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
