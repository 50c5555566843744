// Whether a saved `pulumi stack history --json` is the stack's own: a staging history must not roll back
// (or be reported as) production. Two stacks never share where they live: the backup bucket, the
// database host and name.
import { StackConfig } from "../harness/stack-file";
import { formatCommand, pulumiStackHistory } from "../lib/commands";
import { BadInput } from "../lib/io";
import { StackUpdate } from "./read";
import { plainValue, qualified, recorded } from "./state";

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
