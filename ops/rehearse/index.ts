// The migration rehearsal: the release's own migration command, in a one-off container of its image,
// run as the migrator role against the verified copy the restore drill left (or one restored here when
// none was handed over), before production's migration. It reads the schema from the catalog before
// and after (catalog.ts) and classifies the change (classify.ts), samples the locks the migration takes
// (locks.ts), and reports its judgement (report.ts, verdict.ts): a failed migration, one longer than maxMigrationSeconds without
// maintenance mode, or a breaking change declared additive fails the step, and the update with it,
// before production is touched. The copy is dropped whatever happens, a stop included.
import { Client } from "pg";
import { connect, describePgError } from "../lib/postgres";
import { StepError, StopRequest, progress, requireEnv } from "../lib/step";
import { Stop, StoppedError, stoppedError, throwIfStopped } from "../lib/stop";
import { rootCertificate } from "../lib/postgres/tls";
import { runContainer } from "../migrate/container";
import { appliedMigrations, describeApplied, imageMigrationsLabel } from "../migrate/pending";
import { dropDatabase } from "../restore/database";
import { dropLeftoverCopies, rehearsalCopies } from "../restore/handover";
import { classifySchemaChange } from "./classify";
import { readSchema, tableSizes } from "./catalog";
import { LockSampler } from "./locks";
import { RehearseOptions, copyRestoreOptions, largeTableBytes, validateRehearseOptions } from "./options";
import { MigrationRun, RehearsalReport, notifyRehearsal, rehearsalReport } from "./report";

const STEP = "rehearse";

export { RehearsalReport } from "./report";

/** The migrator's connection string, pointed at the copy instead of production's database. */
export function copyUrl(databaseUrl: string, copy: string): string {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    throw new StepError("DATABASE_URL is not a URL: give postgresql://user:password@host:port/database", 2);
  }
  url.pathname = `/${encodeURIComponent(copy)}`;
  return url.toString();
}

/** The copy to rehearse on: the one handed over when it is still there, else one restored now. */
async function obtainCopy(
  admin: Client,
  options: RehearseOptions,
  source: string,
  env: NodeJS.ProcessEnv,
  stop: StopRequest,
): Promise<{ copy: string; from: "drill" | "restore" }> {
  const marked = await rehearsalCopies(admin, source, options.stack);
  if (options.copy !== undefined && marked.includes(options.copy)) {
    const leftovers = await dropLeftoverCopies(admin, source, options.stack, options.copy);
    if (leftovers.length > 0) progress(STEP, `dropped ${leftovers.join(", ")}, left by an earlier update`);
    return { copy: options.copy, from: "drill" };
  }
  progress(
    STEP,
    options.copy === undefined
      ? "no copy handed over by a drill: restoring the backup into one"
      : `${options.copy} is gone (an earlier run of this rehearsal dropped it): restoring the backup into a new copy`,
  );
  // Loaded only here: a handed-over copy needs no S3, and the AWS SDK costs start-up time.
  const { restore } = await import("../restore");
  const report = await restore(copyRestoreOptions(options), env, stop);
  if (!report.keptDatabase)
    throw new StepError(`the restore of ${report.dumpKey} kept no copy to rehearse on`);
  return { copy: report.keptDatabase, from: "restore" };
}

