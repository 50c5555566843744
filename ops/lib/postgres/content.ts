// What a database holds besides its tables' rows, summarized so a restore can be compared with its
// source: every sequence's position, the large objects (count and a checksum of oids and contents)
// and every materialized view (populated or not, rows and checksum).
import { Client } from "pg";
import { TableSummary, checksumTable, quoteIdent } from ".";

/** Where a sequence stands: what nextval() continues from. */
export interface SequenceState {
  schema: string;
  name: string;
  /** bigint as decimal text. */
  lastValue: string;
  isCalled: boolean;
}

/**
 * A sequence as the backup saw it. Sequences are not transactional: pg_dump reads them at its own
 * moment, between two reads of the backup's, so `after` is the second read when it differs.
 */
export interface SequenceSummary extends SequenceState {
  after?: { lastValue: string; isCalled: boolean };
}

export interface LargeObjectSummary {
  count: number;
  /** Sum of a 64-bit hash of (oid, contents) per large object, as decimal text. */
  checksum: string;
}

export interface MaterializedViewSummary {
  schema: string;
  name: string;
  populated: boolean;
  /** Rows and checksum of a populated view; null when it is not populated. */
  rows: number | null;
  checksum: string | null;
  method: TableSummary["method"] | null;
}

/** The relations of one kind pg_dump dumps (system and extension-owned ones excluded). */
async function listRelations(client: Client, kind: "S" | "m"): Promise<{ schema: string; name: string }[]> {
  const result = await client.query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, c.relname AS name
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = $1
        AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                          AND d.objid = c.oid AND d.deptype = 'e')
      ORDER BY 1, 2`,
    [kind],
  );
  return result.rows;
}

/** Every sequence's position, read in batches of one UNION ALL query. */
export async function sequenceStates(client: Client): Promise<SequenceState[]> {
  const sequences = await listRelations(client, "S");
  const states: SequenceState[] = [];
  for (let start = 0; start < sequences.length; start += 200) {
    const batch = sequences.slice(start, start + 200);
    const result = await client.query<{ i: number; last_value: string; is_called: boolean }>(
      batch
        .map(
          (sequence, index) =>
            `SELECT ${index} AS i, last_value::text AS last_value, is_called FROM ${quoteIdent(sequence.schema)}.${quoteIdent(sequence.name)}`,
        )
        .join(" UNION ALL "),
    );
    for (const row of result.rows)
      states.push({ ...batch[row.i], lastValue: row.last_value, isCalled: row.is_called });
  }
  return states;
}

/** Joins the reads before and after pg_dump read the sequences: `after` only where one moved. */
export function sequencesAround(before: SequenceState[], after: SequenceState[]): SequenceSummary[] {
  const later = new Map(after.map((state) => [`${state.schema}.${state.name}`, state]));
  return before.map((state) => {
    const moved = later.get(`${state.schema}.${state.name}`);
    if (!moved || (moved.lastValue === state.lastValue && moved.isCalled === state.isCalled)) return state;
    return { ...state, after: { lastValue: moved.lastValue, isCalled: moved.isCalled } };
  });
}

/** Count and checksum of the large objects (lo_get needs the right to read each one). */
export async function largeObjectSummary(client: Client): Promise<LargeObjectSummary> {
  const result = await client.query<{ count: string; checksum: string }>(
    `SELECT count(*)::text AS count,
            coalesce(sum(pg_catalog.hash_record_extended((m.oid, pg_catalog.lo_get(m.oid)), 0)), 0)::text AS checksum
       FROM pg_catalog.pg_largeobject_metadata m`,
  );
  return { count: Number(result.rows[0].count), checksum: result.rows[0].checksum };
}

/** Every materialized view: populated or not, and a populated one's rows and checksum. */
export async function materializedViewSummaries(
  client: Client,
  methods: Map<string, TableSummary["method"]> = new Map(),
  options: { inTransaction?: boolean } = {},
): Promise<MaterializedViewSummary[]> {
  const views = await listRelations(client, "m");
  const populated = await client.query<{ schema: string; name: string; populated: boolean }>(
    `SELECT n.nspname AS schema, c.relname AS name, c.relispopulated AS populated
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'm'`,
  );
  const isPopulated = new Map(populated.rows.map((row) => [`${row.schema}.${row.name}`, row.populated]));
  const summaries: MaterializedViewSummary[] = [];
  for (const view of views) {
    if (!isPopulated.get(`${view.schema}.${view.name}`)) {
      summaries.push({ ...view, populated: false, rows: null, checksum: null, method: null });
      continue;
    }
    const summary = await checksumTable(client, view, {
      method: methods.get(`${view.schema}.${view.name}`),
      inTransaction: options.inTransaction,
    });
    summaries.push({
      ...view,
      populated: true,
      rows: summary.rows,
      checksum: summary.checksum,
      method: summary.method,
    });
  }
  return summaries;
}
