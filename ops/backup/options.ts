// The backup's options and their checks: the step (index.ts, dump.ts) and its command line (cli.ts)
// both read them.
import { BackupLocation, badOption, validateFreeDiskPercent, validateLocation } from "../lib/data-options";

export interface BackupOptions extends BackupLocation {
  /** Refuse a dump smaller than this fraction of the stack's previous backup; 0 disables. Default 0.1. */
  minSizeRatio: number;
  /** Write the dump to a temporary file here before uploading; unset (default): stream straight to S3. */
  spoolDir?: string;
  /** With spoolDir: the free disk that must remain, in percent. Default 15. */
  minFreeDiskPercent: number;
  /** Seconds between progress lines on stderr; 0 silences them. Default 5. */
  progressSeconds: number;
  /** Read the whole archive back with pg_restore and compare its table list. Default true. */
  verify: boolean;
  /** Clock (tests). */
  now?: () => Date;
}

export function validateBackupOptions(options: BackupOptions): void {
  validateLocation(options);
  if (!(options.minSizeRatio >= 0 && options.minSizeRatio < 1))
    throw badOption(
      `--min-size-ratio ${options.minSizeRatio}: use a fraction from 0 (off) to below 1, e.g. 0.1`,
    );
  validateFreeDiskPercent(options.minFreeDiskPercent);
  if (!(options.progressSeconds >= 0))
    throw badOption(`--progress-seconds ${options.progressSeconds}: use 0 or more`);
}
