// What a stopped `rollback --yes` tells the on-call, in order: first what it left switched on (maintenance
// mode, and whether the database was restored), then which steps ran, what the stack file holds, and the
// commands to continue or to undo. Pure: the outcome and the plan in, lines out.
import { formatCommand, PlannedCommand, pulumiConfigSet, pulumiUp } from "../lib/commands";
import type { RunOutcome } from "../lib/run-commands";
import { qualified } from "../history/state";

const MAINTENANCE = qualified("maintenanceMode");

const isUpdate = (command: PlannedCommand) => command.argv[0] === "pulumi" && command.argv[1] === "up";
const isRestore = (command: PlannedCommand) =>
  command.argv.includes("restore") && command.argv.includes("--confirm");

/** Where maintenance went on and off in the plan, and where the database was restored. */
function maintenanceSteps(commands: PlannedCommand[]) {
  const on = commands.findIndex(
    (command) => command.sets?.key === MAINTENANCE && command.sets.value === "on",
  );
  const applied = on < 0 ? -1 : commands.findIndex((command, index) => index > on && isUpdate(command));
  const back = commands.find(
    (command, index) => index > on && command.sets?.key === MAINTENANCE && command.sets.value !== "on",
  );
  return { applied, restore: commands.findIndex(isRestore), offValue: back?.sets?.value };
}

/** The lines a stopped run prints; the first says what is left switched on, when something is. */
export function describeStop(
  stack: string,
  commands: PlannedCommand[],
  outcome: Extract<RunOutcome, { ok: false }>,
): string[] {
  const lines: string[] = [];
  const step = outcome.ran + 1;
  const { applied, restore, offValue } = maintenanceSteps(commands);
  // Maintenance mode went on with the update at `applied`, and the update that lets traffic in is the last.
  if (applied >= 0 && outcome.ran > applied && offValue !== undefined) {
    if (restore >= 0 && outcome.ran > restore) {
      lines.push(
        `MAINTENANCE MODE IS ON and the database now holds the restored backup: keep it on until the rollback's release serves — ` +
          `fix the cause and run step ${step} onwards below (turning maintenance off now would let the newer release write to the older schema)`,
      );
    } else {
      const undo = [
        pulumiConfigSet(stack, MAINTENANCE, offValue),
        pulumiUp(stack, "rollback stopped before the restore: maintenance off again", true),
      ];
      lines.push(
        `MAINTENANCE MODE IS ON (the site answers 503) and the database is as it was; to let traffic in again run: ` +
          undo.map(formatCommand).join(" && "),
      );
    }
  }
  const cause = outcome.interrupted
    ? `interrupted at step ${step}/${commands.length} (${formatCommand(outcome.failed.argv)})`
    : `stopped at step ${step}/${commands.length} (${formatCommand(outcome.failed.argv)}), exit code ${outcome.exitCode}`;
  const done = outcome.ran === 0 ? "nothing ran before it" : `steps 1–${outcome.ran} ran`;
  lines.push(`${cause}; ${done}`);
  const file = `Pulumi.${stack}.yaml`;
  let from = step;
  if (typeof outcome.stackFile === "object") {
    from = outcome.stackFile.restoredAfter + 1;
    lines.push(
      outcome.stackFile.restoredAfter === 0
        ? `${file} is back as it was before the rollback (no half-applied config)`
        : `${file} is back as it was after step ${outcome.stackFile.restoredAfter} (no half-applied config)`,
    );
  } else if (outcome.stackFile === "kept") {
    lines.push(
      isUpdate(outcome.failed)
        ? `${file} holds the config of step ${step} in full`
        : `${file} is as step ${outcome.ran} left it`,
    );
  }
  lines.push(
    from > commands.length
      ? "nothing is left to run"
      : `to continue, fix the cause and run steps ${from}–${commands.length} of the plan above in order, ` +
          `from: ${formatCommand(commands[from - 1].argv)}`,
  );
  return lines;
}
