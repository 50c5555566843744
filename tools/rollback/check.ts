// What a rollback checks before it plans commands for a stack: that every configuration its `pulumi up`
// commands would deploy passes the stack's own config rules (schema/parse.ts), as `plan` judges them.
// (That a saved history is the stack's own is ../history/owner.ts.)
import { ConfigError, parseStackConfig } from "../../schema/parse";
import { applyOverrides, StackConfig } from "../harness/stack-file";
import { SECRET_PLACEHOLDER } from "../harness/types";
import { PlannedCommand } from "../lib/commands";
import { BadInput, configProblemLines } from "../lib/io";

/** Whether a planned command is a `pulumi up`. */
export function isPulumiUp(command: PlannedCommand): boolean {
  return command.argv[0] === "pulumi" && command.argv[1] === "up";
}

/**
 * The configuration each `pulumi up` of the plan deploys: the stack file with the plan's `pulumi config
 * set` commands before it replayed. A secret typed at a prompt is the placeholder every offline run uses.
 */
export function configsAtUpdates(
  base: StackConfig,
  commands: PlannedCommand[],
): { index: number; config: StackConfig }[] {
  let config = base;
  const updates: { index: number; config: StackConfig }[] = [];
  commands.forEach((command, index) => {
    if (command.sets !== undefined) {
      const { key, value } = command.sets;
      config = applyOverrides(config, { [key]: value ?? { secret: SECRET_PLACEHOLDER } });
    }
    if (isPulumiUp(command)) updates.push({ index, config });
  });
  return updates;
}

/**
 * Judges the configuration at each `pulumi up` of the plan with the stack's rules. A secret's value is
 * unknown here (the file holds it encrypted, or it is typed at a prompt): the engine judges those keys.
 * Throws BadInput naming every bad key.
 */
export function checkRollbackConfig(
  base: StackConfig,
  commands: PlannedCommand[],
  request: { stack: string; now: Date; stackFileName: string },
): void {
  for (const { index, config } of configsAtUpdates(base, commands)) {
    try {
      parseStackConfig({
        stack: request.stack,
        values: config.config,
        secretKeys: new Set(config.secretKeys),
        now: request.now,
      });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      const problems = error.problems.filter((problem) => !config.secretKeys.includes(problem.key));
      if (problems.length === 0) continue;
      throw new BadInput(
        configProblemLines(problems).map(
          (line) =>
            `the configuration step ${index + 1} (pulumi up) would deploy is not valid for ${request.stack} ` +
            `(${request.stackFileName} with the rollback's config set): ${line}`,
        ),
      );
    }
  }
}
