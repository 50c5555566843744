// Reads `pulumi stack history --json`: an array of updates in the CLI's updateInfoJSON shape
// (pkg/cmd/pulumi/stack/stack_history.go). Secrets come without a value unless --show-secrets was given;
// finished updates carry endTime and resourceChanges, in-progress ones do not.
import * as fs from "fs";
import { z } from "zod";

const configValueSchema = z.object({
  value: z.string().optional(),
  objectValue: z.unknown().optional(),
  secret: z.boolean(),
});

const isoTime = z
  .string()
  .refine((text) => /^\d{4}-\d{2}-\d{2}T/.test(text) && !Number.isNaN(Date.parse(text)), {
    message: "expected an ISO-8601 time such as 2026-11-24T10:15:02.000Z",
  });

const updateSchema = z.object({
  version: z.number().int().nonnegative(),
  kind: z.string().min(1),
  startTime: isoTime,
  message: z.string().default(""),
  environment: z.record(z.string(), z.string()).default({}),
  config: z.record(z.string(), configValueSchema).default({}),
  result: z.string().default("in-progress"),
  endTime: isoTime.optional(),
  resourceChanges: z.record(z.string(), z.number()).optional(),
});

/** One entry of `pulumi stack history --json`. */
export type StackUpdate = z.infer<typeof updateSchema>;

/** The history could not be read: names the entry and field and says how to get a good file. */
export class HistoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HistoryError";
  }
}

/** Validates a parsed `stack history --json` document; returns the updates oldest first. */
export function parseHistory(document: unknown, source: string): StackUpdate[] {
  if (!Array.isArray(document)) {
    throw new HistoryError(
      `${source}: expected a JSON array of updates as printed by \`pulumi stack history --json\``,
    );
  }
  const updates = document.map((entry, index) => {
    const result = updateSchema.safeParse(entry);
    if (!result.success) {
      const issue = result.error.issues[0];
      const field = issue.path.length > 0 ? issue.path.join(".") : "(entry)";
      throw new HistoryError(`${source}: entry ${index}, field ${field}: ${issue.message}`);
    }
    return result.data;
  });
  const seen = new Set<number>();
  for (const update of updates) {
    if (seen.has(update.version)) {
      throw new HistoryError(
        `${source}: version ${update.version} appears twice; is this one stack's history?`,
      );
    }
    seen.add(update.version);
  }
  // The CLI prints newest first; the tools reason oldest first.
  return updates.sort((a, b) => a.version - b.version);
}

/** Parses the text of `pulumi stack history --json`. */
export function parseHistoryText(text: string, source: string): StackUpdate[] {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new HistoryError(
      `${source}: not JSON (${(error as Error).message}); produce it with \`pulumi stack history --json\``,
    );
  }
  return parseHistory(document, source);
}

/** Reads a history file written by `pulumi stack history --json > file`. */
export function readHistoryFile(file: string): StackUpdate[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new HistoryError(
      code === "ENOENT"
        ? `--history-file ${file}: no such file; save the stack's history with pulumi stack history --json --show-secrets=false --stack <stack> --page-size 500 > history.json, or leave out --history-file to read it live`
        : code === "EISDIR"
          ? `--history-file ${file}: a directory, not a file; give the file pulumi stack history --json was saved to`
          : `--history-file ${file}: cannot read it (${code ?? (error as Error).message})`,
    );
  }
  return parseHistoryText(text, file);
}

/** A succeeded `update`: the kind of entry that changed what runs. */
export function isSucceededUpdate(update: StackUpdate): boolean {
  return update.kind === "update" && update.result === "succeeded";
}

/** When an update finished, or started when it has not finished. */
export function finishedAt(update: StackUpdate): Date {
  return new Date(update.endTime ?? update.startTime);
}

/** The live update: the newest succeeded `update` of a history, if any. */
export function liveUpdate(updates: StackUpdate[]): StackUpdate | undefined {
  return [...updates]
    .sort((a, b) => a.version - b.version)
    .filter(isSucceededUpdate)
    .at(-1);
}
