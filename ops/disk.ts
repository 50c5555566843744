// The free-disk rule of seed 004: a step that writes a temporary file first checks that at least
// minFreePercent of that file system stays free once the file is written.
import * as fs from "fs";
import { StepError } from "./step";

export interface DiskSpace {
  freeBytes: number;
  totalBytes: number;
}

export async function diskSpace(dir: string): Promise<DiskSpace> {
  const stats = await fs.promises.statfs(dir);
  return { freeBytes: stats.bavail * stats.bsize, totalBytes: stats.blocks * stats.bsize };
}

/** Percent of the file system that stays free after writing `neededBytes` more. */
export function freeAfterPercent(space: DiskSpace, neededBytes: number): number {
  if (space.totalBytes <= 0) return 0;
  return ((space.freeBytes - neededBytes) / space.totalBytes) * 100;
}

/** Refuses (exit 1) before writing when the file would leave less than `minFreePercent` free. */
export async function requireFreeDisk(
  dir: string,
  neededBytes: number,
  minFreePercent: number,
  what: string,
): Promise<DiskSpace> {
  const space = await diskSpace(dir);
  const after = freeAfterPercent(space, neededBytes);
  if (after < minFreePercent) {
    throw new StepError(
      `not enough free disk in ${dir} for ${what}: ${(neededBytes / 1e6).toFixed(1)} MB would leave ${Math.max(after, 0).toFixed(1)} % ` +
        `of ${(space.totalBytes / 1e9).toFixed(1)} GB free, the rule is ≥ ${minFreePercent} % (greenlight:backupMinFreeDiskPercent): ` +
        `free space, or point --spool-dir at a larger file system`,
    );
  }
  return space;
}
