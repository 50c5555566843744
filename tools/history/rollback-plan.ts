// Decides how to roll a stack back, from its `pulumi stack history`. Pure: history in, plan or refusal out.
//   flip      the target's release is still deployed (warm) in the idle color and no release since the
//             target changed the schema incompatibly: flip activeColor back.
//   redeploy  the target's release is no longer deployed: put it on the idle color and flip to it.
//   restore   a release since the target changed the schema incompatibly: restore the backup taken just
//             before that release migrated, then flip or redeploy.
import { releasePrefix } from "../../ops/backup-key";
import { Color, COLORS, Override, otherColor } from "../../schema/types";
import { formatCommand, PlannedCommand, pulumiConfigSet, pulumiUp } from "./commands";
import { describeOverride, OVERRIDE_KEYS } from "./override";
import { finishedAt, isSucceededUpdate, StackUpdate } from "./read";
import {
  activeRelease,
  plainValue,
  qualified,
  recorded,
  RecordedOverride,
  RecordedValue,
  releaseState,
  ReleaseState,
  shown,
} from "./state";

export type RollbackAction = "flip" | "redeploy" | "restore";

/** What the rollback is asked to do. */
export interface RollbackRequest {
  stack: string;
  /** The stack's history, any order. */
  updates: StackUpdate[];
  /** Roll back to this version; default: the newest succeeded update before the live one with another release. */
  to?: number;
  now: Date;
  /** Refuse a target that finished longer ago than this. */
  maxAgeDays: number;
  /** An emergency override to record with the rollback (outside the deployment window). */
  override?: Override;
  /** The config in Pulumi.<stack>.yaml where the commands run, as the history encodes it; unknown if absent. */
  stackFile?: Record<string, { value?: string; secret: boolean }>;
}

/** A config key the rollback sets, unless the stack file already holds that value. */
interface DesiredValue {
  key: string;
  value: RecordedValue | string;
  purpose: string;
  /** Comes from the target's config: a secret must then be typed again. */
  fromTarget: boolean;
}

/** One side of the rollback, as printed (secrets shown as [secret]). */
export interface PlanSide {
  version: number;
  startTime: string;
  endTime?: string;
  message: string;
  activeColor: Color;
  release: string;
  image: string;
  idleColor: Color;
  idleRelease: string;
  idleImage: string;
  schemaBreaking: boolean;
}

/** An update after the target that the rollback does not build on. */
export interface SkippedUpdate {
  version: number;
  result: string;
  startTime: string;
  message: string;
  note: string;
}

/** The backup a restore uses. */
export interface PlannedBackup {
  bucket: string;
  prefix: string;
  /** The release whose pre-migration backup holds the schema the target runs on. */
  release: string;
  /** `<prefix>/<stack>/<release>/`, from ops/backup-key.ts. */
  location: string;
  /** The backup was taken when this update started, before its migration. */
  takenAt: string;
  targetDb: string;
}

export interface RollbackPlan {
  stack: string;
  from: PlanSide;
  to: PlanSide;
  action: RollbackAction;
  reason: string;
  commands: PlannedCommand[];
  /** Steps the user must do by hand first: secrets the tool never prints. */
  manual: string[];
  skipped: SkippedUpdate[];
  backup?: PlannedBackup;
  /** The most recent emergency override recorded since the target, if any. */
  override?: RecordedOverride;
  overrides: RecordedOverride[];
  /** Plain keys where the stack file the commands run against differs from the live config. */
  drift: ConfigDrift[];
  notes: string[];
}

/** A rollback the tool will not plan; the message says why and what to do. */
export class RollbackRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RollbackRefusal";
  }
}

const DAY_MS = 86_400_000;

function days(from: Date, to: Date): number {
  return (to.getTime() - from.getTime()) / DAY_MS;
}

function side(state: ReleaseState, activeColor: Color): PlanSide {
  const idle = otherColor(activeColor);
  return {
    version: state.update.version,
    startTime: state.update.startTime,
    endTime: state.update.endTime,
    message: state.update.message,
    activeColor,
    release: shown(state.colors[activeColor].release),
    image: shown(state.colors[activeColor].image),
    idleColor: idle,
    idleRelease: shown(state.colors[idle].release),
    idleImage: shown(state.colors[idle].image),
    schemaBreaking: state.schemaBreaking,
  };
}

