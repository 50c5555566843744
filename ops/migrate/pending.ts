// Whether a release brings a migration, known without running its migrator: a release image may say
// which migrations it carries in the label `greenlight.migrations` (any text that changes whenever a
// migration file is added or changed, e.g. the sha256 of the migrations folder). greenlight.migrations
// records that label with every run; when the newest succeeded run carried the same label, the
// migrations were already applied and nothing is pending: the rehearsal and the migration skip the
// one-off container. An image without the label always runs its migrator.
import { execFile } from "child_process";
import { Client } from "pg";

/** The image label naming the migrations a release image carries. */
export const MIGRATIONS_LABEL = "greenlight.migrations";

/** What a label may hold: printable, no quotes, at most 200 characters (a digest, a version, a list). */
const LABEL_VALUE = /^[A-Za-z0-9._:+/@=,-]{1,200}$/;

/** The newest succeeded run of greenlight.migrations that recorded the same migrations label. */
export interface AppliedMigrations {
  /** The run's id in greenlight.migrations. */
  id: number;
  release: string;
  label: string;
}

/**
 * The image's `greenlight.migrations` label, from the engine the container would run on: undefined when
 * the image has none, and an error when the label is there but is not a usable value (say which, and
 * what it may hold), so a typo never silently turns the skip off or on.
 */
export function imageMigrationsLabel(
  docker: string,
  image: string,
  env: NodeJS.ProcessEnv,
): Promise<string | undefined> {
  return new Promise((resolve, reject) =>
    execFile(
      docker,
      ["image", "inspect", "--format", "{{json .Config.Labels}}", image],
      { env, timeout: 30_000 },
      (error, stdout, stderr) => {
        // An image the engine lacks or cannot read: the container's own run then says why.
        if (error) return resolve(undefined);
        let labels: unknown;
        try {
          labels = JSON.parse(stdout);
        } catch {
          return reject(new Error(`docker image inspect ${image} printed no labels: ${stderr.trim()}`));
        }
        const value = (labels as Record<string, unknown> | null)?.[MIGRATIONS_LABEL];
        if (value === undefined) return resolve(undefined);
        if (typeof value !== "string" || !LABEL_VALUE.test(value))
          return reject(
            new Error(
              `image ${image} has label ${MIGRATIONS_LABEL}=${JSON.stringify(value)}: give 1-200 characters of letters, digits and ._:+/@=,- (e.g. the sha256 of the migrations folder), or remove the label`,
            ),
          );
        resolve(value);
      },
    ),
  );
}

/** Whether the database holds greenlight's record of its migrations (greenlight.migrations). */
export async function recordTableExists(session: Client): Promise<boolean> {
  const table = await session.query<{ found: boolean }>(
    "SELECT to_regclass('greenlight.migrations') IS NOT NULL AS found",
  );
  return table.rows[0].found;
}

/**
 * A run's recorded label, in a query of `greenlight.migrations m`. The column is newer than the table:
 * read as JSON, a database migrated before it (no such column) reads NULL instead of failing.
 */
export const RECORDED_MIGRATIONS = "to_jsonb(m) ->> 'migrations'";

/**
 * The newest succeeded run in this database's greenlight.migrations, when it recorded `label`: then
 * every migration the image carries is applied here. Undefined when the table or such a run is missing,
 * and when the run recorded no label (a database greenlight migrated before it recorded labels).
 */
export async function appliedMigrations(
  session: Client,
  label: string,
): Promise<AppliedMigrations | undefined> {
  if (!(await recordTableExists(session))) return undefined;
  const newest = await session.query<{ id: string; release: string; migrations: string | null }>(
    `SELECT id, release, ${RECORDED_MIGRATIONS} AS migrations FROM greenlight.migrations m
      WHERE outcome = 'succeeded' ORDER BY id DESC LIMIT 1`,
  );
  const row = newest.rows[0];
  if (!row || row.migrations !== label) return undefined;
  return { id: Number(row.id), release: row.release, label };
}

/** One line saying why nothing is pending. */
export function describeApplied(image: string, applied: AppliedMigrations): string {
  return `no migration pending: ${image} carries ${MIGRATIONS_LABEL}=${applied.label}, the migrations release ${applied.release} applied (greenlight.migrations id ${applied.id})`;
}
