// What a rollback does once its target is chosen. Pure.
//   flip      traffic moves back to the color that still runs the target's release (warm); no container
//             runs and no release since the target changed the schema incompatibly.
//   redeploy  a color no longer runs the release it must (it moved on, or a failed update replaced its
//             containers): the release goes back onto it, then traffic moves if it must.
//   restore   a release since the target changed the schema incompatibly and migrated: restore the backup
//             taken just before that release migrated, then flip or redeploy.
//   reset     the stack already runs what the target ran (a failed update stopped before the colors): the
//             stack file goes back to the target, so the next push does not re-apply the failed release.
// decideAction decides from the history's release keys and how far failed updates got; refineAction
// then reads what the rollback's `pulumi up` runs (the plan --diff-from rules) and says that instead.
import { releasePrefix } from "../../ops/lib/backup-key";
import { Color, otherColor } from "../../schema/types";
import { daysBetween, RollbackRefusal, RollbackSituation } from "./target";
import { plainValue, RecordedValue, recorded, shown } from "../history/state";
import { SWITCH_STEP, UpdateProgress } from "../history/progress";
import type { UpdateDiff } from "../plan/steps";

export type RollbackAction = "flip" | "redeploy" | "restore" | "reset";

/** The backup a restore uses. */
export interface PlannedBackup {
  bucket: string;
  prefix: string;
  /** The release whose pre-migration backup holds the schema the target runs on. */
  release: string;
  /** `<prefix>/<stack>/<release>/`, from ops/lib/backup-key.ts. */
  location: string;
  /** The backup was taken when this update started, before its migration. */
  takenAt: string;
  targetDb: string;
  /** The stack's bucket region and endpoint, passed on to the restore step. */
  region: string;
  endpoint?: string;
}

/** The action, why, and what it needs. */
export interface RollbackDecision {
  action: RollbackAction;
  /** The color that serves after the rollback: where the target's release runs. */
  serveColor: Color;
  /** The serve color still runs the target's release (and image, as far as can be told). */
  warm: boolean;
  reason: string;
  /** What the rollback does, for its `pulumi up` message. */
  summary: string;
  backup?: PlannedBackup;
  /** Steps the user must do by hand first: secrets the tool never prints. */
  manual: string[];
  notes: string[];
}

/** Are two recorded values known to be equal? Secrets without values cannot be compared. */
function sameValue(a: RecordedValue, b: RecordedValue): boolean | undefined {
  if (!a.set || !b.set) return a.set === b.set;
  if (a.value === undefined || b.value === undefined) return undefined;
  return a.value === b.value;
}

/** Whether a failed update ran (or, not known, may have run) a step. */
export function mayHaveRun(progress: UpdateProgress | undefined, step: string): boolean {
  if (progress === undefined) return true;
  if (!progress.known)
    return progress.stoppedAt === undefined
      ? step !== SWITCH_STEP
      : progress.done.includes(step) || progress.stoppedAt === step;
  return progress.done.includes(step) || (progress.partial && progress.stoppedAt === step);
}

