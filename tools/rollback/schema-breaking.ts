// Whether a release changed the schema so that the release before it cannot run on it. The migration
// rehearsal's classification of that release decides, when the stack outputs recorded one
// (schemaCompatibility, or the release record's copy), whatever greenlight:schemaBreaking says; the flag
// decides only for releases no rehearsal classified (history from before the rehearsal, a stack
// without a restore drill). Pure.
import type { ReleaseState } from "../history/state";

/** A rehearsal's verdict on one release, as `pulumi stack output --json` shows it. */
export interface RecordedClassification {
  release: string;
  classification: "additive" | "breaking";
  /** "<change> <object> <name>" of each breaking change, when recorded. */
  breakingChanges: string[];
}

function classificationOf(value: unknown): RecordedClassification | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { release, classification, breakingChanges } = value as Record<string, unknown>;
  if (typeof release !== "string" || (classification !== "additive" && classification !== "breaking"))
    return undefined;
  return {
    release,
    classification,
    breakingChanges: Array.isArray(breakingChanges) ? breakingChanges.map(String) : [],
  };
}

/** The classifications the stack outputs carry: schemaCompatibility, else the release record's. */
export function recordedClassifications(outputs: unknown): RecordedClassification[] {
  if (typeof outputs !== "object" || outputs === null) return [];
  const { schemaCompatibility, releaseRecord } = outputs as Record<string, unknown>;
  const record =
    typeof releaseRecord === "object" && releaseRecord !== null
      ? (releaseRecord as Record<string, unknown>).schemaCompatibility
      : undefined;
  const found = classificationOf(schemaCompatibility) ?? classificationOf(record);
  return found ? [found] : [];
}

/**
 * Why `release`, which an update introduced, is schema-breaking ("… released R <why>"), or undefined
 * when it is not: its rehearsal's classification when recorded, else the update's greenlight:schemaBreaking.
 */
export function schemaBreakingRelease(
  state: ReleaseState,
  release: string,
  classifications: readonly RecordedClassification[] = [],
): string | undefined {
  const rehearsed = classifications.find((item) => item.release === release);
  if (rehearsed) {
    if (rehearsed.classification === "additive") return undefined;
    const named = rehearsed.breakingChanges.slice(0, 3).join("; ");
    return `whose migration rehearsal classified it breaking${named ? ` (${named})` : ""}`;
  }
  return state.schemaBreaking ? "with greenlight:schemaBreaking=true" : undefined;
}
