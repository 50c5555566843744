// The pre-migration backup (the step-by-step production playbook, "System Backup" and Gate #1): pg_dump -Fc streamed once through
// a sha256 tap into an S3 multipart upload and into pg_restore (the whole archive is read back, so a
// truncated dump fails), with each table's row count and checksum taken in the dump's own snapshot.
// The manifest is written beside the dump only when every check passed; a failed backup leaves no
// manifest and no dump object, so a migration can never mistake it for a good one.
// This file is the step's command line; index.ts takes the backup, dump.ts streams it, options.ts holds
// its options and their checks.
import { locationOptions, numberOption } from "../lib/data-options";
import { StepCommand } from "../lib/step";
import type { BackupOptions } from "./options";
import { withDatabaseTls } from "../lib/postgres/tls";

/** Reads the CLI's options into BackupOptions. */
export function backupOptions(options: Record<string, unknown>): BackupOptions {
  return {
    ...locationOptions(options),
    minSizeRatio: numberOption(options, "minSizeRatio", "--min-size-ratio"),
    spoolDir: options.spoolDir === undefined ? undefined : String(options.spoolDir),
    minFreeDiskPercent: numberOption(options, "minFreeDiskPercent", "--min-free-disk-percent"),
    progressSeconds: numberOption(options, "progressSeconds", "--progress-seconds"),
    verify: options.verify !== false,
  };
}

export const backupCommand: StepCommand = {
  name: "backup",
  description:
    "pg_dump -Fc streamed to S3 with a sha256, verified with pg_restore, manifest beside it (PG* and AWS_* from the environment)",
  options: (command) =>
    command
      .requiredOption("--bucket <name>", "S3 bucket holding the backups")
      .requiredOption("--prefix <prefix>", "key prefix: <prefix>/<stack>/<release>/<timestamp>.dump")
      .requiredOption("--stack <name>", "stack name (key segment)")
      .requiredOption("--release <id>", "release this backup precedes")
      .option(
        "--min-size-ratio <fraction>",
        "refuse a dump smaller than this fraction of the previous backup (0: off)",
        "0.1",
      )
      .option("--spool-dir <dir>", "write the dump to a temporary file here first (default: stream to S3)")
      .option("--min-free-disk-percent <percent>", "with --spool-dir: free disk that must remain", "15")
      .option("--progress-seconds <seconds>", "seconds between progress lines on stderr", "5")
      .option("--no-verify", "skip reading the archive back (the manifest then says verified: false)"),
  stopsCleanly: true,
  run: async (options, env, stop) => {
    const parsed = backupOptions(options);
    // Loaded only when the step runs: the S3 stack (AWS SDK) costs start-up time every other step skips.
    const { backup } = await import(".");
    return withDatabaseTls(env, (tlsEnv) => backup(parsed, tlsEnv, stop));
  },
};