/** The backup taken before the breaking release migrated; refused once retention has deleted it. */
function plannedBackup(
  situation: RollbackSituation,
  breaking: NonNullable<RollbackSituation["breaking"]>,
  stack: string,
  now: Date,
  manual: string[],
): PlannedBackup {
  const { live } = situation;
  const breakingUpdate = breaking.state.update;
  const backupAge = daysBetween(new Date(breakingUpdate.startTime), now);
  const retention = live.state.backupRetentionDays;
  if (backupAge > retention) {
    throw new RollbackRefusal(
      `v${breakingUpdate.version} (${breaking.release}) changed the schema incompatibly, so this rollback needs the backup ` +
        `taken before it migrated, ${backupAge.toFixed(1)} days ago; greenlight:backupRetentionDays is ${retention}, so that ` +
        "backup has expired. Roll forward with a fix instead, or restore an older backup by hand",
    );
  }
  if (plainValue(live.state.backupBucket) === undefined)
    manual.push(
      `fill in the backup bucket (greenlight:backupBucket is ${shown(live.state.backupBucket)} in v${live.update.version})`,
    );
  if (plainValue(live.state.dbName) === undefined)
    manual.push(
      `fill in the database (greenlight:dbName is ${shown(live.state.dbName)} in v${live.update.version})`,
    );
  return {
    bucket: plainValue(live.state.backupBucket) ?? "<greenlight:backupBucket>",
    prefix: live.state.backupPrefix,
    release: breaking.release,
    location: releasePrefix(live.state.backupPrefix, stack, breaking.release),
    takenAt: breakingUpdate.startTime,
    targetDb: plainValue(live.state.dbName) ?? "<greenlight:dbName>",
    region: live.state.s3Region,
    ...(live.state.s3Endpoint !== undefined ? { endpoint: live.state.s3Endpoint } : {}),
  };
}

/** The failed updates after the live one that replaced (or may have replaced) a color's containers. */
export function replacedColor(
  situation: RollbackSituation,
  color: Color,
  progress: ReadonlyMap<number, UpdateProgress>,
): number[] {
  return situation.afterLive
    .filter((update) => mayHaveRun(progress.get(update.version), `${color} containers`))
    .filter((update) => {
      // Without the program's steps, a failed update touched the color whose release or image it changed.
      if (progress.get(update.version)?.stoppedAt !== undefined) return true;
      const live = situation.live.state.colors[color];
      return (
        sameValue(recorded(update, `${color}Release`), live.release) !== true ||
        sameValue(recorded(update, `${color}Image`), live.image) !== true
      );
    })
    .map((update) => update.version);
}

/** Decides flip, redeploy or restore; throws RollbackRefusal when a restore's backup has expired. */
export function decideAction(
  situation: RollbackSituation,
  stack: string,
  now: Date,
  progress: ReadonlyMap<number, UpdateProgress> = new Map(),
): RollbackDecision {
  const { live, target, breaking } = situation;
  const targetRelease = target.release;
  const backToLive = target.update.version === live.update.version;
  const serveColor = backToLive ? live.color : otherColor(live.color);
  const targetRecord = target.state.colors[target.color];
  const serveRecord = live.state.colors[serveColor];
  const replacedBy = replacedColor(situation, serveColor, progress);
  const releaseWarm = plainValue(serveRecord.release) === targetRelease;
  const imageSame = sameValue(serveRecord.image, targetRecord.image);
  const warm = releaseWarm && imageSame !== false && replacedBy.length === 0;

  const notes: string[] = [];
  if (releaseWarm && imageSame === undefined && replacedBy.length === 0) {
    notes.push(
      `the images are secret, so ${serveColor} is taken as warm on its release id ${targetRelease} alone`,
    );
  }
  if (releaseWarm && imageSame === false) {
    notes.push(
      `${serveColor} runs ${targetRelease} but with image ${shown(serveRecord.image)}, not v${target.update.version}'s ${shown(targetRecord.image)}: redeploying`,
    );
  }
  const replaced =
    replacedBy.length > 0
      ? ` (v${replacedBy.join(", v")} replaced ${serveColor}'s containers since, so it is not warm)`
      : "";

  const manual: string[] = [];
  if (breaking !== undefined) {
    const backup = plannedBackup(situation, breaking, stack, now, manual);
    const breakingUpdate = breaking.state.update;
    const reason =
      `v${breakingUpdate.version}${breakingUpdate.result === "succeeded" ? "" : ` (${breakingUpdate.result}, after its migration ran or may have run)`} ` +
      `released ${breaking.release} ${breaking.why}, so ${targetRelease} cannot run on today's schema. ` +
      `The backup greenlight took before ${breaking.release} migrated (${backup.location}, ${breakingUpdate.startTime}) holds the schema ` +
      `${targetRelease} runs on; data written since then is lost. Then ` +
      (warm
        ? `${targetRelease} is still warm in ${serveColor}: flip to it.`
        : `${targetRelease} is redeployed to ${serveColor}${replaced}.`);
    const summary = `restore ${backup.location} and ${warm ? "flip" : "redeploy"} ${targetRelease} to ${serveColor}`;
    return { action: "restore", serveColor, warm, reason, summary, backup, manual, notes };
  }
  if (backToLive) {
    const failed = situation.afterLive.map((update) => `v${update.version} (${update.result})`).join(", ");
    const reason =
      `${failed} came after the live v${live.update.version}, so the last good state is v${live.update.version} itself: ` +
      `${targetRelease} serves from ${serveColor}, and Pulumi.${stack}.yaml goes back to v${live.update.version} ` +
      "so the next push does not re-apply what failed.";
    return {
      action: "reset",
      serveColor,
      warm,
      reason,
      summary: `back to v${live.update.version} (${targetRelease} on ${serveColor})`,
      manual,
      notes,
    };
  }
  if (warm) {
    const reason =
      `${targetRelease} is still deployed (warm) in ${serveColor}, and no release since v${target.update.version} ` +
      "changed the schema incompatibly: flipping activeColor back is enough.";
    return {
      action: "flip",
      serveColor,
      warm,
      reason,
      summary: `flip to ${serveColor} (${targetRelease})`,
      manual,
      notes,
    };
  }
  const reason =
    (replacedBy.length > 0
      ? `${targetRelease} no longer runs in ${serveColor}${replaced},`
      : `${targetRelease} is no longer deployed (${serveColor} runs ${shown(serveRecord.release)}),`) +
    ` and no release since v${target.update.version} changed the schema incompatibly: redeploy ${targetRelease} to ${serveColor} and flip to it.`;
  return {
    action: "redeploy",
    serveColor,
    warm,
    reason,
    summary: `redeploy ${targetRelease} to ${serveColor}`,
    manual,
    notes,
  };
}

