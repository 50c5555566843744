// The restore's verification, pure: every table's rows and content checksum, every sequence's
// position, the large objects and the materialized views of the restored database, paired with the
// source's (the backup's snapshot, or the live database). summary.ts reads them from the databases.
import {
  LargeObjectSummary,
  MaterializedViewSummary,
  SequenceState,
  SequenceSummary,
} from "../lib/postgres/content";
import { BackupManifest } from "../lib/manifest";
import { TableSummary } from "../lib/postgres";

/** One table, source against restored. */
export interface TableComparison {
  table: string;
  sourceRows: number | null;
  restoredRows: number | null;
  sourceChecksum: string | null;
  restoredChecksum: string | null;
  match: boolean;
}

/** One sequence: "<last value>" or "<last value> (not called)"; a range when the source moved. */
export interface SequenceComparison {
  sequence: string;
  source: string | null;
  restored: string | null;
  match: boolean;
}

export interface LargeObjectComparison {
  sourceCount: number;
  restoredCount: number;
  sourceChecksum: string;
  restoredChecksum: string;
  match: boolean;
}

/**
 * One materialized view. `match` is its populated state (and presence): pg_restore recomputes a
 * view's rows from the restored tables, so `contentMatch` false with matching tables means the
 * source's view was stale, which is reported, not failed.
 */
export interface MaterializedViewComparison {
  view: string;
  sourcePopulated: boolean | null;
  restoredPopulated: boolean | null;
  sourceRows: number | null;
  restoredRows: number | null;
  contentMatch: boolean;
  match: boolean;
}

/** Sequences, large objects and materialized views of one side; null where not known. */
export interface ContentSummary {
  sequences: SequenceSummary[] | null;
  largeObjects: LargeObjectSummary | null;
  materializedViews: MaterializedViewSummary[] | null;
}

type Named = { schema: string; name: string };
const qualified = (item: Named) => `${item.schema}.${item.name}`;

/** Pairs two lists by qualified name, sorted by name; an item on one side only pairs with undefined. */
function pairByName<S extends Named, R extends Named>(
  source: S[],
  restored: R[],
): { name: string; source?: S; restored?: R }[] {
  const restoredByName = new Map(restored.map((item) => [qualified(item), item]));
  const pairs: { name: string; source?: S; restored?: R }[] = source.map((item) => {
    const copy = restoredByName.get(qualified(item));
    restoredByName.delete(qualified(item));
    return { name: qualified(item), source: item, restored: copy };
  });
  for (const extra of restoredByName.values()) pairs.push({ name: qualified(extra), restored: extra });
  return pairs.sort((a, b) => a.name.localeCompare(b.name));
}

/** Pairs source and restored tables by name; a table missing on either side is a mismatch. */
export function compareTables(source: TableSummary[], restored: TableSummary[]): TableComparison[] {
  return pairByName(source, restored).map((pair) => ({
    table: pair.name,
    sourceRows: pair.source?.rows ?? null,
    restoredRows: pair.restored?.rows ?? null,
    sourceChecksum: pair.source?.checksum ?? null,
    restoredChecksum: pair.restored?.checksum ?? null,
    match:
      pair.source !== undefined &&
      pair.restored !== undefined &&
      pair.source.rows === pair.restored.rows &&
      pair.source.checksum === pair.restored.checksum,
  }));
}

function describeState(state: { lastValue: string; isCalled: boolean }): string {
  return state.isCalled ? state.lastValue : `${state.lastValue} (not called)`;
}

/**
 * A restored sequence matches when it stands where the source did, or, when the source moved while
 * pg_dump read it, at either read or strictly between them.
 */
