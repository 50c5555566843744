// The restore phase: pg_restore --jobs into the new database; each table whose data pg_restore reports
// finished is checksummed at once, on up to --jobs sessions, while the indexes still build.
import { spawn } from "child_process";
import * as readline from "readline";
import { Client } from "pg";
import { ArchiveTable, finishedTableData } from "../lib/postgres/archive";
import { TableSummary, checksumTable, connectForChecksums } from "../lib/postgres";
import { StepError, StopRequest, progress } from "../lib/step";
import { killOnStop, throwIfStopped } from "../lib/stop";
import { childExit, describeExit, firstErrorLine } from "../lib/stream";

export interface RestoreIntoRequest {
  pgRestore: string;
  /** The downloaded dump. */
  file: string;
  /** The new, empty database. */
  database: string;
  jobs: number;
  /** Restore owners and grants (a real restore, a rehearsal's copy); a plain drill checks content only. */
  withOwnersAndGrants: boolean;
  env: NodeJS.ProcessEnv;
  /** The admin session, for progress (the database's size). */
  admin: Client;
  stop: StopRequest;
  /** TABLE DATA items by dump id (checkArchive). */
  items: Map<number, ArchiveTable>;
  methods: Map<string, TableSummary["method"]>;
  progressSeconds: number;
  step: string;
}

/** What the restore phase leaves: checksums under way, and the sessions they run on. */
export interface RestoredDatabase {
  /** Restored tables being checksummed, by "schema.name" (the compare phase awaits them). */
  known: Map<string, Promise<TableSummary>>;
  /** The checksum sessions, still open: the compare phase goes on with them. */
  sessions: Client[];
  /** Ends the checksum sessions (before the database is renamed or dropped). */
  end(): Promise<void>;
}

/** Phase "restore": pg_restore into the new database, checksumming tables as their data lands. */
export async function restoreInto(request: RestoreIntoRequest): Promise<RestoredDatabase> {
  const { env, database, stop, items, methods } = request;
  let sessions: Client[] = [];
  const end = async () => {
    const ending = sessions;
    sessions = [];
    await Promise.all(ending.map((session) => session.end().catch(() => undefined)));
  };
  try {
    sessions = await Promise.all(
      Array.from({ length: Math.max(1, Math.min(request.jobs, items.size)) }, () =>
        connectForChecksums(env, database, "greenlight-restore-compare", stop),
      ),
    );
    const free = [...sessions];
    const waiting: ((client: Client) => void)[] = [];
    const acquire = () =>
      new Promise<Client>((resolve) => {
        const client = free.pop();
        if (client) resolve(client);
        else waiting.push(resolve);
      });
    const release = (client: Client) => {
      const next = waiting.shift();
      if (next) next(client);
      else free.push(client);
    };
    const known = new Map<string, Promise<TableSummary>>();
    await runPgRestore(request, (dumpId) => {
      const table = items.get(dumpId);
      if (!table) return;
      const summary = acquire().then((client) =>
        checksumTable(client, table, { method: methods.get(`${table.schema}.${table.name}`) }).finally(() =>
          release(client),
        ),
      );
      // Awaited in the compare phase; a failure must not surface earlier as an unhandled rejection.
      summary.catch(() => undefined);
      known.set(`${table.schema}.${table.name}`, summary);
    });
    progress(
      request.step,
      `${known.size} of ${items.size} tables queued for comparison while pg_restore ran`,
    );
    return { known, sessions, end };
  } catch (error) {
    await end();
    throw error;
  }
}

async function runPgRestore(
  request: RestoreIntoRequest,
  onTableData: (dumpId: number) => void,
): Promise<void> {
  const { database, env, stop, admin } = request;
  const args = ["--no-password", "--exit-on-error", `--jobs=${request.jobs}`, `--dbname=${database}`];
  // A plain drill checks content: ownership and grants need roles the scratch server may not have.
  if (!request.withOwnersAndGrants) args.push("--no-owner", "--no-acl");
  // In parallel mode --verbose reports each finished item, so tables can be compared while indexes build.
  if (request.jobs > 1) args.push("--verbose");
  const child = spawn(request.pgRestore, [...args, request.file], {
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  const exit = childExit(child);
  killOnStop(stop, child);
  if (child.stderr)
    readline.createInterface({ input: child.stderr }).on("line", (line) => {
      const dumpId = finishedTableData(line);
      if (dumpId !== undefined) onTableData(dumpId);
    });
  let size = 0;
  const startedAt = Date.now();
  const timer =
    request.progressSeconds > 0
      ? setInterval(() => {
          admin
            .query<{ size: string }>("SELECT pg_database_size($1)::text AS size", [database])
            .then((result) => (size = Number(result.rows[0].size)))
            .catch(() => undefined);
          progress(
            request.step,
            `pg_restore into ${database}: ${((Date.now() - startedAt) / 1000).toFixed(0)} s, ${(size / 1e6).toFixed(0)} MB`,
          );
        }, request.progressSeconds * 1000)
      : undefined;
  const result = await exit.finally(() => clearInterval(timer));
  throwIfStopped(stop);
  if (result.code !== 0)
    throw new StepError(
      `pg_restore into ${database} failed (${describeExit(result)}): ${firstErrorLine(result.stderr)}`,
    );
}
