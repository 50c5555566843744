// Classifies what a migration changed in the schema, from the catalog before and after it ran on the
// rehearsal copy: `additive` when the release before it keeps working (new tables, nullable or
// defaulted columns, indexes, widened types, looser rules), `breaking` when it does not (a dropped or
// renamed table, column, view, function, sequence or enum value; a narrowed type; NOT NULL without a
// default; a new rule on existing columns), naming each object. Tables and columns are followed by
// oid and attnum, so a rename is told from a drop and an add. Pure.
import { isWidening } from "./widening";
import { SchemaChange, SchemaClassification, qualified } from "./change";
import {
  compareConstraints,
  compareEnums,
  compareFunctions,
  compareIndexes,
  compareSequences,
} from "./rules";
import { ColumnInfo, RelationInfo, SchemaSnapshot } from "./catalog";

const isView = (relation: RelationInfo) => relation.kind === "view" || relation.kind === "materialized view";

/** Pairs old and new items: first by a stable key (oid), then by name; unpaired ones stand alone. */
function pair<T>(
  before: T[],
  after: T[],
  keys: ((item: T) => string | undefined)[],
): { before?: T; after?: T }[] {
  const pairs: { before?: T; after?: T }[] = [];
  let left = [...before];
  let right = [...after];
  for (const key of keys) {
    const byKey = new Map<string, T>();
    for (const item of right) {
      const value = key(item);
      if (value !== undefined) byKey.set(value, item);
    }
    const unmatched: T[] = [];
    for (const item of left) {
      const value = key(item);
      const match = value === undefined ? undefined : byKey.get(value);
      if (match !== undefined) {
        pairs.push({ before: item, after: match });
        byKey.delete(value as string);
        right = right.filter((candidate) => candidate !== match);
      } else unmatched.push(item);
    }
    left = unmatched;
  }
  for (const item of left) pairs.push({ before: item });
  for (const item of right) pairs.push({ after: item });
  return pairs;
}

/** The changes between two snapshots of the same database, and the verdict. */
export function classifySchemaChange(before: SchemaSnapshot, after: SchemaSnapshot): SchemaClassification {
  const changes: SchemaChange[] = [];
  const add = (change: SchemaChange) => changes.push(change);
  const addedColumns = new Map<string, Set<number>>();

  for (const { before: old, after: now } of pair(before.relations, after.relations, [
    (relation) => relation.oid,
    qualified,
  ])) {
    const object = (old ?? now)?.kind ?? "table";
    if (!old && now) {
      add({ object, name: qualified(now), change: "added", effect: "additive", detail: `new ${object}` });
      addedColumns.set(now.oid, new Set(now.columns.map((column) => column.attnum)));
      continue;
    }
    if (old && !now) {
      add({
        object,
        name: qualified(old),
        change: "dropped",
        effect: "breaking",
        detail: `the old release's queries on ${qualified(old)} fail`,
      });
      continue;
    }
    if (!old || !now) continue;
    if (qualified(old) !== qualified(now))
      add({
        object,
        name: qualified(old),
        change: "renamed",
        effect: "breaking",
        detail: `renamed to ${qualified(now)}: the old release's queries on ${qualified(old)} fail`,
      });
    if (isView(old) && old.definition !== now.definition)
      add({
        object,
        name: qualified(now),
        change: "changed",
        effect: "additive",
        detail: "definition changed",
      });
    const added = compareColumns(old, now, old.oid === now.oid, add);
    addedColumns.set(now.oid, added);
  }
  compareConstraints(before, after, addedColumns, add);
  compareIndexes(before, after, addedColumns, add);
  compareFunctions(before.functions, after.functions, add);
  compareSequences(before.sequences, after.sequences, add);
  compareEnums(before.enums, after.enums, add);

  changes.sort(
    (a, b) =>
      (a.effect === b.effect ? 0 : a.effect === "breaking" ? -1 : 1) ||
      a.name.localeCompare(b.name) ||
      a.change.localeCompare(b.change),
  );
  return {
    classification: changes.some((change) => change.effect === "breaking") ? "breaking" : "additive",
    changes,
  };
}

/** Column changes of one relation; returns the attnums of columns it gained. */
function compareColumns(
  old: RelationInfo,
  now: RelationInfo,
  sameObject: boolean,
  add: (change: SchemaChange) => void,
): Set<number> {
  const view = isView(now);
  const object = view ? "view column" : "column";
  const name = (column: ColumnInfo) => `${qualified(now)}.${column.name}`;
  const added = new Set<number>();
  const keys = sameObject
    ? [(column: ColumnInfo) => String(column.attnum), (column: ColumnInfo) => column.name]
    : [(column: ColumnInfo) => column.name];
  for (const { before: was, after: is } of pair(old.columns, now.columns, keys)) {
    if (!was && is) {
      added.add(is.attnum);
      const breaks = !view && is.notNull && is.default === null && !is.generated && !is.identity;
      add({
        object,
        name: name(is),
        change: "added",
        effect: breaks ? "breaking" : "additive",
        detail: breaks
          ? "new NOT NULL column without a default: the old release's INSERTs leave it out and fail"
          : is.generated
            ? "new generated column"
            : is.notNull || is.identity
              ? "new column with a default"
              : "new nullable column",
      });
      continue;
    }
    if (was && !is) {
      add({
        object,
        name: `${qualified(old)}.${was.name}`,
        change: "dropped",
        effect: "breaking",
        detail: "the old release's queries that name it fail",
      });
      continue;
    }
    if (!was || !is) continue;
    if (was.name !== is.name)
      add({
        object,
        name: `${qualified(now)}.${was.name}`,
        change: "renamed",
        effect: "breaking",
        detail: `renamed to ${is.name}: the old release's queries that name ${was.name} fail`,
      });
    if (was.type !== is.type) {
      const widened = isWidening(was.type, is.type);
      add({
        object,
        name: name(is),
        change: "changed",
        effect: widened ? "additive" : "breaking",
        detail: widened
          ? `widened ${was.type} → ${is.type}`
          : `type ${was.type} → ${is.type}: narrowed or another type; the old release may write values it refuses or read another type`,
      });
    }
    if (view) continue;
    const hasDefault = is.default !== null || is.identity || is.generated;
    if (!was.notNull && is.notNull)
      add({
        object,
        name: name(is),
        change: "changed",
        effect: hasDefault ? "additive" : "breaking",
        detail: hasDefault
          ? "NOT NULL added; it has a default"
          : "NOT NULL added without a default: the old release's INSERTs that leave it out fail",
      });
    if (was.notNull && !is.notNull)
      add({ object, name: name(is), change: "changed", effect: "additive", detail: "NOT NULL dropped" });
    if (was.default !== null && is.default === null && is.notNull && !is.identity && !is.generated)
      add({
        object,
        name: name(is),
        change: "changed",
        effect: "breaking",
        detail: `default ${was.default} dropped from a NOT NULL column: the old release's INSERTs that leave it out fail`,
      });
    else if (was.default !== is.default && is.default !== null)
      add({
        object,
        name: name(is),
        change: "changed",
        effect: "additive",
        detail:
          was.default === null ? `default ${is.default} added` : `default ${was.default} → ${is.default}`,
      });
  }
  return added;
}
