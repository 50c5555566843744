// How a rollback plan is printed: the `--json` document and the human-readable text.
import { formatCommand } from "../lib/commands";
import { PlanSide, RollbackPlan } from ".";
import type { WindowVerdict } from "./window";
import { formatInstant } from "../../contract/instant";
import { COLUMNS, shortDigests, wrapLine } from "../plan/render";

/** A command to run, printed after `prefix`: wrapped between its words, never inside one. */
interface CommandLine {
  prefix: string;
  argv: string[];
}

/**
 * A command wrapped between arguments to `width` with " \\" continuations, so it still pastes into a
 * shell; an argument longer than the line (an image pinned by digest) is never cut.
 */
export function wrapCommand({ prefix, argv }: CommandLine, width: number): string[] {
  const words = argv.map((word) => formatCommand([word]));
  const indent = " ".repeat(prefix.length - prefix.trimStart().length + 4);
  const out: string[] = [];
  let current = prefix + words[0];
  for (const word of words.slice(1)) {
    if (current.length + 1 + word.length + 2 <= width) current += ` ${word}`;
    else {
      out.push(`${current} \\`);
      current = indent + word;
    }
  }
  out.push(current);
  return out;
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
    updates: plan.updates.map((update) => ({
      command: update.index + 1,
      servingBefore: update.servingBefore ?? null,
      servingAfter: update.servingAfter ?? null,
      runs: update.steps.filter((step) => step.runs).map((step) => step.step),
      doesNotRun: update.steps.filter((step) => !step.runs).map((step) => step.step),
      reasons: Object.fromEntries(
        update.steps.filter((step) => step.runs).map((step) => [step.step, step.reasons]),
      ),
      refusals: update.refusals,
    })),
    ...(plan.updatesUnknown !== undefined ? { updatesUnknown: plan.updatesUnknown } : {}),
    ...(plan.backup !== undefined ? { backup: plan.backup } : {}),
    ...(plan.override !== undefined ? { override: plan.override } : {}),
    ...(plan.window !== undefined ? { window: plan.window } : {}),
    overrides: plan.overrides,
    drift: plan.drift,
    notes: plan.notes,
  };
}

/** The window verdict at the instant the rollback runs, and the override command when it is closed. */
function windowLines(window: WindowVerdict): (string | CommandLine)[] {
  const at = formatInstant(new Date(window.at));
  if (window.level === "disabled")
    return [`  window  not judged on this stack (the deployment-window rule is off)`];
  if (window.open) return [`  window  open at ${at}`];
  const closed = `  window  closed at ${at} (${window.closedBecause})${window.nextOpening ? `; next opens ${window.nextOpening}` : ""}`;
  if (window.coveredBy !== undefined) return [closed, `          covered by the ${window.coveredBy}`];
  if (!window.blocked) return [closed, `          ${window.level} on this stack: the update is not blocked`];
  return [
    closed,
    "          the policy pack blocks this rollback's pulumi up; record an emergency override with it (the on-call approver signs it; RUNBOOK.md, Emergency release outside the window):",
    { prefix: "          ", argv: window.overrideArgv ?? [] },
  ];
}

/** The human-readable plan; lines fit 100 columns unless `wide` (commands wrapped, never cut). */
export function renderPlan(plan: RollbackPlan, dryRun: boolean, wide = false): string {
  const describe = (label: string, s: PlanSide) =>
    `  ${label.padEnd(5)} v${s.version}  ${s.endTime ?? s.startTime}  ${s.activeColor.padEnd(5)}  release ${s.release}` +
    `\n        image ${s.image}` +
    `\n        (idle ${s.idleColor}: ${s.idleRelease}; schemaBreaking ${s.schemaBreaking})${s.message ? `  "${s.message}"` : ""}`;
  const lines: (string | CommandLine)[] = [
    `Rollback plan for stack ${plan.stack}${dryRun ? " (dry run: add --yes to run the commands)" : ""}`,
    describe("from", plan.from),
    describe("to", plan.to),
    `  action  ${plan.action}`,
    `  reason  ${plan.reason}`,
  ];
  if (plan.window !== undefined) lines.push(...windowLines(plan.window));
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
    lines.push({ prefix: `    ${index + 1}. `, argv: command.argv });
    lines.push(`       # ${command.purpose}`);
    const update = plan.updates.find((entry) => entry.index === index);
    if (update === undefined) return;
    const runs = update.steps.filter((step) => step.runs).map((step) => step.step);
    const idle = update.steps.filter((step) => !step.runs).map((step) => step.step);
    lines.push(`       runs: ${runs.length > 0 ? runs.join(", ") : "nothing"}`);
    if (idle.length > 0) lines.push(`       does not run: ${idle.join(", ")}`);
    lines.push(
      `       traffic: ${update.servingBefore === update.servingAfter ? `stays on ${update.servingAfter}` : `${update.servingBefore} → ${update.servingAfter}`}`,
    );
    for (const refusal of update.refusals) lines.push(`       ✗ ${refusal}`);
  });
  if (plan.updatesUnknown !== undefined)
    lines.push(`    (what each pulumi up runs cannot be told: ${plan.updatesUnknown})`);
  if (plan.notes.length > 0) {
    lines.push("  notes");
    plan.notes.forEach((note) => lines.push(`    - ${note}`));
  }
  const fitted = lines.flatMap((line) => {
    if (typeof line !== "string")
      return wide ? [line.prefix + formatCommand(line.argv)] : wrapCommand(line, COLUMNS);
    if (wide) return [line];
    // Information lines: digests shortened as docker prints ids (the commands keep theirs whole).
    return line.split("\n").flatMap((part) => wrapLine(shortDigests(part), COLUMNS));
  });
  return fitted.join("\n") + "\n";
}
