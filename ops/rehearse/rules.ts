// The rules for constraints, indexes, functions, sequences and enum types (classify.ts does tables,
// views and columns): a new rule on existing columns and anything the old release calls or writes
// that is gone are breaking; new objects and looser rules are additive. Pure.
import { ConstraintInfo, EnumInfo, FunctionInfo, SchemaSnapshot, SequenceInfo } from "./catalog";
import { SchemaChange, qualified } from "./change";
import { isWidening } from "./widening";

const CONSTRAINT_KIND: Record<string, string> = {
  p: "PRIMARY KEY",
  u: "UNIQUE",
  c: "CHECK",
  f: "FOREIGN KEY",
  x: "EXCLUSION",
  t: "constraint trigger",
};

/** Whether a rule covers only columns the migration added (the old release never writes those). */
function onNewColumnsOnly(columns: number[], added: Set<number> | undefined): boolean {
  const real = columns.filter((attnum) => attnum > 0);
  return added !== undefined && real.length > 0 && real.every((attnum) => added.has(attnum));
}

function relationName(snapshot: SchemaSnapshot, oid: string): string | undefined {
  const relation = snapshot.relations.find((candidate) => candidate.oid === oid);
  return relation ? qualified(relation) : undefined;
}

export function compareConstraints(
  before: SchemaSnapshot,
  after: SchemaSnapshot,
  addedColumns: Map<string, Set<number>>,
  add: (change: SchemaChange) => void,
): void {
  const existedBefore = new Set(before.relations.map((relation) => relation.oid));
  const key = (snapshot: SchemaSnapshot) => (item: ConstraintInfo) =>
    `${relationName(snapshot, item.relationOid)}.${item.name}`;
  const olds = new Map(before.constraints.map((item) => [key(before)(item), item]));
  const nows = new Map(after.constraints.map((item) => [key(after)(item), item]));
  for (const [name, now] of nows) {
    const old = olds.get(name);
    if (old && old.definition === now.definition) continue;
    // A new table's rules come with it; a renamed table's keep their names under the new one.
    if (!existedBefore.has(now.relationOid)) continue;
    if (
      !old &&
      before.constraints.some((item) => item.relationOid === now.relationOid && item.name === now.name)
    )
      continue;
    const kind = CONSTRAINT_KIND[now.type] ?? now.type;
    const harmless = onNewColumnsOnly(now.columns, addedColumns.get(now.relationOid));
    add({
      object: "constraint",
      name,
      change: old ? "changed" : "added",
      effect: harmless ? "additive" : "breaking",
      detail: harmless
        ? `new ${kind} on new columns: ${now.definition}`
        : `${old ? "changed" : "new"} ${kind} on existing columns: ${now.definition}; the old release may write rows it refuses`,
    });
  }
  const stillThere = new Set(after.relations.map((relation) => relation.oid));
  for (const [name, old] of olds) {
    if (nows.has(name) || !stillThere.has(old.relationOid)) continue;
    if (after.constraints.some((item) => item.relationOid === old.relationOid && item.name === old.name))
      continue;
    const unique = ["p", "u", "x"].includes(old.type);
    add({
      object: "constraint",
      name,
      change: "dropped",
      effect: unique ? "breaking" : "additive",
      detail: unique
        ? `${CONSTRAINT_KIND[old.type]} dropped: the old release's ON CONFLICT on it, and foreign keys that rely on it, fail`
        : `${CONSTRAINT_KIND[old.type] ?? old.type} dropped: a looser rule`,
    });
  }
}

