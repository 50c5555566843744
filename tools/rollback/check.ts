// What a rollback checks before it plans commands for a stack: that a saved history is that stack's (a
// staging history must not tag releases into production), and that every configuration its `pulumi up`
// commands would deploy passes the stack's own config rules (schema/parse.ts), as `plan` judges them.
import { ConfigError, parseStackConfig } from "../../schema/parse";
import { applyOverrides, StackConfig } from "../harness/stack-file";
import { SECRET_PLACEHOLDER } from "../harness/types";
import { PlannedCommand, pulumiStackHistory, formatCommand } from "../lib/commands";
import { BadInput, configProblemsLine } from "../lib/io";
import { StackUpdate } from "../history/read";
import { plainValue, qualified, recorded } from "../history/state";

/** Keys that say where a stack lives: two stacks never share all of them. */
const WHERE_KEYS = ["backupBucket", "dbHost", "dbName"] as const;

/**
 * Refuses a saved history whose live update ran elsewhere than the stack file says the stack lives
 * (another database or backup bucket): it is another stack's history.
 */
export function checkHistoryIsStacks(
  live: StackUpdate,
  stackFile: StackConfig,
  request: { stack: string; historyFile: string; stackFileName: string },
): void {
  const differences = WHERE_KEYS.map((key) => ({
    key: qualified(key),
    history: plainValue(recorded(live, key)),
    file: stackFile.secretKeys.includes(qualified(key)) ? undefined : stackFile.config[qualified(key)],
  })).filter(
    (entry) => entry.history !== undefined && entry.file !== undefined && entry.history !== entry.file,
  );
  if (differences.length === 0) return;
  const { stack } = request;
  throw new BadInput(
    `--history-file ${request.historyFile} is not ${stack}'s history: its live update v${live.version} ran ` +
      differences.map((entry) => `${entry.key} ${entry.history}`).join(", ") +
      `, while ${request.stackFileName} holds ` +
      differences.map((entry) => entry.file).join(", ") +
      `; save ${stack}'s own with ${formatCommand(pulumiStackHistory(stack, 500))} > history.json`,
  );
}

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
        `the configuration step ${index + 1} (pulumi up) would deploy is not valid for ${request.stack} ` +
          `(${request.stackFileName} with the rollback's config set): ` +
          configProblemsLine(problems),
      );
    }
  });
}
