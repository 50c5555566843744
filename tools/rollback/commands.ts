// The commands a rollback plan prints (and runs with --yes): `pulumi config set` for every release key
// Pulumi.<stack>.yaml does not already hold, maintenance mode and the restore step around a restore,
// the emergency override, then `pulumi up`. A secret is never put on a command line. Pure.
import { Color, COLORS, Override } from "../../schema/types";
import { PlannedCommand, pulumiConfigSet, pulumiUp } from "../lib/commands";
import { OVERRIDE_KEYS } from "../../contract/override";
import { describeOverride } from "../lib/override";
import { PlannedBackup, RollbackDecision } from "./action";
import { RollbackSituation } from "./target";
import { FileConfigValue } from "../lib/stack-yaml";
import { plainValue, qualified, RecordedValue, shown } from "../history/state";

/** A config key the rollback sets, unless the stack file already holds that value. */
interface DesiredValue {
  key: string;
  value: RecordedValue | string;
  purpose: string;
  /** Comes from the target's config: a secret must then be typed again. */
  fromTarget: boolean;
}

/** What each color runs at one point of the rollback. */
type ColorValues = Record<Color, { release: RecordedValue; image: RecordedValue; fromTarget: boolean }>;

/**
 * Each color's release and image, the active color, the schema flag, and the latest color as live (a
 * rollback moves traffic, not the newest release: backup and migration inputs stay as they are).
 */
function releaseKeys(
  active: Color,
  values: ColorValues,
  schemaBreaking: string,
  latest: RecordedValue,
  why: string,
): DesiredValue[] {
  return [
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
    // Histories from before greenlight:latestColor existed do not record it: the stack file's value stays.
    ...(plainValue(latest) !== undefined
      ? [
          {
            key: "latestColor",
            value: latest,
            fromTarget: false,
            purpose: `${shown(latest)} holds the newest release, as live: a rollback moves traffic, not the newest release${why}`,
          },
        ]
      : []),
    {
      key: "schemaBreaking",
      value: schemaBreaking,
      fromTarget: false,
      purpose: `the active release's schema flag${why}`,
    },
  ];
}

/** The restore step of the ops CLI (or its preflight); credentials come from the environment, never argv. */
function restoreCommand(stack: string, backup: PlannedBackup, preflight: boolean): PlannedCommand {
  return {
    argv: [
      "node",
      "bin/greenlight-ops.js",
      "restore",
      "--bucket",
      backup.bucket,
      "--prefix",
      backup.prefix,
      "--stack",
      stack,
      "--release",
      backup.release,
      "--target-db",
      backup.targetDb,
      "--region",
      backup.region,
      ...(backup.endpoint !== undefined ? ["--endpoint", backup.endpoint] : []),
      preflight ? "--preflight" : "--confirm",
    ],
    purpose: preflight
      ? `check the restore can run before anything changes: S3 credentials, region and bucket, the backup under ${backup.location}, pg_restore, the database and free disk`
      : `restore the newest backup under ${backup.location} into ${backup.targetDb} (database and S3 credentials come from the environment)`,
  };
}

/** What building the commands needs. */
export interface CommandsRequest {
  stack: string;
  situation: RollbackSituation;
  decision: RollbackDecision;
  override?: Override;
  stackFile?: Record<string, FileConfigValue>;
}

/** The plan's commands in order, and notes on secrets it leaves as the stack file holds them. */
export function rollbackCommands(request: CommandsRequest): { commands: PlannedCommand[]; notes: string[] } {
  const { stack, situation, decision } = request;
  const { live, target } = situation;
  const commands: PlannedCommand[] = [];
  const notes: string[] = [];
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
        commands.push({
          argv: pulumiConfigSet(stack, fullKey, plain),
          purpose,
          sets: { key: fullKey, value: plain },
        });
        fileState.set(fullKey, plain);
      } else if (fromTarget) {
        // Never print a secret: without a value on the command line, pulumi prompts for it.
        commands.push({
          argv: ["pulumi", "config", "set", "--secret", fullKey, "--stack", stack],
          purpose: `${purpose}: type the value ${fullKey} had in v${target.update.version} when pulumi asks (secrets are never printed)`,
          interactive: true,
          sets: { key: fullKey },
        });
        fileState.delete(fullKey);
      } else {
        notes.push(
          `${fullKey} is secret: left as Pulumi.${stack}.yaml holds it (check it matches the live v${live.update.version})`,
        );
      }
    }
  };

  const { serveColor } = decision;
  const liveValues = {
    blue: { ...live.state.colors.blue, fromTarget: false },
    green: { ...live.state.colors.green, fromTarget: false },
  } as ColorValues;
  // The serve color gets the target's release (the live values when it still runs it); the other color
  // keeps what the live update gave it, as warm as it was — unless a failed update replaced it: then it
  // is set back, and the update puts it back.
  const final: ColorValues = { ...liveValues };
  if (!decision.warm) final[serveColor] = { ...target.state.colors[target.color], fromTarget: true };

  const { backup } = decision;
  if (backup !== undefined) {
    commands.push(restoreCommand(stack, backup, true));
    if (live.state.maintenanceMode !== "on") {
      converge([
        ...releaseKeys(
          live.color,
          liveValues,
          String(live.state.schemaBreaking),
          live.state.latestColor,
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
          `rollback to v${target.update.version}: maintenance on before restoring ${backup.location}`,
          true,
        ),
        purpose: "apply maintenance mode",
      });
    }
    commands.push(restoreCommand(stack, backup, false));
  }

  // Every release key is set to what it must be, unless Pulumi.<stack>.yaml already holds it: a
  // release written to the file but never deployed must not go out with the rollback.
  converge([
    // A rollback's release introduces no schema change; going back to the live update keeps its flag.
    ...releaseKeys(
      serveColor,
      final,
      decision.action === "reset" ? String(live.state.schemaBreaking) : "false",
      live.state.latestColor,
      "",
    ),
    ...(decision.action === "restore" && live.state.maintenanceMode !== "on"
      ? [
          {
            key: "maintenanceMode",
            value: live.state.maintenanceMode,
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
        sets: { key: qualified(key), value: request.override[field] },
      });
    }
  }
  const overrideText = request.override !== undefined ? ` (${describeOverride(request.override)})` : "";
  commands.push({
    argv: pulumiUp(stack, `rollback to v${target.update.version}: ${decision.summary}${overrideText}`, true),
    purpose: "apply it: the update converges the stack to the configuration above",
  });
  return { commands, notes };
}
