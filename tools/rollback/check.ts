// What a rollback checks before it plans commands for a stack: that every configuration its `pulumi up`
// commands would deploy passes the stack's own config rules (schema/parse.ts), as `plan` judges them.
// (That a saved history is the stack's own is ../history/owner.ts.)
import { ConfigError, parseStackConfig } from "../../schema/parse";
import { applyOverrides, StackConfig } from "../harness/stack-file";
import { SECRET_PLACEHOLDER } from "../harness/types";
import { PlannedCommand } from "../lib/commands";
import { BadInput, configProblemLines } from "../lib/io";

/**
 * Replays the plan's `pulumi config set` commands over the stack file and judges the configuration at
 * each `pulumi up` with the stack's rules. A secret's value is unknown here (the file holds it encrypted,
 * or it is typed at a prompt): the engine judges those keys. Throws BadInput naming every bad key.
 */
export function checkRollbackConfig(
  base: StackConfig,
  commands: PlannedCommand[],
  request: { stack: string; now: Date; stackFileName: string },
): void {
  let config = base;
  commands.forEach((command, index) => {
    if (command.sets !== undefined) {
      const { key, value } = command.sets;
      config = applyOverrides(config, { [key]: value ?? { secret: SECRET_PLACEHOLDER } });
    }
    if (command.argv[0] !== "pulumi" || command.argv[1] !== "up") return;
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
      if (problems.length === 0) return;
      throw new BadInput(
        configProblemLines(problems).map(
          (line) =>
            `the configuration step ${index + 1} (pulumi up) would deploy is not valid for ${request.stack} ` +
            `(${request.stackFileName} with the rollback's config set): ${line}`,
        ),
      );
    }
  });
}
