// The restore's verification: every table's rows and content checksum in the restored database,
// paired with the source's (the backup's snapshot, or the live database).
import { Client } from "pg";
import { TableSummary, checksumTable, connectForChecksums, describePgError, listTables } from "./postgres";
import { StepError } from "./step";

/** One table, source against restored. */
export interface TableComparison {
  table: string;
  sourceRows: number | null;
  restoredRows: number | null;
  sourceChecksum: string | null;
  restoredChecksum: string | null;
  match: boolean;
}

/** Pairs source and restored tables by name; a table missing on either side is a mismatch. */
export function compareTables(source: TableSummary[], restored: TableSummary[]): TableComparison[] {
  const name = (table: { schema: string; name: string }) => `${table.schema}.${table.name}`;
  const restoredByName = new Map(restored.map((table) => [name(table), table]));
  const comparisons: TableComparison[] = source.map((table) => {
    const copy = restoredByName.get(name(table));
    restoredByName.delete(name(table));
    return {
      table: name(table),
      sourceRows: table.rows,
      restoredRows: copy?.rows ?? null,
      sourceChecksum: table.checksum,
      restoredChecksum: copy?.checksum ?? null,
      match: copy !== undefined && copy.rows === table.rows && copy.checksum === table.checksum,
    };
  });
  for (const extra of restoredByName.values()) {
    comparisons.push({
      table: name(extra),
      sourceRows: null,
      restoredRows: extra.rows,
      sourceChecksum: null,
      restoredChecksum: extra.checksum,
      match: false,
    });
  }
  return comparisons.sort((a, b) => a.table.localeCompare(b.table));
}

/** Runs `fn` over items with at most `size` at once. */
async function mapPool<T, R>(
  items: T[],
  size: number,
  fn: (item: T, worker: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (id: number) => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index], id);
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, Math.max(items.length, 1)) }, (_, id) => worker(id)));
  return results;
}

/** Rows and checksums of a database's tables, `jobs` connections at a time; methods follow the manifest. */
export async function summarize(
  env: NodeJS.ProcessEnv,
  database: string,
  jobs: number,
  methods: Map<string, TableSummary["method"]>,
  known: Map<string, Promise<TableSummary>> = new Map(),
): Promise<TableSummary[]> {
  const clients: Client[] = [];
  try {
    clients.push(await connectForChecksums(env, database, "greenlight-restore-compare"));
    const tables = await listTables(clients[0]);
    const left = tables.filter((table) => !known.has(`${table.schema}.${table.name}`)).length;
    while (clients.length < Math.min(jobs, left))
      clients.push(await connectForChecksums(env, database, "greenlight-restore-compare"));
    return await mapPool(
      tables,
      clients.length,
      (table, worker) =>
        known.get(`${table.schema}.${table.name}`) ??
        checksumTable(clients[worker], table, { method: methods.get(`${table.schema}.${table.name}`) }),
    );
  } catch (error) {
    if (error instanceof StepError) throw error;
    throw new StepError(`comparing tables in ${database}: ${describePgError(error, env, database)}`);
  } finally {
    await Promise.all(clients.map((client) => client.end().catch(() => undefined)));
  }
}
