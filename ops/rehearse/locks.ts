// What the migration locks while it runs on the rehearsal copy, sampled from pg_locks and
// pg_stat_activity every few milliseconds on a session of its own: the locks it holds on tables at or
// above a size (how long each was seen held), and every time one of its statements waited for a lock.
// Table sizes come from before the migration: measuring a table it holds exclusively would wait.
import { Client } from "pg";
import { formatBytes } from "../lib/disk";

/** A lock the migration held on a large table. */
export interface TableLock {
  table: string;
  /** pg_locks' mode, e.g. AccessExclusiveLock. */
  mode: string;
  /** The table's total size before the migration. */
  bytes: number;
  /** From the first to the last sample that saw it held, plus one interval. */
  heldMs: number;
}

/** A statement of the migration that waited for a lock. */
export interface LockWait {
  table: string;
  mode: string;
  waitedMs: number;
  statement: string;
}

export interface LockReport {
  locks: TableLock[];
  lockWaits: LockWait[];
  samples: number;
}

/** Modes that block the app's plain reads or writes (ACCESS SHARE, ROW SHARE, ROW EXCLUSIVE do not). */
const BLOCKING_MODES = new Set([
  "ShareUpdateExclusiveLock",
  "ShareLock",
  "ShareRowExclusiveLock",
  "ExclusiveLock",
  "AccessExclusiveLock",
]);

interface Seen {
  first: number;
  last: number;
}

/** Samples the locks of every other session in the client's database until stop() is called. */
export class LockSampler {
  private readonly held = new Map<string, Seen & { table: string; mode: string; bytes: number }>();
  private readonly waits = new Map<string, Seen & { table: string; mode: string; statement: string }>();
  private samples = 0;
  private running = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: Client,
    private readonly sizes: Map<string, { table: string; bytes: number }>,
    private readonly largeTableBytes: number,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (this.running) {
      const at = Date.now();
      await this.sample(at).catch(() => undefined);
      const rest = this.intervalMs - (Date.now() - at);
      if (rest > 0 && this.running) await new Promise((resolve) => setTimeout(resolve, rest));
    }
  }

  private async sample(at: number): Promise<void> {
    const result = await this.client.query<{
      pid: number;
      relation: string;
      mode: string;
      granted: boolean;
      statement: string | null;
    }>(
      `SELECT l.pid, l.relation::text AS relation, l.mode, l.granted, left(a.query, 300) AS statement
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'relation' AND l.pid <> pg_backend_pid()
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    this.samples += 1;
    for (const row of result.rows) {
      const size = this.sizes.get(row.relation);
      if (!row.granted) {
        const key = `${row.pid}/${row.relation}/${row.mode}`;
        const seen = this.waits.get(key);
        if (seen) seen.last = at;
        else
          this.waits.set(key, {
            first: at,
            last: at,
            table: size?.table ?? `relation ${row.relation}`,
            mode: row.mode,
            statement: (row.statement ?? "").replace(/\s+/g, " ").trim(),
          });
        continue;
      }
      if (!size || size.bytes < this.largeTableBytes || !BLOCKING_MODES.has(row.mode)) continue;
      const key = `${row.relation}/${row.mode}`;
      const seen = this.held.get(key);
      if (seen) seen.last = at;
      else this.held.set(key, { first: at, last: at, table: size.table, mode: row.mode, bytes: size.bytes });
    }
  }

  /** Stops sampling after the one under way; returns what was seen. */
  async stop(): Promise<LockReport> {
    this.running = false;
    await this.loop;
    return {
      locks: [...this.held.values()]
        .map(({ table, mode, bytes, first, last }) => ({
          table,
          mode,
          bytes,
          heldMs: last - first + this.intervalMs,
        }))
        .sort((a, b) => b.heldMs - a.heldMs || a.table.localeCompare(b.table)),
      lockWaits: [...this.waits.values()].map(({ table, mode, statement, first, last }) => ({
        table,
        mode,
        statement,
        waitedMs: last - first + this.intervalMs,
      })),
      samples: this.samples,
    };
  }
}

/** The lock every read and write of a table waits behind. */
export const ACCESS_EXCLUSIVE = "AccessExclusiveLock";

/** One line per ACCESS EXCLUSIVE lock on a large table, for the report, the notification and the plan. */
export function lockWarnings(locks: TableLock[]): string[] {
  return locks
    .filter((lock) => lock.mode === ACCESS_EXCLUSIVE)
    .map(
      (lock) =>
        `ACCESS EXCLUSIVE lock on ${lock.table} (${formatBytes(lock.bytes)}) for about ${(lock.heldMs / 1000).toFixed(1)} s: ` +
        "production's migration blocks every read and write of it that long, longer while it queues behind the app's transactions",
    );
}
