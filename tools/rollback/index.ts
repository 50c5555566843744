// Plans how to roll a stack back, from its `pulumi stack history`. planRollback is pure: history in, plan or
// refusal out. Three steps, one module each: choose the target (target.ts), decide flip, redeploy or restore
// (action.ts), build the commands (commands.ts); render.ts prints the plan. prepareRollback reads what
// planRollback needs (the stack file, the history) and checks the plan first (check.ts); the command line
// is cli.ts.
import * as fs from "fs";
import * as path from "path";
import { Color, COLORS, Override, otherColor } from "../../schema/types";
import { PlannedCommand } from "../lib/commands";
import { ConfigDrift, configDrift } from "./config-drift";
import { OVERRIDE_KEYS } from "../../contract/override";
import { decideAction, PlannedBackup, RollbackAction } from "./action";
import { rollbackCommands } from "./commands";
import { checkHistoryIsStacks, checkRollbackConfig } from "./check";
import { chooseTarget, DeployedUpdate, liveUpdate, SkippedUpdate, TargetRequest } from "./target";
import { FileConfigValue, readFileConfig } from "../lib/stack-yaml";
import { readStackHistory, requirePulumi } from "../history/pulumi-cli";
import { readStackOutputs } from "../history/outputs";
import { recordedClassifications } from "./schema-breaking";
import { qualified, RecordedOverride, releaseState, shown } from "../history/state";
import { readProjectStack } from "../lib/project";

/** What the rollback is asked to do: the target (see TargetRequest), and what to record and run against. */
export interface RollbackRequest extends TargetRequest {
  /** An emergency override to record with the rollback (outside the deployment window). */
  override?: Override;
  /** The config in Pulumi.<stack>.yaml where the commands run, as the history encodes it; unknown if absent. */
  stackFile?: Record<string, FileConfigValue>;
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

function side({ state, color }: DeployedUpdate): PlanSide {
  const idle = otherColor(color);
  return {
    version: state.update.version,
    startTime: state.update.startTime,
    endTime: state.update.endTime,
    message: state.update.message,
    activeColor: color,
    release: shown(state.colors[color].release),
    image: shown(state.colors[color].image),
    idleColor: idle,
    idleRelease: shown(state.colors[idle].release),
    idleImage: shown(state.colors[idle].image),
    schemaBreaking: state.schemaBreaking,
  };
}

/** Plans a rollback, or throws RollbackRefusal. */
export function planRollback(request: RollbackRequest): RollbackPlan {
  const { stack } = request;
  const situation = chooseTarget(request);
  const { live, after } = situation;
  const decision = decideAction(situation, stack, request.now);
  const built = rollbackCommands({
    stack,
    situation,
    decision,
    override: request.override,
    stackFile: request.stackFile,
  });
  const notes = [...decision.notes, ...built.notes];

  const overrides = after
    .map((update) => releaseState(update).override)
    .filter((override): override is RecordedOverride => override !== undefined)
    .filter(
      (override, index, all) =>
        all.findIndex((other) => other.ticket === override.ticket && other.reason === override.reason) ===
        index,
    );
  if (live.state.override !== undefined && request.override === undefined) {
    notes.push(
      `the live config (v${live.update.version}) still carries the emergency override ${live.state.override.ticket} ` +
        `(expires ${live.state.override.expiresAt}); while unexpired it also covers this rollback`,
    );
  }
  const drift = request.stackFile === undefined ? [] : configDrift(live.update, request.stackFile);
  const pinnedKeys = new Set(
    [
      ...COLORS.flatMap((color) => [`${color}Release`, `${color}Image`]),
      "activeColor",
      "latestColor",
      "schemaBreaking",
      "maintenanceMode",
      ...(request.override !== undefined ? Object.values(OVERRIDE_KEYS) : []),
    ].map(qualified),
  );
  const pinnedDrift = drift.filter((entry) => pinnedKeys.has(entry.key));
  const otherDrift = drift.filter((entry) => !pinnedKeys.has(entry.key));
  if (pinnedDrift.length > 0) {
    notes.push(
      `Pulumi.${stack}.yaml holds other release settings than the live v${live.update.version} (${pinnedDrift.map((entry) => entry.key).join(", ")}), ` +
        "perhaps a release written but never deployed: the commands above set them explicitly",
    );
  }
  if (otherDrift.length > 0) {
    notes.push(
      `Pulumi.${stack}.yaml differs from the live v${live.update.version} in ${otherDrift.map((entry) => entry.key).join(", ")}: ` +
        "these differences go out with this rollback's pulumi up unless you revert them first",
    );
  }
  notes.push(
    `pulumi config set writes Pulumi.${stack}.yaml: commit it after the rollback, or the next release from main undoes it`,
  );

  return {
    stack,
    from: side(live),
    to: side(situation.target),
    action: decision.action,
    reason: decision.reason,
    commands: built.commands,
    manual: decision.manual,
    skipped: situation.skipped,
    backup: decision.backup,
    override: overrides.at(-1),
    overrides,
    drift,
    notes,
  };
}

/** A rollback of a stack in a project, its history live or saved; without `updates` and `stackFile`, which it reads. */
export interface RollbackInput extends Omit<RollbackRequest, "updates" | "stackFile"> {
  /** The Pulumi project the commands run in. */
  projectDir: string;
  /** A saved `pulumi stack history --json` (it must be the stack's own); default: `pulumi stack history`. */
  historyFile?: string;
  /** A saved `pulumi stack output --json` of the stack; default with live history: `pulumi stack output`. */
  outputsFile?: string;
  /** The commands will run (`--yes`): the pulumi CLI must be there. */
  run: boolean;
}

/**
 * Reads the stack file and the history, plans the rollback and checks every configuration its commands
 * would deploy against the stack's config rules. Throws RollbackRefusal; or BadInput, StackYamlError,
 * HistoryError, MissingPulumiError (bad input).
 */
export function prepareRollback(input: RollbackInput, env: NodeJS.ProcessEnv): RollbackPlan {
  const { stack, now } = input;
  // The commands run against this file: the plan sets only what it does not already hold.
  const { file: stackFilePath, config: stackConfig } = readProjectStack(input.projectDir, stack);
  const stackFileName = path.basename(stackFilePath);
  const stackFile = readFileConfig(fs.readFileSync(stackFilePath, "utf8"), stackFilePath);
  if (input.run) requirePulumi(env, "--yes runs `pulumi config set` and `pulumi up`");
  const updates = readStackHistory(input, env);
  if (input.historyFile !== undefined) {
    const live = liveUpdate(updates);
    if (live !== undefined) {
      checkHistoryIsStacks(live, stackConfig, { stack, historyFile: input.historyFile, stackFileName });
    }
  }
  const plan = planRollback({
    stackFile,
    stack,
    updates,
    to: input.to,
    now,
    maxAgeDays: input.maxAgeDays,
    override: input.override,
    // The rehearsals' classifications outrank greenlight:schemaBreaking (schema-breaking.ts).
    classifications: recordedClassifications(readStackOutputs(input, env)),
  });
  checkRollbackConfig(stackConfig, plan.commands, { stack, now, stackFileName });
  return plan;
}
