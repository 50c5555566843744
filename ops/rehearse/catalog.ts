// What the schema of a database is, read from its catalog: tables, views and materialized views with
// their columns (type, nullability, default), constraints, indexes, functions, sequences and enum
// types with their values. Objects of extensions and of greenlight's own schema are left out. Read in
// one read-only snapshot, with search_path pinned so every type and name prints schema-qualified.
import { Client } from "pg";

export interface ColumnInfo {
  attnum: number;
  name: string;
  /** format_type(): "integer", "character varying(40)", "public.order_channel" … */
  type: string;
  notNull: boolean;
  /** The default expression, or null. */
  default: string | null;
  generated: boolean;
  identity: boolean;
}

export type RelationKind = "table" | "partitioned table" | "foreign table" | "view" | "materialized view";

export interface RelationInfo {
  /** The relation's oid, as text: the same object keeps it through a rename. */
  oid: string;
  schema: string;
  name: string;
  kind: RelationKind;
  columns: ColumnInfo[];
  /** A view's definition (pg_get_viewdef), else null. */
  definition: string | null;
}

export interface ConstraintInfo {
  relationOid: string;
  name: string;
  /** p primary key, u unique, c check, f foreign key, x exclusion, t constraint trigger. */
  type: string;
  definition: string;
  /** The columns it constrains (attnums). */
  columns: number[];
}

export interface IndexInfo {
  relationOid: string;
  schema: string;
  name: string;
  unique: boolean;
  definition: string;
  /** Indexed columns (attnums; 0 for an expression). */
  columns: number[];
}

export interface FunctionInfo {
  schema: string;
  name: string;
  /** Identity arguments (pg_get_function_identity_arguments). */
  args: string;
  /** Result type; null for a procedure. */
  result: string | null;
}

export interface SequenceInfo {
  schema: string;
  name: string;
  type: string;
}

export interface EnumInfo {
  schema: string;
  name: string;
  values: string[];
}

/** A database's schema as the rehearsal compares it. */
export interface SchemaSnapshot {
  relations: RelationInfo[];
  constraints: ConstraintInfo[];
  indexes: IndexInfo[];
  functions: FunctionInfo[];
  sequences: SequenceInfo[];
  enums: EnumInfo[];
}

const KINDS: Record<string, RelationKind> = {
  r: "table",
  p: "partitioned table",
  f: "foreign table",
  v: "view",
  m: "materialized view",
};

/** A schema greenlight compares: the user's, not the system's nor greenlight's own records. */
const USER_SCHEMA = (alias: string) =>
  `${alias}.nspname NOT LIKE 'pg\\_%' AND ${alias}.nspname NOT IN ('information_schema', 'greenlight')`;

/** Not an object an extension created (pg_dump leaves those to CREATE EXTENSION too). */
const NOT_EXTENSION = (catalog: string, oid: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '${catalog}'::regclass AND d.objid = ${oid} AND d.deptype = 'e')`;

/** Reads the schema in one read-only snapshot. The session's search_path is set to pg_catalog. */
export async function readSchema(client: Client): Promise<SchemaSnapshot> {
  await client.query("SET search_path = pg_catalog");
  await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  try {
    const relations = await client.query<Omit<RelationInfo, "columns" | "kind"> & { kind: string }>(
      `SELECT c.oid::text AS oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS kind,
              CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS definition
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm') AND ${USER_SCHEMA("n")} AND ${NOT_EXTENSION("pg_class", "c.oid")}
        ORDER BY 2, 3`,
    );
    const oids = relations.rows.map((row) => row.oid);
    const columns = await client.query<ColumnInfo & { relationOid: string }>(
      `SELECT a.attrelid::text AS "relationOid", a.attnum::int AS attnum, a.attname AS name,
              format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS "notNull",
              CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END AS default,
              a.attgenerated <> '' AS generated, a.attidentity <> '' AS identity
         FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
        WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attrelid, a.attnum`,
      [oids],
    );
    const constraints = await client.query<ConstraintInfo>(
      `SELECT con.conrelid::text AS "relationOid", con.conname AS name, con.contype::text AS type,
              pg_get_constraintdef(con.oid) AS definition, coalesce(con.conkey, '{}')::int[] AS columns
         FROM pg_constraint con WHERE con.conrelid = ANY($1::oid[]) ORDER BY 1, 2`,
      [oids],
    );
    const indexes = await client.query<IndexInfo>(
      `SELECT i.indrelid::text AS "relationOid", n.nspname AS schema, ic.relname AS name, i.indisunique AS unique,
              pg_get_indexdef(i.indexrelid) AS definition, string_to_array(i.indkey::text, ' ')::int[] AS columns
         FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace n ON n.oid = ic.relnamespace
        WHERE i.indrelid = ANY($1::oid[])
          AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid
                             AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x'))
        ORDER BY 2, 3`,
      [oids],
    );
    const functions = await client.query<FunctionInfo>(
      `SELECT n.nspname AS schema, p.proname AS name, pg_get_function_identity_arguments(p.oid) AS args,
              pg_get_function_result(p.oid) AS result
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE ${USER_SCHEMA("n")} AND ${NOT_EXTENSION("pg_proc", "p.oid")}
        ORDER BY 1, 2, 3`,
    );
    const sequences = await client.query<SequenceInfo>(
      `SELECT n.nspname AS schema, c.relname AS name, format_type(s.seqtypid, NULL) AS type
         FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE ${USER_SCHEMA("n")} AND ${NOT_EXTENSION("pg_class", "c.oid")}
        ORDER BY 1, 2`,
    );
    const enums = await client.query<EnumInfo>(
      `SELECT n.nspname AS schema, t.typname AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS values
         FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE ${USER_SCHEMA("n")} AND ${NOT_EXTENSION("pg_type", "t.oid")}
        GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    const byRelation = new Map<string, ColumnInfo[]>();
    for (const { relationOid, ...column } of columns.rows) {
      const list = byRelation.get(relationOid) ?? [];
      list.push(column);
      byRelation.set(relationOid, list);
    }
    return {
      relations: relations.rows.map((row) => ({
        ...row,
        kind: KINDS[row.kind],
        columns: byRelation.get(row.oid) ?? [],
      })),
      constraints: constraints.rows,
      indexes: indexes.rows,
      functions: functions.rows,
      sequences: sequences.rows,
      enums: enums.rows,
    };
  } finally {
    await client.query("COMMIT").catch(() => undefined);
  }
}

/** Every table's total size (heap, indexes, TOAST) by oid, read before the migration takes locks. */
export async function tableSizes(client: Client): Promise<Map<string, { table: string; bytes: number }>> {
  const result = await client.query<{ oid: string; table: string; bytes: string }>(
    `SELECT c.oid::text AS oid, n.nspname || '.' || c.relname AS table, pg_total_relation_size(c.oid)::text AS bytes
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'm') AND ${USER_SCHEMA("n")}`,
  );
  return new Map(result.rows.map((row) => [row.oid, { table: row.table, bytes: Number(row.bytes) }]));
}