export function compareIndexes(
  before: SchemaSnapshot,
  after: SchemaSnapshot,
  addedColumns: Map<string, Set<number>>,
  add: (change: SchemaChange) => void,
): void {
  const existedBefore = new Set(before.relations.map((relation) => relation.oid));
  const stillThere = new Set(after.relations.map((relation) => relation.oid));
  const olds = new Map(before.indexes.map((index) => [qualified(index), index]));
  const nows = new Map(after.indexes.map((index) => [qualified(index), index]));
  for (const [name, now] of nows) {
    const old = olds.get(name);
    if ((old && old.definition === now.definition) || !existedBefore.has(now.relationOid)) continue;
    const breaks = now.unique && !onNewColumnsOnly(now.columns, addedColumns.get(now.relationOid));
    add({
      object: "index",
      name,
      change: old ? "changed" : "added",
      effect: breaks ? "breaking" : "additive",
      detail: breaks
        ? `${old ? "changed" : "new"} unique index on existing columns: ${now.definition}; the old release may write rows it refuses`
        : `${old ? "changed" : "new"} index: ${now.definition}`,
    });
  }
  for (const [name, old] of olds) {
    if (nows.has(name) || !stillThere.has(old.relationOid)) continue;
    add({
      object: "index",
      name,
      change: "dropped",
      effect: old.unique ? "breaking" : "additive",
      detail: old.unique
        ? "unique index dropped: the old release's ON CONFLICT on it fails"
        : "index dropped (queries may slow down; none fails)",
    });
  }
}

export function compareFunctions(
  before: FunctionInfo[],
  after: FunctionInfo[],
  add: (change: SchemaChange) => void,
) {
  const key = (fn: FunctionInfo) => `${qualified(fn)}(${fn.args})`;
  const nows = new Map(after.map((fn) => [key(fn), fn]));
  const olds = new Map(before.map((fn) => [key(fn), fn]));
  for (const [name, old] of olds) {
    const now = nows.get(name);
    if (!now)
      add({
        object: "function",
        name,
        change: "dropped",
        effect: "breaking",
        detail: "the old release's calls to it fail",
      });
    else if (now.result !== old.result)
      add({
        object: "function",
        name,
        change: "changed",
        effect: "breaking",
        detail: `returns ${now.result} instead of ${old.result}`,
      });
  }
  for (const name of nows.keys())
    if (!olds.has(name))
      add({ object: "function", name, change: "added", effect: "additive", detail: "new function" });
}

export function compareSequences(
  before: SequenceInfo[],
  after: SequenceInfo[],
  add: (change: SchemaChange) => void,
) {
  const nows = new Map(after.map((sequence) => [qualified(sequence), sequence]));
  const olds = new Map(before.map((sequence) => [qualified(sequence), sequence]));
  for (const [name, old] of olds) {
    const now = nows.get(name);
    if (!now)
      add({
        object: "sequence",
        name,
        change: "dropped",
        effect: "breaking",
        detail: "the old release's nextval() on it fails",
      });
    else if (now.type !== old.type) {
      const widened = isWidening(old.type, now.type);
      add({
        object: "sequence",
        name,
        change: "changed",
        effect: widened ? "additive" : "breaking",
        detail: `${widened ? "widened" : "narrowed"} ${old.type} → ${now.type}`,
      });
    }
  }
  for (const name of nows.keys())
    if (!olds.has(name))
      add({ object: "sequence", name, change: "added", effect: "additive", detail: "new sequence" });
}

export function compareEnums(before: EnumInfo[], after: EnumInfo[], add: (change: SchemaChange) => void) {
  const nows = new Map(after.map((type) => [qualified(type), type]));
  const olds = new Map(before.map((type) => [qualified(type), type]));
  for (const [name, old] of olds) {
    const now = nows.get(name);
    if (!now) {
      add({
        object: "enum type",
        name,
        change: "dropped",
        effect: "breaking",
        detail: "the old release's values of it no longer exist",
      });
      continue;
    }
    for (const value of old.values.filter((label) => !now.values.includes(label)))
      add({
        object: "enum value",
        name: `${name}.'${value}'`,
        change: "dropped",
        effect: "breaking",
        detail: `the old release may write '${value}', which ${name} no longer has`,
      });
    for (const value of now.values.filter((label) => !old.values.includes(label)))
      add({
        object: "enum value",
        name: `${name}.'${value}'`,
        change: "added",
        effect: "additive",
        detail: "new value",
      });
  }
  for (const name of nows.keys())
    if (!olds.has(name))
      add({ object: "enum type", name, change: "added", effect: "additive", detail: "new enum type" });
}
