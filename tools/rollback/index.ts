// Plans how to roll a stack back, from its `pulumi stack history` and the stack file. planRollback: history
// in, plan or refusal out. Choose the target (target.ts), model what the stack runs now — how far each
// failed update got — and what each of the plan's `pulumi up` runs (state.ts, with plan --diff-from's
// rules), decide flip, redeploy, restore or reset (action.ts), build the commands (commands.ts); render.ts
// prints the plan. prepareRollback reads what planRollback needs (the stack file, the history) and checks
// the plan first (check.ts); the command line is cli.ts.
import * as fs from "fs";
import * as path from "path";
import { Color, COLORS, Override, otherColor } from "../../schema/types";
import { PlannedCommand } from "../lib/commands";
import { ConfigDrift, configDrift } from "./config-drift";
import { OVERRIDE_KEYS } from "../../contract/override";
import { decideAction, mayHaveRun, PlannedBackup, refineAction, RollbackAction } from "./action";
import { rollbackCommands } from "./commands";
import { checkRollbackConfig, configsAtUpdates, isPulumiUp } from "./check";
import { modelState, ProgramRunner, programRunner, UpdateRuns, whatUpdatesRun } from "./state";
import { firstBreakingChange } from "./target";
import { describeProgress, UpdateProgress } from "../history/progress";
import { StackConfig } from "../harness/stack-file";
import { pulumiUp } from "../lib/commands";
import { describeOverride } from "../lib/override";
import { judgeRollbackWindow, WindowVerdict } from "./window";
import { checkHistoryIsStacks } from "../history/owner";
import { chooseTarget, DeployedUpdate, SkippedUpdate, TargetRequest } from "./target";
import { FileConfigValue, readFileConfig } from "../lib/stack-yaml";
import { readStackHistory, requirePulumi } from "../history/pulumi-cli";
import { readStackOutputs } from "../history/outputs";
import { recordedClassifications } from "./schema-breaking";
import { liveUpdate } from "../history/read";
import { qualified, RecordedOverride, releaseState, shown } from "../history/state";
import { readProjectStack } from "../lib/project";