function requireColor(state: ReleaseState, role: string): Color {
  if (state.activeColor === undefined) {
    throw new RollbackRefusal(
      `v${state.update.version} (${role}) has no greenlight:activeColor of blue or green in its config; ` +
        "it was not deployed by greenlight, so there is nothing to compare",
    );
  }
  return state.activeColor;
}

function requireRelease(state: ReleaseState, role: string): string {
  const color = requireColor(state, role);
  const release = activeRelease(state);
  if (release === undefined) {
    throw new RollbackRefusal(
      `v${state.update.version} (${role}): greenlight:${color}Release is ${shown(state.colors[color].release)}; ` +
        "a release id must be plain config to compare releases",
    );
  }
  return release;
}

/** Are two recorded values known to be equal? Secrets without values cannot be compared. */
function sameValue(a: RecordedValue, b: RecordedValue): boolean | undefined {
  if (!a.set || !b.set) return a.set === b.set;
  if (a.value === undefined || b.value === undefined) return undefined;
  return a.value === b.value;
}

/** Plans a rollback, or throws RollbackRefusal. */
export function planRollback(request: RollbackRequest): RollbackPlan {
  const { stack } = request;
  const history = [...request.updates].sort((a, b) => a.version - b.version);
  const deployments = history.filter((update) => update.kind === "update");
  const succeeded = deployments.filter(isSucceededUpdate);
  const current = succeeded.at(-1);
  if (current === undefined) {
    throw new RollbackRefusal(
      `the history of ${stack} has no succeeded update: nothing is live, so there is nothing to roll back`,
    );
  }
  const currentState = releaseState(current);
  const currentColor = requireColor(currentState, "live");
  const currentRelease = requireRelease(currentState, "live");

  let target: StackUpdate;
  if (request.to !== undefined) {
    const found = history.find((update) => update.version === request.to);
    if (found === undefined) {
      const versions = history.map((update) => update.version);
      throw new RollbackRefusal(
        `--to ${request.to}: no such version in the history of ${stack}` +
          (versions.length > 0 ? ` (it holds v${versions[0]}–v${versions[versions.length - 1]})` : "") +
          "; list them with `pulumi stack history`",
      );
    }
    if (!isSucceededUpdate(found)) {
      throw new RollbackRefusal(
        `--to ${request.to}: v${found.version} is ${found.kind === "update" ? "an update" : `a ${found.kind}`} that ` +
          `${found.result === "succeeded" ? "succeeded" : `ended ${found.result}`}; only a succeeded update is a state to roll back to`,
      );
    }
    if (found.version === current.version) {
      throw new RollbackRefusal(
        `--to ${request.to}: v${found.version} is the live version already; nothing to do`,
      );
    }
    target = found;
    const targetRelease = requireRelease(releaseState(target), "target");
    if (targetRelease === currentRelease) {
      throw new RollbackRefusal(
        `--to ${request.to}: v${found.version} ran release ${targetRelease}, the same release as the live v${current.version}; ` +
          "a rollback changes the release. Pick a version with another release, or change settings with `pulumi config set`",
      );
    }
  } else {
    // Succeeded updates that kept the live release changed settings only; rolling back passes over them.
    const earlier = succeeded
      .filter((update) => update.version < current.version)
      .reverse()
      .find((update) => {
        const state = releaseState(update);
        return state.activeColor !== undefined && activeRelease(state) !== currentRelease;
      });
    if (earlier === undefined) {
      throw new RollbackRefusal(
        `no earlier succeeded update of ${stack} ran another release than the live ${currentRelease} (v${current.version}): ` +
          "there is nothing to roll back to",
      );
    }
    target = earlier;
  }

  const targetState = releaseState(target);
  const targetColor = requireColor(targetState, "target");
  const targetRelease = requireRelease(targetState, "target");
  const targetAge = days(finishedAt(target), request.now);
  if (targetAge > request.maxAgeDays) {
    throw new RollbackRefusal(
      `v${target.version} finished ${targetAge.toFixed(1)} days ago (${target.endTime ?? target.startTime}), older than ` +
        `--max-age-days ${request.maxAgeDays}: its image may be gone from the registry and its backups expired. ` +
        `Check both, then pass --max-age-days ${Math.ceil(targetAge)} to accept it`,
    );
  }

  const after = deployments.filter((update) => update.version > target.version);
  const skipped: SkippedUpdate[] = after
    .filter((update) => update.result !== "succeeded")
    .map((update) => ({
      version: update.version,
      result: update.result,
      startTime: update.startTime,
      message: update.message,
      note:
        update.result === "in-progress"
          ? "still in progress (or abandoned): the rollback's `pulumi up` waits for the stack lock; `pulumi cancel` ends an abandoned one"
          : update.version > current.version
            ? "failed after the live version: it may have changed part of the stack; the rollback's `pulumi up` converges it"
            : "failed: the rollback does not build on it",
    }));

  // A breaking schema change is one an update introduced: the flag set on a release that differs from
  // the one live before it. Failed updates count: their migration may have run before they failed.
  let liveBefore = targetRelease;
  let breaking: { state: ReleaseState; release: string } | undefined;
  for (const update of after) {
    const state = releaseState(update);
    const release = activeRelease(state);
    if (breaking === undefined && state.schemaBreaking && release !== undefined && release !== liveBefore) {
      breaking = { state, release };
    }
    if (isSucceededUpdate(update) && release !== undefined) liveBefore = release;
  }

  const idleColor = otherColor(currentColor);
  const targetRecord = targetState.colors[targetColor];
  const idleRecord = currentState.colors[idleColor];
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
      `${idleColor} runs ${targetRelease} but with image ${shown(idleRecord.image)}, not v${target.version}'s ${shown(targetRecord.image)}: redeploying`,
    );
  }

  const from = side(currentState, currentColor);
  const to = side(targetState, targetColor);
  const manual: string[] = [];
  const commands: PlannedCommand[] = [];
  // What Pulumi.<stack>.yaml holds as the commands run (unknown without a file, so every key is set once).
  const fileState = new Map<string, string>();
  for (const [key, value] of Object.entries(request.stackFile ?? {})) {
    if (!value.secret && value.value !== undefined) fileState.set(key, value.value);
  }
  const converge = (desired: DesiredValue[]) => {
    for (const { key, value, purpose, fromTarget } of desired) {
      const fullKey = qualified(key);
      const plain = typeof value === "string" ? value : plainValue(value);
      if (plain !== undefined) {
        if (fileState.get(fullKey) === plain) continue;
        commands.push({ argv: pulumiConfigSet(stack, fullKey, plain), purpose });
        fileState.set(fullKey, plain);
      } else if (fromTarget) {
        // Never print a secret: without a value on the command line, pulumi prompts for it.
        commands.push({
          argv: ["pulumi", "config", "set", "--secret", fullKey, "--stack", stack],
          purpose: `${purpose}: type the value ${fullKey} had in v${target.version} when pulumi asks (secrets are never printed)`,
          interactive: true,
        });
        fileState.delete(fullKey);
      } else {
        notes.push(
          `${fullKey} is secret: left as Pulumi.${stack}.yaml holds it (check it matches the live v${current.version})`,
        );
      }
    }
  };
  const releaseKeys = (
    active: Color,
    values: Record<Color, { release: RecordedValue; image: RecordedValue; fromTarget: boolean }>,
    schemaBreaking: string,
    why: string,
  ): DesiredValue[] => [
    ...COLORS.flatMap((color) => [
      {
        key: `${color}Release`,
        value: values[color].release,
        fromTarget: values[color].fromTarget,
        purpose: `${color} runs ${shown(values[color].release)}${why}`,
      },
      {
        key: `${color}Image`,
        value: values[color].image,
        fromTarget: values[color].fromTarget,
        purpose: `${color}'s image${why}`,
      },
    ]),
    { key: "activeColor", value: active, fromTarget: false, purpose: `${active} serves traffic${why}` },
    {
      key: "schemaBreaking",
      value: schemaBreaking,
      fromTarget: false,
      purpose: `the active release's schema flag${why}`,
    },
  ];
  const live = {
    [currentColor]: { ...currentState.colors[currentColor], fromTarget: false },
    [idleColor]: { ...currentState.colors[idleColor], fromTarget: false },
  } as Record<Color, { release: RecordedValue; image: RecordedValue; fromTarget: boolean }>;
  const final = {
    [currentColor]: live[currentColor],
    [idleColor]: warm ? live[idleColor] : { ...targetRecord, fromTarget: true },
  } as Record<Color, { release: RecordedValue; image: RecordedValue; fromTarget: boolean }>;

  const action: RollbackAction = breaking !== undefined ? "restore" : warm ? "flip" : "redeploy";
  let backup: PlannedBackup | undefined;
  let reason: string;
  let summary: string;

  if (breaking !== undefined) {
    const breakingRelease = breaking.release;
    const breakingUpdate = breaking.state.update;
    const backupAge = days(new Date(breakingUpdate.startTime), request.now);
    const retention = currentState.backupRetentionDays;
    if (backupAge > retention) {
      throw new RollbackRefusal(
        `v${breakingUpdate.version} (${breakingRelease}) changed the schema incompatibly, so this rollback needs the backup ` +
          `taken before it migrated, ${backupAge.toFixed(1)} days ago; greenlight:backupRetentionDays is ${retention}, so that ` +
          "backup has expired. Roll forward with a fix instead, or restore an older backup by hand",
      );
    }
    const bucket = plainValue(currentState.backupBucket) ?? "<greenlight:backupBucket>";
    const targetDb = plainValue(currentState.dbName) ?? "<greenlight:dbName>";
    if (plainValue(currentState.backupBucket) === undefined)
      manual.push(
        `fill in the backup bucket (greenlight:backupBucket is ${shown(currentState.backupBucket)} in v${current.version})`,
      );
    if (plainValue(currentState.dbName) === undefined)
      manual.push(
        `fill in the database (greenlight:dbName is ${shown(currentState.dbName)} in v${current.version})`,
      );
    backup = {
      bucket,
      prefix: currentState.backupPrefix,
      release: breakingRelease,
      location: releasePrefix(currentState.backupPrefix, stack, breakingRelease),
      takenAt: breakingUpdate.startTime,
      targetDb,
    };
    reason =
      `v${breakingUpdate.version}${breakingUpdate.result === "succeeded" ? "" : ` (${breakingUpdate.result}, but it may have migrated before it stopped)`} ` +
      `released ${breakingRelease} with greenlight:schemaBreaking=true, so ${targetRelease} cannot run on today's schema. ` +
      `The backup greenlight took before ${breakingRelease} migrated (${backup.location}, ${breakingUpdate.startTime}) holds the schema ` +
      `${targetRelease} runs on; data written since then is lost. Then ` +
      (warm
        ? `${targetRelease} is still warm in ${idleColor}: flip to it.`
        : `${targetRelease} is redeployed to ${idleColor}.`);
    summary = `restore ${backup.location} and ${warm ? "flip" : "redeploy"} ${targetRelease} to ${idleColor}`;
    if (currentState.maintenanceMode !== "on") {
      converge([
        ...releaseKeys(
          currentColor,
          live,
          String(currentState.schemaBreaking),
          " (as live, so only maintenance changes)",
        ),
        {
          key: "maintenanceMode",
          value: "on",
          fromTarget: false,
          purpose: "stop traffic (503 page) so nothing writes while the database is restored",
        },
      ]);
      commands.push({
        argv: pulumiUp(
          stack,
          `rollback to v${target.version}: maintenance on before restoring ${backup.location}`,
          true,
        ),
        purpose: "apply maintenance mode",
      });
    }
    commands.push({
      argv: [
        "node",
        "bin/greenlight-ops.js",
        "restore",
        "--bucket",
        bucket,
        "--prefix",
        currentState.backupPrefix,
        "--stack",
        stack,
        "--release",
        breakingRelease,
        "--target-db",
        targetDb,
        "--confirm",
      ],
      purpose: `restore the newest backup under ${backup.location} into ${targetDb} (database and S3 credentials come from the environment)`,
    });
  } else if (warm) {
    reason =
      `${targetRelease} is still deployed (warm) in ${idleColor}, and no release since v${target.version} ` +
      "changed the schema incompatibly: flipping activeColor back is enough.";
    summary = `flip to ${idleColor} (${targetRelease})`;
  } else {
    reason =
      `${targetRelease} is no longer deployed (${idleColor} runs ${shown(idleRecord.release)}), and no release since ` +
      `v${target.version} changed the schema incompatibly: redeploy ${targetRelease} to the idle color ${idleColor} and flip to it.`;
    summary = `redeploy ${targetRelease} to ${idleColor}`;
  }

  // Every release key is set to what it must be, unless Pulumi.<stack>.yaml already holds it: a
  // release written to the file but never deployed must not go out with the rollback.
  converge([
    ...releaseKeys(idleColor, final, "false", ""),
    ...(action === "restore" && currentState.maintenanceMode !== "on"
      ? [
          {
            key: "maintenanceMode",
            value: currentState.maintenanceMode,
            fromTarget: false,
            purpose: "let traffic in again once the restored release passes its health gate",
          },
        ]
      : []),
  ]);
  if (request.override !== undefined) {
    for (const [field, key] of Object.entries(OVERRIDE_KEYS) as [keyof Override, string][]) {
      commands.push({
        argv: pulumiConfigSet(stack, qualified(key), request.override[field]),
        purpose: "record the emergency override (the deployment-window policy reads it)",
      });
    }
  }
  const overrideText = request.override !== undefined ? ` (${describeOverride(request.override)})` : "";
  commands.push({
    argv: pulumiUp(stack, `rollback to v${target.version}: ${summary}${overrideText}`, true),
    purpose: "apply it: health gate on the target color, then the traffic switch",
  });

  const overrides = after
    .map((update) => releaseState(update).override)
    .filter((override): override is RecordedOverride => override !== undefined)
    .filter(
      (override, index, all) =>
        all.findIndex((other) => other.ticket === override.ticket && other.reason === override.reason) ===
        index,
    );
  if (currentState.override !== undefined && request.override === undefined) {
    notes.push(
      `the live config (v${current.version}) still carries the emergency override ${currentState.override.ticket} ` +
        `(expires ${currentState.override.expiresAt}); while unexpired it also covers this rollback`,
    );
  }
  const drift = request.stackFile === undefined ? [] : configDrift(current, request.stackFile);
  const pinnedKeys = new Set(
    [
      ...COLORS.flatMap((color) => [`${color}Release`, `${color}Image`]),
      "activeColor",
      "schemaBreaking",
      "maintenanceMode",
      ...(request.override !== undefined ? Object.values(OVERRIDE_KEYS) : []),
    ].map(qualified),
  );
  const pinnedDrift = drift.filter((entry) => pinnedKeys.has(entry.key));
  const otherDrift = drift.filter((entry) => !pinnedKeys.has(entry.key));
  if (pinnedDrift.length > 0) {
    notes.push(
      `Pulumi.${stack}.yaml holds other release settings than the live v${current.version} (${pinnedDrift.map((entry) => entry.key).join(", ")}), ` +
        "perhaps a release written but never deployed: the commands above set them explicitly",
    );
  }
  if (otherDrift.length > 0) {
    notes.push(
      `Pulumi.${stack}.yaml differs from the live v${current.version} in ${otherDrift.map((entry) => entry.key).join(", ")}: ` +
        "these differences go out with this rollback's pulumi up unless you revert them first",
    );
  }
  notes.push(
    `pulumi config set writes Pulumi.${stack}.yaml: commit it after the rollback, or the next release from main undoes it`,
  );

  return {
    stack,
    from,
    to,
    action,
    reason,
    commands,
    manual,
    skipped,
    backup,
    override: overrides.at(-1),
    overrides,
    drift,
    notes,
  };
}

