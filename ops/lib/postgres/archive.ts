// pg_dump/pg_restore plumbing shared by backup and restore: reading an archive's table of contents
// (`pg_restore --list`) and following pg_restore's verbose output.
import { ChildProcess, spawn } from "child_process";
import { ChildResult, childExit, collectStdout } from "../stream";

/** A table as an archive lists it. */
export interface ArchiveTable {
  schema: string;
  name: string;
}

/** Counts the TABLE DATA entries of `pg_restore --list` output. */
export function tableDataEntries(listing: string): number {
  return listing.split("\n").filter((line) => /^\d+; \d+ \d+ TABLE DATA /.test(line)).length;
}

/** TABLE DATA entries of `pg_restore --list`: dump id → table (names with spaces are left out). */
export function tableDataItems(listing: string): Map<number, ArchiveTable> {
  const items = new Map<number, ArchiveTable>();
  for (const line of listing.split("\n")) {
    const match = /^(\d+); \d+ \d+ TABLE DATA (\S+) (\S+) \S+$/.exec(line);
    if (match) items.set(Number(match[1]), { schema: match[2], name: match[3] });
  }
  return items;
}

/** The dump id of a TABLE DATA item pg_restore --verbose reports finished (parallel mode), if any. */
export function finishedTableData(line: string): number | undefined {
  const match = /finished item (\d+) TABLE DATA /.exec(line);
  return match ? Number(match[1]) : undefined;
}

/** A running `pg_restore --list` and, once it exits, how it ended and what it listed. */
export interface ArchiveListing {
  child: ChildProcess;
  result: Promise<{ exit: ChildResult; stdout: string }>;
}

/** Starts `pg_restore --list` on a file, or on its stdin when no file is given (the caller feeds it). */
export function listArchive(pgRestore: string, env: NodeJS.ProcessEnv, file?: string): ArchiveListing {
  const child = file
    ? spawn(pgRestore, ["--list", file], { env, stdio: ["ignore", "pipe", "pipe"] })
    : spawn(pgRestore, ["--list"], { env, stdio: ["pipe", "pipe", "pipe"] });
  const stdout = collectStdout(child);
  return { child, result: childExit(child).then(async (exit) => ({ exit, stdout: await stdout })) };
}
