// What a rollback does once its target is chosen. Pure.
//   flip      the target's release is still deployed (warm) in the idle color and no release since the
//             target changed the schema incompatibly: flip activeColor back.
//   redeploy  the target's release is no longer deployed: put it on the idle color and flip to it.
//   restore   a release since the target changed the schema incompatibly: restore the backup taken just
//             before that release migrated, then flip or redeploy.
import { releasePrefix } from "../../ops/lib/backup-key";
import { Color, otherColor } from "../../schema/types";
import { daysBetween, RollbackRefusal, RollbackSituation } from "./target";
import { plainValue, RecordedValue, shown } from "../history/state";

export type RollbackAction = "flip" | "redeploy" | "restore";

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
}

/** The action, why, and what it needs. */
export interface RollbackDecision {
  action: RollbackAction;
  /** The live idle color: where the target's release runs after the rollback. */
  idleColor: Color;
  /** The idle color still runs the target's release (and image, as far as can be told). */
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
  };
}

/** Decides flip, redeploy or restore; throws RollbackRefusal when a restore's backup has expired. */
export function decideAction(situation: RollbackSituation, stack: string, now: Date): RollbackDecision {
  const { live, target, breaking } = situation;
  const targetRelease = target.release;
  const idleColor = otherColor(live.color);
  const targetRecord = target.state.colors[target.color];
  const idleRecord = live.state.colors[idleColor];
  const releaseWarm = plainValue(idleRecord.release) === targetRelease;
  const imageSame = sameValue(idleRecord.image, targetRecord.image);
  const warm = releaseWarm && imageSame !== false;

  const notes: string[] = [];
  if (releaseWarm && imageSame === undefined) {
    notes.push(
      `the images are secret, so ${idleColor} is taken as warm on its release id ${targetRelease} alone`,
    );
  }
  if (releaseWarm && imageSame === false) {
    notes.push(
      `${idleColor} runs ${targetRelease} but with image ${shown(idleRecord.image)}, not v${target.update.version}'s ${shown(targetRecord.image)}: redeploying`,
    );
  }

  const manual: string[] = [];
  if (breaking !== undefined) {
    const backup = plannedBackup(situation, breaking, stack, now, manual);
    const breakingUpdate = breaking.state.update;
    const reason =
      `v${breakingUpdate.version}${breakingUpdate.result === "succeeded" ? "" : ` (${breakingUpdate.result}, but it may have migrated before it stopped)`} ` +
      `released ${breaking.release} ${breaking.why}, so ${targetRelease} cannot run on today's schema. ` +
      `The backup greenlight took before ${breaking.release} migrated (${backup.location}, ${breakingUpdate.startTime}) holds the schema ` +
      `${targetRelease} runs on; data written since then is lost. Then ` +
      (warm
        ? `${targetRelease} is still warm in ${idleColor}: flip to it.`
        : `${targetRelease} is redeployed to ${idleColor}.`);
    const summary = `restore ${backup.location} and ${warm ? "flip" : "redeploy"} ${targetRelease} to ${idleColor}`;
    return { action: "restore", idleColor, warm, reason, summary, backup, manual, notes };
  }
  if (warm) {
    const reason =
      `${targetRelease} is still deployed (warm) in ${idleColor}, and no release since v${target.update.version} ` +
      "changed the schema incompatibly: flipping activeColor back is enough.";
    return {
      action: "flip",
      idleColor,
      warm,
      reason,
      summary: `flip to ${idleColor} (${targetRelease})`,
      manual,
      notes,
    };
  }
  const reason =
    `${targetRelease} is no longer deployed (${idleColor} runs ${shown(idleRecord.release)}), and no release since ` +
    `v${target.update.version} changed the schema incompatibly: redeploy ${targetRelease} to the idle color ${idleColor} and flip to it.`;
  return {
    action: "redeploy",
    idleColor,
    warm,
    reason,
    summary: `redeploy ${targetRelease} to ${idleColor}`,
    manual,
    notes,
  };
}