/** One key whose value in the stack file differs from the live update's; secrets are never compared. */
export interface ConfigDrift {
  key: string;
  live: string;
  file: string;
}

function normalized(value: string): string {
  try {
    const parsed: unknown = JSON.parse(value);
    if (typeof parsed === "object" && parsed !== null) return JSON.stringify(parsed);
  } catch {
    // A scalar: compared as text.
  }
  return value;
}

/** Keys where Pulumi.<stack>.yaml and the live config disagree (plain values only). */
export function configDrift(
  live: StackUpdate,
  stackFile: Record<string, { value?: string; secret: boolean }>,
): ConfigDrift[] {
  const keys = new Set([...Object.keys(live.config), ...Object.keys(stackFile)]);
  const drift: ConfigDrift[] = [];
  for (const key of [...keys].sort()) {
    const liveValue = recorded(live, key);
    const fileValue = stackFile[key];
    if (liveValue.secret || fileValue?.secret) continue;
    const liveText = liveValue.set ? (liveValue.value ?? "") : undefined;
    const fileText = fileValue?.value;
    if (liveText === fileText) continue;
    if (liveText !== undefined && fileText !== undefined && normalized(liveText) === normalized(fileText))
      continue;
    drift.push({ key, live: liveText ?? "(not set)", file: fileText ?? "(not set)" });
  }
  return drift;
}

