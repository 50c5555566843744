// Plans how to roll a stack back, from its `pulumi stack history`. Pure: history in, plan or refusal out.
// Three steps, one module each: choose the target (rollback-target.ts), decide flip, redeploy or restore
// (rollback-action.ts), build the commands (rollback-commands.ts); rollback-render.ts prints the plan.
import { Color, COLORS, Override, otherColor } from "../../schema/types";
import { PlannedCommand } from "../lib/commands";
import { ConfigDrift, configDrift } from "./config-drift";
import { OVERRIDE_KEYS } from "../../contract/override";
import { decideAction, PlannedBackup, RollbackAction } from "./action";
import { rollbackCommands } from "./commands";
import { chooseTarget, DeployedUpdate, SkippedUpdate, TargetRequest } from "./target";
import { FileConfigValue } from "../lib/stack-yaml";
import { qualified, RecordedOverride, releaseState, shown } from "../history/state";

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