export function sequenceMatches(source: SequenceSummary, restored: SequenceState): boolean {
  const same = (a: { lastValue: string; isCalled: boolean }) =>
    a.lastValue === restored.lastValue && a.isCalled === restored.isCalled;
  if (same(source)) return true;
  if (!source.after) return false;
  if (same(source.after)) return true;
  const [low, high] = [BigInt(source.lastValue), BigInt(source.after.lastValue)].sort((a, b) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  const value = BigInt(restored.lastValue);
  return value > low && value < high;
}

export function compareSequences(source: SequenceSummary[], restored: SequenceState[]): SequenceComparison[] {
  return pairByName(source, restored).map((pair) => ({
    sequence: pair.name,
    source: pair.source
      ? describeState(pair.source) + (pair.source.after ? ` … ${describeState(pair.source.after)}` : "")
      : null,
    restored: pair.restored ? describeState(pair.restored) : null,
    match:
      pair.source !== undefined && pair.restored !== undefined && sequenceMatches(pair.source, pair.restored),
  }));
}

export function compareLargeObjects(
  source: LargeObjectSummary,
  restored: LargeObjectSummary,
): LargeObjectComparison {
  return {
    sourceCount: source.count,
    restoredCount: restored.count,
    sourceChecksum: source.checksum,
    restoredChecksum: restored.checksum,
    match: source.count === restored.count && source.checksum === restored.checksum,
  };
}

export function compareMaterializedViews(
  source: MaterializedViewSummary[],
  restored: MaterializedViewSummary[],
): MaterializedViewComparison[] {
  return pairByName(source, restored).map((pair) => ({
    view: pair.name,
    sourcePopulated: pair.source?.populated ?? null,
    restoredPopulated: pair.restored?.populated ?? null,
    sourceRows: pair.source?.rows ?? null,
    restoredRows: pair.restored?.rows ?? null,
    contentMatch:
      pair.source !== undefined &&
      pair.restored !== undefined &&
      pair.source.rows === pair.restored.rows &&
      pair.source.checksum === pair.restored.checksum,
    match:
      pair.source !== undefined &&
      pair.restored !== undefined &&
      pair.source.populated === pair.restored.populated,
  }));
}

/** What no restore compares, said in every report. */
export const NOT_COMPARED: readonly string[] = [
  "object definitions (views, functions, indexes, constraints, triggers, policies, types): pg_restore --exit-on-error restored each without an error, their text is not compared",
  "owners and privileges inside the database (a drill restores with --no-owner --no-acl; a real restore restores them without comparing)",
  "the database's own properties and settings (a real restore carries them over: docs/data-safety.md)",
  "large objects' owners and privileges",
  "tables that belong to extensions, and foreign tables' rows (pg_dump dumps neither)",
  "roles, tablespaces and other objects of the whole server (not in a database's dump)",
  "row order, physical layout and planner statistics",
];

/** Source against restored, everything compared, and the verdict. */
export interface ContentComparison {
  tables: TableComparison[];
  /** Every sequence's position; null when the backup's manifest predates them. */
  sequences: SequenceComparison[] | null;
  /** Count and checksum of the large objects; null when the manifest predates them. */
  largeObjects: LargeObjectComparison | null;
  /** Populated or not (compared), and content (reported); null when the manifest predates them. */
  materializedViews: MaterializedViewComparison[] | null;
  /** What the restore did not compare, in words. */
  notCompared: string[];
  /** Differences that do not fail it (a materialized view that was stale in the source). */
  notes: string[];
  /** What differs, for the one-line reason: "2 table(s): a, b" and the like. */
  differences: string[];
  /** Tables, sequences, large objects and materialized views' populated state all match. */
  matched: boolean;
}

function listed(count: number, what: string, names: string[]): string {
  return `${count} ${what}(s): ${names.slice(0, 5).join(", ")}${names.length > 5 ? ", …" : ""}`;
}

export function compareContent(
  source: { tables: TableSummary[]; content: ContentSummary },
  restored: { tables: TableSummary[]; content: ContentSummary },
): ContentComparison {
  const tables = compareTables(source.tables, restored.tables);
  const notCompared = [...NOT_COMPARED];
  const unknown = (what: string) => notCompared.push(`${what} (the backup's manifest predates them)`);
  const sequences =
    source.content.sequences && restored.content.sequences
      ? compareSequences(source.content.sequences, restored.content.sequences)
      : null;
  if (!sequences) unknown("sequences' positions");
  const largeObjects =
    source.content.largeObjects && restored.content.largeObjects
      ? compareLargeObjects(source.content.largeObjects, restored.content.largeObjects)
      : null;
  if (!largeObjects) unknown("large objects");
  const materializedViews =
    source.content.materializedViews && restored.content.materializedViews
      ? compareMaterializedViews(source.content.materializedViews, restored.content.materializedViews)
      : null;
  if (!materializedViews) unknown("materialized views");

  const notes = (materializedViews ?? [])
    .filter((view) => view.match && view.sourcePopulated && !view.contentMatch)
    .map(
      (view) =>
        `materialized view ${view.view}: ${view.sourceRows} rows in the source, ${view.restoredRows} restored with other content: ` +
        "pg_restore recomputes it from the restored tables, so the source's was stale (not refreshed since its tables changed)",
    );
  const differences: string[] = [];
  const differingTables = tables.filter((table) => !table.match).map((table) => table.table);
  if (differingTables.length > 0) differences.push(listed(differingTables.length, "table", differingTables));
  const differingSequences = (sequences ?? []).filter((item) => !item.match).map((item) => item.sequence);
  if (differingSequences.length > 0)
    differences.push(listed(differingSequences.length, "sequence", differingSequences));
  if (largeObjects && !largeObjects.match)
    differences.push(
      `its large objects (${largeObjects.sourceCount} in the source, ${largeObjects.restoredCount} restored)`,
    );
  const differingViews = (materializedViews ?? []).filter((view) => !view.match).map((view) => view.view);
  if (differingViews.length > 0)
    differences.push(
      listed(differingViews.length, "materialized view", differingViews) + " (populated or not)",
    );
  return {
    tables,
    sequences,
    largeObjects,
    materializedViews,
    notCompared,
    notes,
    differences,
    matched: differences.length === 0,
  };
}

/** What the manifest knows of the source besides its tables (older manifests know less). */
export function manifestContent(manifest: BackupManifest): ContentSummary {
  return {
    sequences: manifest.sequences ?? null,
    largeObjects: manifest.largeObjects ?? null,
    materializedViews: manifest.materializedViews ?? null,
  };
}