/** Rehearses the release's migration on a verified copy; throws with the report when it may not go on. */
export async function rehearse(
  options: RehearseOptions,
  env: NodeJS.ProcessEnv,
  stop: StopRequest = new Stop(),
): Promise<RehearsalReport> {
  validateRehearseOptions(options);
  const started = Date.now();
  const databaseUrl = requireEnv(env, "DATABASE_URL", "the migrator role's connection string");
  const source = requireEnv(env, "PGDATABASE", "the application's database the copy is of");
  const admin = await connect(env, options.maintenanceDb, `greenlight-rehearse:${options.release}`);
  let copy: string | undefined;
  let session: Client | undefined;
  let containerStarted = false;
  const containerName = `greenlight-rehearse-${options.release.replace(/[^A-Za-z0-9_.-]/g, "-")}-${process.pid}`;
  const dropCopy = async (): Promise<string> => {
    await session?.end().catch(() => undefined);
    session = undefined;
    if (copy === undefined) return "no copy was made";
    const name = copy;
    copy = undefined;
    return dropDatabase(admin, name).then(
      () => `dropped ${name}`,
      (error: unknown) => `could not drop ${name} (${describePgError(error, env)}): drop it by hand`,
    );
  };
  /** The migration container against the copy, with the schema read before and after and locks sampled. */
  const runMigration = async (catalog: Client, target: string): Promise<MigrationRun> => {
    const before = await readSchema(catalog);
    const sizes = await tableSizes(catalog);
    const sampler = new LockSampler(catalog, sizes, largeTableBytes(options), options.lockSampleMs);
    // Without maintenance mode a run past the limit is refused anyway: it is stopped there.
    const limitSeconds =
      options.maintenanceMode === "off"
        ? Math.min(options.timeoutSeconds, options.maxMigrationSeconds + 1)
        : options.timeoutSeconds;
    progress(STEP, `running ${options.command.join(" ")} in ${options.image} against ${target}`);
    const runStarted = Date.now();
    containerStarted = true;
    sampler.start();
    const result = await runContainer(
      { ...options, timeoutSeconds: limitSeconds },
      { ...env, DATABASE_URL: copyUrl(databaseUrl, target) },
      containerName,
      runStarted + limitSeconds * 1000,
      stop,
      // The CA goes into the container, where the migrator's DATABASE_URL names it (sslrootcert).
      rootCertificate(env),
    );
    const durationMs = Date.now() - runStarted;
    const locks = await sampler.stop();
    throwIfStopped(stop);
    return {
      outcome: result.ok ? "succeeded" : "failed",
      error: result.error,
      durationMs,
      stoppedAtLimit:
        !result.ok && limitSeconds < options.timeoutSeconds && durationMs >= limitSeconds * 1000,
      schema: classifySchemaChange(before, await readSchema(catalog)),
      locks,
      notes: [],
    };
  };
  // Read while the copy is found: the label says whether the migrator has anything to do.
  const labelRead = imageMigrationsLabel(options.docker, options.image, env).then(
    (label) => ({ label }),
    (error: unknown) => ({ error }),
  );
  try {
    const obtained = await obtainCopy(admin, options, source, env, stop);
    copy = obtained.copy;
    const copied = Date.now();
    throwIfStopped(stop);
    session = await connect(env, copy, "greenlight-rehearse-catalog");
    const read = await labelRead;
    if ("error" in read) throw new StepError((read.error as Error).message, 2);
    const applied = read.label === undefined ? undefined : await appliedMigrations(session, read.label);
    const run: MigrationRun = applied
      ? {
          outcome: "skipped",
          error: null,
          durationMs: 0,
          stoppedAtLimit: false,
          schema: { classification: "additive", changes: [] },
          locks: { locks: [], lockWaits: [] },
          notes: [describeApplied(options.image, applied)],
        }
      : await runMigration(session, copy);
    const report = rehearsalReport(options, { source, copy, from: obtained.from, label: read.label }, run);
    report.seconds.copy = (copied - started) / 1000;
    const dropping = Date.now();
    const dropped = await dropCopy();
    report.seconds.drop = (Date.now() - dropping) / 1000;
    report.seconds.total = (Date.now() - started) / 1000;
    // The skipped run's note is its closing line below.
    for (const line of [...report.warnings, ...report.notes.slice(run.outcome === "skipped" ? 1 : 0)])
      progress(STEP, line);
    await notifyRehearsal(report, options.stack, env);
    if (report.verdict !== "passed")
      throw new StepError(
        `release ${options.release} ${report.verdict === "failed" ? "failed its rehearsal" : "refused"}: ${report.reasons.join("; ")}; ${dropped}; production was not touched`,
        1,
        report,
      );
    progress(
      STEP,
      run.outcome === "skipped"
        ? `release ${options.release}: ${run.notes[0]}; ${dropped}`
        : `release ${options.release}: ${report.classification}, ${report.changes.length} change(s), migration ${(report.durationMs / 1000).toFixed(1)} s on ${report.copy}; ${dropped}`,
    );
    return report;
  } catch (error) {
    if (stop.signal) {
      // A stop inside the restore reports what the restore cleaned up; one later, the container too.
      const earlier = error instanceof StoppedError ? error.message.replace(/^stopped by \w+;? ?/, "") : "";
      const container = containerStarted ? `the container ${containerName} was killed and removed; ` : "";
      const dropped = await dropCopy();
      throw stoppedError(
        stop,
        `${earlier ? `${earlier}; ` : ""}${container}${dropped}; production was not touched`,
      );
    }
    if (error instanceof StepError) throw error;
    throw new StepError(`rehearsal of release ${options.release}: ${describePgError(error, env, copy)}`);
  } finally {
    await dropCopy();
    await admin.end().catch(() => undefined);
  }
}