/** The `--json` document: at least from, to, action, reason, commands, skipped (and override when used). */
export function planDocument(plan: RollbackPlan): Record<string, unknown> {
  return {
    stack: plan.stack,
    from: plan.from,
    to: plan.to,
    action: plan.action,
    reason: plan.reason,
    commands: plan.commands.map((command) => formatCommand(command.argv)),
    manual: plan.manual,
    skipped: plan.skipped,
    ...(plan.backup !== undefined ? { backup: plan.backup } : {}),
    ...(plan.override !== undefined ? { override: plan.override } : {}),
    overrides: plan.overrides,
    drift: plan.drift,
    notes: plan.notes,
  };
}

/** The human-readable plan. */
export function renderPlan(plan: RollbackPlan, dryRun: boolean): string {
  const describe = (label: string, s: PlanSide) =>
    `  ${label.padEnd(5)} v${s.version}  ${s.endTime ?? s.startTime}  ${s.activeColor.padEnd(5)}  release ${s.release}  image ${s.image}` +
    `\n        (idle ${s.idleColor}: ${s.idleRelease}; schemaBreaking ${s.schemaBreaking})${s.message ? `  "${s.message}"` : ""}`;
  const lines = [
    `Rollback plan for stack ${plan.stack}${dryRun ? " (dry run: add --yes to run the commands)" : ""}`,
    describe("from", plan.from),
    describe("to", plan.to),
    `  action  ${plan.action}`,
    `  reason  ${plan.reason}`,
  ];
  if (plan.backup !== undefined) {
    lines.push(
      `  backup  s3://${plan.backup.bucket}/${plan.backup.location} (newest dump, taken ${plan.backup.takenAt} before ${plan.backup.release} migrated) → database ${plan.backup.targetDb}`,
    );
  }
  if (plan.skipped.length > 0) {
    lines.push("  skipped");
    for (const skipped of plan.skipped) {
      lines.push(
        `    v${skipped.version} ${skipped.result} ${skipped.startTime}${skipped.message ? ` "${skipped.message}"` : ""}: ${skipped.note}`,
      );
    }
  }
  for (const override of plan.overrides) {
    lines.push(
      `  override  v${override.version} used emergency override ${override.ticket} approved by ${override.approver} until ${override.expiresAt}: ${override.reason}`,
    );
  }
  if (plan.manual.length > 0) {
    lines.push("  first, by hand (secret values are never printed)");
    plan.manual.forEach((step) => lines.push(`    - ${step}`));
  }
  lines.push("  commands");
  plan.commands.forEach((command, index) => {
    lines.push(`    ${index + 1}. ${formatCommand(command.argv)}`);
    lines.push(`       # ${command.purpose}`);
  });
  if (plan.notes.length > 0) {
    lines.push("  notes");
    plan.notes.forEach((note) => lines.push(`    - ${note}`));
  }
  return lines.join("\n") + "\n";
}