/**
 * The decision once what the rollback's last `pulumi up` runs is known (plan --diff-from's rules against
 * the state the history leaves): a color whose containers run is redeployed, whatever the release keys
 * said; traffic that stays makes a flip a reset.
 */
export function refineAction(
  decision: RollbackDecision,
  update: Pick<UpdateDiff, "servingBefore" | "steps">,
  releases: Partial<Record<Color, string>>,
): RollbackDecision {
  if (decision.action === "restore") return decision;
  const runs = (step: string) => update.steps.some((entry) => entry.step === step && entry.runs);
  const redeployed = (["blue", "green"] as const).filter((color) => runs(`${color} containers`));
  const moves = update.servingBefore !== undefined && update.servingBefore !== decision.serveColor;
  const traffic = moves
    ? `traffic moves from ${update.servingBefore} to ${decision.serveColor}`
    : `${decision.serveColor} keeps serving`;
  if (redeployed.length > 0) {
    const reasons = update.steps
      .filter((entry) => redeployed.some((color) => entry.step === `${color} containers`))
      .flatMap((entry) => entry.reasons)
      .slice(0, 2);
    const warm = !redeployed.includes(decision.serveColor);
    const onto = redeployed.map((color) => `${releases[color] ?? "its release"} onto ${color}`).join(" and ");
    return {
      ...decision,
      action: "redeploy",
      warm,
      reason: `${decision.reason} The update puts ${onto} again (${reasons.join("; ")}${reasons.length < 2 ? "" : "; …"}); ${traffic}.`,
      summary: `redeploy ${onto}${moves ? `, flip to ${decision.serveColor}` : `, ${decision.serveColor} keeps serving`}`,
    };
  }
  if (!moves && decision.action === "flip") return { ...decision, action: "reset" };
  return decision;
}
