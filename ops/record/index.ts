// The release record: the first step of every update. It re-checks an emergency override when the
// update actually runs (the policy pack judged it at preview time, and an override can expire in
// between) and prints what is being released; the program exports that JSON, so `pulumi stack
// history` shows which release went to which color, and under whose override.
import { checkOverride, overrideFields } from "../../contract/override";
import { STEP, STEP_ENV } from "../../contract/resources";
import { RELEASE_ID } from "../../contract/patterns";
import { COLORS, Color } from "../../schema/types";
import { isImageRef } from "../../contract/patterns";
import {
  ReleaseSnapshot,
  SNAPSHOT_ENV,
  skippedDataSteps,
  snapshotFrom,
} from "../../contract/release-transition";
import { StepError, requireEnv } from "../lib/step";

/** Environment variables the record reads besides STEP_ENV. */
export const RECORD_ENV = {
  image: "GREENLIGHT_IMAGE",
  stack: "GREENLIGHT_STACK",
  schemaBreaking: "GREENLIGHT_SCHEMA_BREAKING",
} as const;

export interface ReleaseRecord {
  step: "record";
  stack?: string;
  release: string;
  color: Color;
  image?: string;
  schemaBreaking: boolean;
  override: { reason: string; approver: string; ticket: string; expiresAt: string } | null;
  recordedAt: string;
  /** Which color holds the newest release (its release is backed up and migrated). */
  latestColor?: Color;
  /** What each color runs. */
  colors?: ReleaseSnapshot["colors"];
}

/** The previous run's record (PULUMI_COMMAND_STDOUT, which the command provider passes to an update). */
export const PREVIOUS_RECORD_ENV = "PULUMI_COMMAND_STDOUT";

/** The snapshot of a record the step printed before; undefined when there is none or it predates snapshots. */
export function previousSnapshot(stdout: string | undefined): ReleaseSnapshot | undefined {
  const line = (stdout ?? "")
    .split("\n")
    .map((text) => text.trim())
    .filter((text) => text.startsWith("{"))
    .pop();
  if (line === undefined) return undefined;
  try {
    const record = JSON.parse(line) as Partial<ReleaseRecord>;
    if (!record.colors || !record.latestColor) return undefined;
    return snapshotFrom({
      [SNAPSHOT_ENV.latestColor]: record.latestColor,
      ...Object.fromEntries(
        COLORS.flatMap((color) => [
          [SNAPSHOT_ENV.release(color), record.colors?.[color]?.release],
          [SNAPSHOT_ENV.image(color), record.colors?.[color]?.image],
        ]),
      ),
    });
  } catch {
    return undefined;
  }
}

/** Builds the record from the step's environment, judged at `now`; throws StepError (exit 2) on a bad override. */
export function releaseRecord(env: NodeJS.ProcessEnv, now: Date): ReleaseRecord {
  const step = env[STEP_ENV.step];
  if (step !== undefined && step !== STEP.record) {
    throw new StepError(`${STEP_ENV.step}=${step}: the record step runs only as ${STEP.record}`, 2);
  }
  const release = requireEnv(env, STEP_ENV.release, "the release id");
  if (!RELEASE_ID.test(release))
    throw new StepError(`${STEP_ENV.release}=${JSON.stringify(release)} is not a release id`, 2);
  const color = requireEnv(env, STEP_ENV.color, "the color that serves after this update");
  if (!COLORS.includes(color as Color)) {
    throw new StepError(
      `${STEP_ENV.color}=${JSON.stringify(color)} is not a color: expected blue or green`,
      2,
    );
  }
  const image = env[RECORD_ENV.image] || undefined;
  if (image !== undefined && !isImageRef(image)) {
    throw new StepError(`${RECORD_ENV.image}=${JSON.stringify(image)} is not an image reference`, 2);
  }
  const breaking = env[RECORD_ENV.schemaBreaking] ?? "false";
  if (breaking !== "true" && breaking !== "false") {
    throw new StepError(
      `${RECORD_ENV.schemaBreaking}=${JSON.stringify(breaking)}: expected true or false`,
      2,
    );
  }
  // Both colors and the latest one (greenlight:latestColor): a release that would skip its data steps is refused.
  const snapshot = snapshotFrom(env);
  if (snapshot === undefined && env[SNAPSHOT_ENV.latestColor] !== undefined)
    throw new StepError(
      `${SNAPSHOT_ENV.latestColor} is set but the colors' releases and images are not all there (GREENLIGHT_<COLOR>_RELEASE, GREENLIGHT_<COLOR>_IMAGE)`,
      2,
    );
  const previous = previousSnapshot(env[PREVIOUS_RECORD_ENV]);
  if (snapshot && previous) {
    const problem = skippedDataSteps(previous, snapshot, env[RECORD_ENV.stack] || undefined);
    if (problem) throw new StepError(`release ${release} refused: ${problem}`, 1);
  }
  const checked = checkOverride(overrideFields(env), now);
  if (checked.status === "invalid") {
    throw new StepError(
      `emergency override for release ${release} refused at ${now.toISOString()}: ${checked.problems.join("; ")}; ` +
        `fix the greenlight:override* keys or remove them and wait for the deployment window`,
      2,
    );
  }
  return {
    step: "record",
    stack: env[RECORD_ENV.stack] || undefined,
    release,
    color: color as Color,
    image,
    schemaBreaking: breaking === "true",
    override:
      checked.status === "valid"
        ? {
            reason: checked.override.reason,
            approver: checked.override.approver,
            ticket: checked.override.ticket,
            expiresAt: checked.override.expiresAt.toISOString(),
          }
        : null,
    recordedAt: now.toISOString(),
    ...(snapshot ? { latestColor: snapshot.latestColor, colors: snapshot.colors } : {}),
  };
}

/** The step as a function: the record for the real clock. */
export async function recordRelease(env: NodeJS.ProcessEnv): Promise<ReleaseRecord> {
  return releaseRecord(env, new Date());
}
