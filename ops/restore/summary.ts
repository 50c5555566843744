// The compare phase: reads rows and checksums, sequences, large objects and materialized views from
// the restored database (and the live source when asked) and pairs them with the source's
// (compare.ts). Tables checksummed while pg_restore ran come in as `known`.
import { Client } from "pg";
import { largeObjectSummary, materializedViewSummaries, sequenceStates } from "../lib/postgres/content";
import { BackupManifest } from "../lib/manifest";
import {
  TableSummary,
  checksumTable,
  connectForChecksums,
  describePgError,
  listTables,
} from "../lib/postgres";
import { StepError, StopRequest } from "../lib/step";
import { ContentComparison, ContentSummary, compareContent, manifestContent } from "./compare";

/** What the compare phase needs: the two sides and what the restore phase already checksummed. */
export interface CompareRequest {
  env: NodeJS.ProcessEnv;
  manifest: BackupManifest;
  /** The restored database. */
  database: string;
  /** Compare with this live database instead of the manifest's snapshot (undefined: the snapshot). */
  liveSource?: string;
  jobs: number;
  stop?: StopRequest;
  /** Restored tables already being checksummed, by "schema.name". */
  known?: Map<string, Promise<TableSummary>>;
  /** Open sessions on the restored database, settings pinned (the restore phase's): used before new ones. */
  sessions?: Client[];
}

/** The checksum method of each table, as the manifest recorded it. */
export function manifestMethods(manifest: BackupManifest): Map<string, TableSummary["method"]> {
  return new Map(manifest.tables.map((table) => [`${table.schema}.${table.name}`, table.method]));
}

/** Phase "compare": the restored database against its source, item by item. */
export async function compareRestored(request: CompareRequest): Promise<ContentComparison> {
  const { env, manifest, database, liveSource, jobs, stop } = request;
  const methods = manifestMethods(manifest);
  const [sourceTables, restoredTables, sourceContent, restoredContent] = await Promise.all([
    liveSource ? summarize(env, liveSource, jobs, methods, stop) : Promise.resolve(manifest.tables),
    summarize(env, database, jobs, methods, stop, request.known, request.sessions),
    liveSource
      ? summarizeContent(env, liveSource, methods, stop)
      : Promise.resolve(manifestContent(manifest)),
    summarizeContent(env, database, methods, stop, request.sessions?.[0]),
  ]);
  return compareContent(
    { tables: sourceTables, content: sourceContent },
    { tables: restoredTables, content: restoredContent },
  );
}

/** Sequences, large objects and materialized views of a database, on one connection. */
async function summarizeContent(
  env: NodeJS.ProcessEnv,
  database: string,
  methods: Map<string, TableSummary["method"]>,
  stop?: StopRequest,
  session?: Client,
): Promise<ContentSummary> {
  const own = session
    ? undefined
    : await connectForChecksums(env, database, "greenlight-restore-compare", stop);
  const client = (session ?? own) as Client;
  try {
    return {
      sequences: await sequenceStates(client),
      largeObjects: await largeObjectSummary(client),
      materializedViews: await materializedViewSummaries(client, methods),
    };
  } catch (error) {
    if (error instanceof StepError) throw error;
    throw new StepError(`comparing ${database}: ${describePgError(error, env, database)}`);
  } finally {
    await own?.end().catch(() => undefined);
  }
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
async function summarize(
  env: NodeJS.ProcessEnv,
  database: string,
  jobs: number,
  methods: Map<string, TableSummary["method"]>,
  stop?: StopRequest,
  known: Map<string, Promise<TableSummary>> = new Map(),
  given: Client[] = [],
): Promise<TableSummary[]> {
  const clients: Client[] = [...given];
  const opened: Client[] = [];
  const open = async () => {
    const client = await connectForChecksums(env, database, "greenlight-restore-compare", stop);
    opened.push(client);
    clients.push(client);
  };
  try {
    if (clients.length === 0) await open();
    const tables = await listTables(clients[0]);
    const left = tables.filter((table) => !known.has(`${table.schema}.${table.name}`)).length;
    while (clients.length < Math.min(jobs, left)) await open();
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
    await Promise.all(opened.map((client) => client.end().catch(() => undefined)));
  }
}