/** What the rollback is asked to do: the target (see TargetRequest), and what to record and run against. */
export interface RollbackRequest extends TargetRequest {
  /** An emergency override to record with the rollback (outside the deployment window). */
  override?: Override;
  /** The config in Pulumi.<stack>.yaml where the commands run, as the history encodes it; unknown if absent. */
  stackFile?: Record<string, FileConfigValue>;
  /**
   * The stack file as the engine reads it, and the program runner: with them the plan says how far each
   * failed update got and what each `pulumi up` runs; without, it reasons from release keys alone.
   */
  program?: { base: StackConfig; run: ProgramRunner };
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
  skipped: (SkippedUpdate & { progress?: UpdateProgress })[];
  /** What each `pulumi up` of the plan runs (plan --diff-from's rules), or why it cannot be told. */
  updates: UpdateRuns[];
  updatesUnknown?: string;
  backup?: PlannedBackup;
  /** The most recent emergency override recorded since the target, if any. */
  override?: RecordedOverride;
  overrides: RecordedOverride[];
  /** Plain keys where the stack file the commands run against differs from the live config. */
  drift: ConfigDrift[];
  notes: string[];
  /** The deployment window when the rollback runs (prepareRollback judges it). */
  window?: WindowVerdict;
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
export async function planRollback(request: RollbackRequest): Promise<RollbackPlan> {
  const { stack } = request;
  const chosen = chooseTarget(request);
  const model = request.program
    ? await modelState(
        request.updates,
        chosen.target.update.version,
        request.program.base,
        request.program.run,
      )
    : { progress: new Map<number, UpdateProgress>(), unavailable: undefined, resources: undefined, ran: [] };
  // A failed release whose migration never ran changed no schema (the history's counts tell).
  const situation = {
    ...chosen,
    breaking: firstBreakingChange(chosen.after, chosen.target.release, request.classifications, (update) =>
      mayHaveRun(model.progress.get(update.version), "migration"),
    ),
  };
  const { live, after } = situation;
  let decision = decideAction(situation, stack, request.now, model.progress);
  const built = rollbackCommands({
    stack,
    situation,
    decision,
    override: request.override,
    stackFile: request.stackFile,
  });
  let updates: UpdateRuns[] = [];
  let updatesUnknown = model.unavailable;
  if (request.program && model.resources) {
    const runs = await whatUpdatesRun(
      model.resources,
      configsAtUpdates(request.program.base, built.commands),
      request.program.run,
      model.ran,
    );
    if ("unavailable" in runs) updatesUnknown = runs.unavailable;
    else updates = runs;
  } else if (!request.program) {
    updatesUnknown = "the plan was made without the program";
  }
  const last = updates.at(-1);
  if (last !== undefined && request.program) {
    const deployed = configsAtUpdates(request.program.base, built.commands).at(-1)?.config.config ?? {};
    decision = refineAction(decision, last, {
      blue: deployed[qualified("blueRelease")],
      green: deployed[qualified("greenRelease")],
    });
    // The last update's message says what it does, as the runs showed it.
    const finalIndex = built.commands.map(isPulumiUp).lastIndexOf(true);
    const overrideText = request.override !== undefined ? ` (${describeOverride(request.override)})` : "";
    built.commands[finalIndex] = {
      ...built.commands[finalIndex],
      argv: pulumiUp(
        stack,
        `rollback to v${situation.target.update.version}: ${decision.summary}${overrideText}`,
        true,
      ),
    };
  }
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
    skipped: situation.skipped.map((entry) => {
      const progress = model.progress.get(entry.version);
      if (progress === undefined) return entry;
      // An update still in progress keeps its hint: the rollback's pulumi up waits for its lock.
      const note = `${describeProgress(progress)}${entry.result === "in-progress" ? `; ${entry.note}` : ""}`;
      return { ...entry, note, progress };
    }),
    updates,
    updatesUnknown,
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
  /** The rollback's command line without --to and --yes, which the window's override command extends. */
  rerun?: string[];
}

/**
 * Reads the stack file and the history, plans the rollback and checks every configuration its commands
 * would deploy against the stack's config rules. Throws RollbackRefusal; or BadInput, StackYamlError,
 * HistoryError, MissingPulumiError (bad input).
 */
export async function prepareRollback(input: RollbackInput, env: NodeJS.ProcessEnv): Promise<RollbackPlan> {
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
  const plan = await planRollback({
    stackFile,
    stack,
    updates,
    to: input.to,
    now,
    maxAgeDays: input.maxAgeDays,
    override: input.override,
    // The rehearsals' classifications outrank greenlight:schemaBreaking (schema-breaking.ts).
    classifications: recordedClassifications(readStackOutputs(input, env)),
    program: { base: stackConfig, run: programRunner(stack, now) },
  });
  checkRollbackConfig(stackConfig, plan.commands, { stack, now, stackFileName });
  // The override the rollback's last update deploys: --override-* flags, or what the stack file keeps.
  const deployed = configsAtUpdates(stackConfig, plan.commands).at(-1)?.config.config ?? {};
  const field = (key: string) => deployed[qualified(key)];
  const window = judgeRollbackWindow({
    stack,
    at: now,
    overrideFields: {
      reason: field(OVERRIDE_KEYS.reason),
      approver: field(OVERRIDE_KEYS.approver),
      ticket: field(OVERRIDE_KEYS.ticket),
      expiresAt: field(OVERRIDE_KEYS.expiresAt),
    },
    rerun: [
      ...(input.rerun ?? ["npm", "run", "rollback", "--", "--stack", stack]),
      "--to",
      `v${plan.to.version}`,
      "--yes",
    ],
  });
  return { ...plan, window };
}
