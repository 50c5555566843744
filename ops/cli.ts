// greenlight-ops: the operational steps the command resources call. Thin: each step lives in its own
// module; this file only parses arguments, prints the step's JSON result, and maps failures to exit codes.
import { Command, CommanderError } from "commander";
import { backupCommand } from "./backup";
import { guardCommand } from "./guard";
import { healthGateCommand } from "./health-gate";
import { imageCommand } from "./image";
import { migrateCommand } from "./migrate";
import { notifyCommand } from "./notify";
import { recordCommand } from "./record";
import { restoreCommand } from "./restore";
import { smokeCommand } from "./smoke";
import { StepCommand, StepError } from "./step";
import { Stop, withStopSignals } from "./stop";
import { switchCommand } from "./switch";

/** Every step the CLI offers, in runbook order. */
export const COMMANDS: StepCommand[] = [
  recordCommand,
  backupCommand,
  restoreCommand,
  migrateCommand,
  imageCommand,
  healthGateCommand,
  smokeCommand,
  switchCommand,
  guardCommand,
  notifyCommand,
];

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const program = new Command("greenlight-ops")
    .description("Operational steps of a greenlight release; secrets come in through environment variables")
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  let exitCode = 0;
  for (const step of COMMANDS) {
    step
      .options(program.command(step.name).description(step.description).exitOverride())
      .action(async (options: Record<string, unknown>) => {
        try {
          const result = step.stopsCleanly
            ? await withStopSignals(step.name, (stop) => step.run(options, env, stop))
            : await step.run(options, env, new Stop());
          process.stdout.write(JSON.stringify(result) + "\n");
        } catch (error) {
          exitCode = report(step.name, error);
        }
      });
  }
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    return report("greenlight-ops", error);
  }
  return exitCode;
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
