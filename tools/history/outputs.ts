// Reading a stack's outputs (`pulumi stack output --json`, in the CLI's own format: one JSON object,
// secrets shown as "[secret]"): live from the Pulumi CLI, or from a file saved beside a saved history.
import { spawnSync } from "child_process";
import * as fs from "fs";
import { formatCommand } from "../lib/commands";
import { HistoryError } from "./read";
import { requirePulumi } from "./pulumi-cli";

/** The option that reads saved outputs instead of running pulumi (with --history-file). */
export const OUTPUTS_FILE_OPTION = [
  "--outputs-file <path>",
  "read `pulumi stack output --json` from a file (with --history-file; live history reads them with pulumi)",
] as const;

function parseOutputs(text: string, source: string): Record<string, unknown> {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new HistoryError(
      `${source}: not JSON (${(error as Error).message}); produce it with \`pulumi stack output --json\``,
    );
  }
  if (typeof document !== "object" || document === null || Array.isArray(document))
    throw new HistoryError(`${source}: expected the JSON object \`pulumi stack output --json\` prints`);
  return document as Record<string, unknown>;
}

/** A saved `pulumi stack output --json`. */
export function readOutputsFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new HistoryError(
      `--outputs-file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  return parseOutputs(text, file);
}

/**
 * The stack's outputs: from `outputsFile` when given; none for a saved history without one (the tools
 * then go by the history's config alone); else `pulumi stack output --json`.
 */
export function readStackOutputs(
  source: { stack: string; historyFile?: string; outputsFile?: string; projectDir: string },
  env: NodeJS.ProcessEnv,
): Record<string, unknown> | undefined {
  if (source.outputsFile !== undefined) return readOutputsFile(source.outputsFile);
  if (source.historyFile !== undefined) return undefined;
  requirePulumi(env, "reading the stack's outputs needs it");
  const argv = ["pulumi", "stack", "output", "--json", "--stack", source.stack];
  const result = spawnSync(argv[0], argv.slice(1), { cwd: source.projectDir, env, encoding: "utf8" });
  if (result.error || result.status !== 0)
    throw new HistoryError(
      `${formatCommand(argv)} ${result.error ? result.error.message : `exited ${result.status}`}: ${(result.stderr ?? "").trim().split("\n").pop() ?? ""}`,
    );
  return parseOutputs(result.stdout, `pulumi stack output --stack ${source.stack}`);
}
