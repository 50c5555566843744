// The checks phase: what must hold before a restore creates or downloads anything (the target is the
// backup's own database, or the operator said otherwise; the download leaves enough free disk) and,
// once the dump is here, that pg_restore reads its table of contents and it lists every table.
import { Client } from "pg";
import { requireFreeDisk } from "../lib/disk";
import { BackupManifest } from "../lib/manifest";
import { ArchiveTable, listArchive, tableDataEntries, tableDataItems } from "../lib/postgres/archive";
import { otherDatabase, serverIdentifier } from "../lib/postgres/identity";
import { StepError, StopRequest } from "../lib/step";
import { killOnStop, throwIfStopped } from "../lib/stop";
import { describeExit, firstErrorLine } from "../lib/stream";

/** Where a restore goes and what it may use there. */
export interface TargetCheck {
  /** A real restore's target database; undefined for a drill. */
  targetDb?: string;
  allowOtherDatabase: boolean;
  spoolDir: string;
  minFreeDiskPercent: number;
}

/** Phase "checks", before the download: the target is the backup's database, and the disk has room. */
export async function checkTarget(
  admin: Client,
  manifest: BackupManifest,
  check: TargetCheck,
): Promise<void> {
  if (check.targetDb !== undefined && !check.allowOtherDatabase) {
    const other = otherDatabase(manifest, {
      systemIdentifier: await serverIdentifier(admin),
      database: check.targetDb,
    });
    if (other)
      throw new StepError(
        `${other}: add --allow-other-database to restore it there (the target's content is replaced by another database's)`,
        2,
      );
  }
  await requireFreeDisk(
    check.spoolDir,
    manifest.bytes,
    check.minFreeDiskPercent,
    `downloading ${manifest.dumpKey}`,
  );
}

/**
 * Phase "checks", after the download: `pg_restore --list` must read the table of contents and list
 * data for every table of the manifest. Returns the TABLE DATA items by dump id.
 */
export async function checkArchive(
  pgRestore: string,
  file: string,
  manifest: BackupManifest,
  env: NodeJS.ProcessEnv,
  stop: StopRequest,
): Promise<Map<number, ArchiveTable>> {
  const lister = listArchive(pgRestore, env, file);
  killOnStop(stop, lister.child);
  const { exit, stdout: listing } = await lister.result;
  throwIfStopped(stop);
  if (exit.code !== 0)
    throw new StepError(
      `pg_restore --list ${manifest.dumpKey} failed (${describeExit(exit)}: ${firstErrorLine(exit.stderr)}): the archive is unreadable`,
    );
  const listed = tableDataEntries(listing);
  if (manifest.tables.length > 0 && listed !== manifest.tableCount)
    throw new StepError(
      `${manifest.dumpKey} lists data for ${listed} tables, its manifest ${manifest.tableCount}: the archive is incomplete`,
    );
  return tableDataItems(listing);
}
