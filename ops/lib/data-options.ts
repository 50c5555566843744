// Argument checks the data steps (backup, restore, migrate) share: where the backups live in the
// bucket, and the numeric options commander hands over as strings.
import { BUCKET_NAME, KEY_PREFIX, RELEASE_ID, STACK_NAME } from "../../contract/patterns";
import { StepError } from "./step";

/** Where a release's backups live: s3://<bucket>/<prefix>/<stack>/<release>/. */
export interface BackupLocation {
  bucket: string;
  prefix: string;
  stack: string;
  release: string;
}

/** A usage error (exit 2) naming the option to fix. */
export function badOption(what: string): StepError {
  return new StepError(what, 2);
}

/** Checks --bucket, --prefix, --stack and --release. */
export function validateLocation(options: BackupLocation): void {
  if (!BUCKET_NAME.test(options.bucket))
    throw badOption(`--bucket ${JSON.stringify(options.bucket)} is not an S3 bucket name`);
  if (!KEY_PREFIX.test(options.prefix))
    throw badOption(
      `--prefix ${JSON.stringify(options.prefix)}: use path segments of letters, digits, . _ -`,
    );
  if (!STACK_NAME.test(options.stack))
    throw badOption(`--stack ${JSON.stringify(options.stack)}: use letters, digits, . _ -`);
  if (!RELEASE_ID.test(options.release))
    throw badOption(`--release ${JSON.stringify(options.release)}: use 1-64 letters, digits, . _ -`);
}

/** Checks --min-free-disk-percent. */
export function validateFreeDiskPercent(percent: number): void {
  if (!(percent >= 0 && percent <= 99)) throw badOption(`--min-free-disk-percent ${percent}: use 0-99`);
}

/** The location options as commander parsed them. */
export function locationOptions(options: Record<string, unknown>): BackupLocation {
  return {
    bucket: String(options.bucket),
    prefix: String(options.prefix),
    stack: String(options.stack),
    release: String(options.release),
  };
}

/** A numeric option; anything that is not a number is a usage error. */
export function numberOption(options: Record<string, unknown>, name: string, flag: string): number {
  const value = Number(options[name]);
  if (!Number.isFinite(value))
    throw new StepError(`${flag} ${JSON.stringify(options[name])} is not a number`, 2);
  return value;
}
