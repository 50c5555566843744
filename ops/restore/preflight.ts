// `restore --preflight`: everything a real restore needs, checked without changing anything, so a
// rollback can refuse before maintenance mode stops traffic (RUNBOOK "Restore needed"): the S3
// credentials, region and bucket answer, the release's newest backup has a verified manifest and its dump
// is stored whole, pg_restore is installed, the database server answers, the target database exists, the
// role may create and rename databases, and the spool disk has room for the download.
import { Client } from "pg";
import { findReleaseBackup } from "../lib/manifest";
import { connect, describePgError, pgBinary } from "../lib/postgres";
import { describeBucket, objectSize, s3Call, s3Client, s3Settings } from "../lib/s3";
import { StepError, progress } from "../lib/step";
import { checkTarget } from "./checks";
import { RestoreOptions, validateRestoreOptions } from "./options";

const STEP = "restore";

/** What the preflight found: the backup a restore would use, and each check that passed. */
export interface PreflightReport {
  mode: "preflight";
  release: string;
  dumpKey: string;
  bytes: number;
  targetDb: string;
  checked: string[];
}

/** Checks what a real restore needs; changes nothing. Throws the first problem as a StepError. */
export async function preflightRestore(
  options: RestoreOptions,
  env: NodeJS.ProcessEnv,
): Promise<PreflightReport> {
  // A preflight needs no --confirm: it is what runs before anyone confirms.
  validateRestoreOptions({ ...options, confirm: true });
  if (options.drill)
    throw new StepError("--preflight checks a real restore: give --target-db, not --drill", 2);
  const targetDb = options.targetDb as string;
  const checked: string[] = [];
  pgBinary("pg_restore", env);
  checked.push("pg_restore is installed");
  const settings = s3Settings(env);
  const client = s3Client(settings);
  const connecting = connect(env, options.maintenanceDb, "greenlight-restore-preflight");
  connecting.catch(() => undefined);
  let admin: Client | undefined;
  try {
    const { manifest } = await findReleaseBackup(client, settings, options);
    checked.push(
      `${describeBucket(settings, options.bucket)} answers with these credentials; the newest backup of ${options.release} is verified (${manifest.dumpKey})`,
    );
    const stored = await s3Call(settings, options.bucket, `reading ${manifest.dumpKey}`, () =>
      objectSize(client, options.bucket, manifest.dumpKey),
    );
    if (stored !== manifest.bytes)
      throw new StepError(
        stored === undefined
          ? `backup dump ${manifest.dumpKey} is missing although its manifest exists: restore an older backup (--key) or roll forward`
          : `backup dump ${manifest.dumpKey} holds ${stored} bytes, its manifest says ${manifest.bytes}: restore an older backup (--key) or roll forward`,
        3,
      );
    checked.push(`the dump is stored whole (${manifest.bytes} bytes)`);
    admin = await connecting;
    checked.push(`the database server answers (as ${await currentRole(admin)})`);
    await requireTarget(admin, targetDb);
    checked.push(`database ${targetDb} exists and this role may create and rename databases`);
    await checkTarget(admin, manifest, {
      targetDb,
      allowOtherDatabase: options.allowOtherDatabase,
      spoolDir: options.spoolDir,
      minFreeDiskPercent: options.minFreeDiskPercent,
    });
    checked.push(
      `${options.spoolDir} has room for the download and ${options.minFreeDiskPercent} % free after it`,
    );
    for (const line of checked) progress(STEP, `preflight: ${line}`);
    return {
      mode: "preflight",
      release: manifest.release,
      dumpKey: manifest.dumpKey,
      bytes: manifest.bytes,
      targetDb,
      checked,
    };
  } catch (error) {
    if (error instanceof StepError) throw error;
    throw new StepError(describePgError(error, env, targetDb));
  } finally {
    await (admin ?? (await connecting.catch(() => undefined)))?.end().catch(() => undefined);
  }
}

async function currentRole(admin: Client): Promise<string> {
  const { rows } = await admin.query<{ role: string }>("SELECT current_user AS role");
  return rows[0].role;
}

/** The target exists, and the role may build a database beside it and swap names (CREATEDB, or superuser). */
async function requireTarget(admin: Client, targetDb: string): Promise<void> {
  const { rows } = await admin.query<{ exists: boolean; allowed: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists,
            (SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user) AS allowed`,
    [targetDb],
  );
  if (!rows[0].exists)
    throw new StepError(
      `database ${targetDb} does not exist on this server: check greenlight:dbName and PGHOST (a restore replaces an existing database)`,
      2,
    );
  if (!rows[0].allowed)
    throw new StepError(
      `the role ${await currentRole(admin)} may not create databases: a restore builds the new database beside ${targetDb}; use the stack's admin role (CREATEDB)`,
      2,
    );
}
