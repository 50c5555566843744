// The free-disk rule of the step-by-step production playbook: a step that writes a temporary file first checks that at least
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

const UNITS = ["bytes", "kB", "MB", "GB", "TB", "PB"];

/** A size in the unit that fits it (decimal units, as df -H): "52 MB", "1.4 GB", "800 bytes". */
export function formatBytes(bytes: number): string {
  let value = Math.max(bytes, 0);
  let unit = 0;
  while (value >= 999.5 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  if (unit === 0) return `${Math.round(value)} bytes`;
  return `${value < 9.95 ? value.toFixed(1) : Math.round(value)} ${UNITS[unit]}`;
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
      `not enough free disk in ${dir} for ${what}: ${formatBytes(neededBytes)} would leave ${Math.max(after, 0).toFixed(1)} % ` +
        `of ${formatBytes(space.totalBytes)} free, the rule is ≥ ${minFreePercent} % (greenlight:backupMinFreeDiskPercent): ` +
        `free space, or point --spool-dir at a larger file system`,
    );
  }
  return space;
}
