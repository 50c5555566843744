// What the last migration rehearsal found, from the stack's outputs (`pulumi stack output --json`,
// --outputs-file): the plan of the next update reports its classification and every ACCESS EXCLUSIVE
// lock it saw on a large table, so the people about to release see what the last migration held.

/** The last rehearsal as the plan reports it. */
export interface LastRehearsal {
  release: string;
  classification: string;
  verdict?: string;
  durationMs?: number;
  /** "skipped" when nothing was pending. */
  migration?: string;
  breakingChanges: string[];
  warnings: string[];
}

/** The stack output schemaCompatibility, read defensively (secrets print as "[secret]"). */
export function lastRehearsal(outputs: Record<string, unknown>): LastRehearsal | undefined {
  const report = outputs.schemaCompatibility;
  if (typeof report !== "object" || report === null) return undefined;
  const value = report as Record<string, unknown>;
  if (typeof value.release !== "string" || typeof value.classification !== "string") return undefined;
  const strings = (field: unknown) => (Array.isArray(field) ? field.map(String) : []);
  return {
    release: value.release,
    classification: value.classification,
    verdict: typeof value.verdict === "string" ? value.verdict : undefined,
    durationMs: typeof value.durationMs === "number" ? value.durationMs : undefined,
    ...(typeof value.migration === "string" ? { migration: value.migration } : {}),
    breakingChanges: strings(value.breakingChanges),
    warnings: strings(value.warnings),
  };
}

/** The plan's lines for it. */
export function renderLastRehearsal(last: LastRehearsal): string[] {
  const seconds =
    last.migration === "skipped"
      ? ", no migration pending"
      : last.durationMs === undefined
        ? ""
        : `, its migration ${(last.durationMs / 1000).toFixed(1)} s`;
  return [
    `Last migration rehearsal: release ${last.release}, ${last.classification}${last.verdict ? ` (${last.verdict})` : ""}${seconds}`,
    ...last.breakingChanges.map((change) => `  breaking: ${change}`),
    ...last.warnings.map((warning) => `  ! ${warning}`),
  ];
}
