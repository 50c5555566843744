// The plan as a person reads it, in the runbook's order: a header (stack, instant, which color serves,
// both colors' releases and images, the window verdict), then each step with its command line and its
// verdicts, then the other resources, then (with --diff-from) what the update runs, and a last line
// that says whether the release may go out.
import { COMPONENT, LABEL, RESOURCE, STEP, STEP_ENV, isCommandType } from "../../contract/resources";
import type { RecordedResource } from "../harness/types";
import { isSecretMarker } from "../harness/types";
import type { PolicyPackConfig } from "../policy-runner/config";
import { STEP_ORDER, stepOf } from "./steps";
import { progressiveLines, progressiveOf } from "./progressive";
import type { PlanDocument, Violation } from "./document";
import { renderLastRehearsal } from "./rehearsal";
import { megabytes } from "./deliveries";

export interface RenderOptions {
  preview: boolean;
  /** The deployment-window rule's level on this stack ("disabled": not judged here). */
  windowLevel: string;
  /** Print every line whole (`--wide`); otherwise lines fit COLUMNS. */
  wide?: boolean;
}

/** Lines of the plan fit a terminal of this width unless `--wide`. */
export const COLUMNS = 100;

/** A command line cut to `width` at a word, ending with " …" (`--wide` and `--json` show it whole). */
function shorten(text: string, width: number): string {
  if (text.length <= width) return text;
  const cut = text.lastIndexOf(" ", width - 2);
  return `${text.slice(0, cut > width / 2 ? cut : width - 2)} …`;
}

/** An image pinned by digest, its digest cut to 12 hex digits as docker prints ids (`--wide`: whole). */
export function shortDigests(text: string): string {
  return text.replace(/@sha256:([0-9a-f]{12})[0-9a-f]{52}/g, "@sha256:$1…");
}

/** Wraps a line at words to `width`; continuation lines are indented 2 more than the line. */
export function wrapLine(line: string, width: number): string[] {
  if (line.length <= width) return [line];
  const indent = " ".repeat((/^ */.exec(line)?.[0].length ?? 0) + 2);
  const out: string[] = [];
  let rest = line;
  while (rest.length > width) {
    let cut = rest.lastIndexOf(" ", width);
    if (cut <= indent.length) cut = width;
    out.push(rest.slice(0, cut).trimEnd());
    rest = indent + rest.slice(cut).trimStart();
  }
  out.push(rest);
  return out;
}

/** The deployment-window policy's level in a stack's pack config (its default is mandatory). */
export function windowLevel(config: PolicyPackConfig): string {
  const entry = config["deployment-window"] ?? config.all;
  if (typeof entry === "string") return entry;
  if (entry && typeof entry === "object" && "enforcementLevel" in entry)
    return String((entry as { enforcementLevel: unknown }).enforcementLevel);
  return "mandatory";
}

const WEEKDAY = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

function instant(iso: string): string {
  const at = new Date(iso);
  return `${WEEKDAY[at.getUTCDay()]} ${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

function environment(resource: RecordedResource): Record<string, unknown> {
  const value = resource.inputs.environment;
  return value && typeof value === "object" && !isSecretMarker(value)
    ? (value as Record<string, unknown>)
    : {};
}

function plainText(value: unknown): string | undefined {
  return typeof value === "string" ? value : isSecretMarker(value) ? "[secret]" : undefined;
}

interface ColorLine {
  color: string;
  release: string;
  image: string;
}

/** Each color's release and image, from the color slots' registered outputs. */
function colors(resources: RecordedResource[]): ColorLine[] {
  return resources
    .filter((resource) => resource.type === COMPONENT.colorSlot && resource.outputs)
    .map((slot) => ({
      color: String(slot.outputs?.color),
      release: String(slot.outputs?.release),
      image: String(slot.outputs?.image),
    }))
    .sort((a, b) => a.color.localeCompare(b.color));
}

function verdictLine(violation: Violation, indent: string): string {
  return `${indent}${violation.level === "mandatory" ? "✗" : "!"} [${violation.policy}] ${violation.message}`;
}

/** What a step resource does, in one line: a command's command line, a container's image and limits. */
function describe(resource: RecordedResource): string {
  if (isCommandType(resource.type))
    return plainText(resource.inputs.create) ?? "(command line known at update)";
  if (resource.type === RESOURCE.container) {
    const memory = typeof resource.inputs.memory === "number" ? `, ${resource.inputs.memory} MB` : "";
    const cpus = resource.inputs.cpus !== undefined ? `, ${String(resource.inputs.cpus)} CPUs` : "";
    return `${plainText(resource.inputs.image) ?? "?"}${memory}${cpus}`;
  }
  return resource.type;
}

export function renderHuman(
  document: PlanDocument,
  resources: RecordedResource[],
  options: RenderOptions,
): string {
  const lines: string[] = [];
  const verdicts = new Map<string, Violation[]>();
  for (const violation of document.violations)
    verdicts.set(violation.urn, [...(verdicts.get(violation.urn) ?? []), violation]);
  const shown = new Set<string>();

  // The header: who serves, what each color runs, and the window.
  const record = resources.find((resource) => environment(resource)[STEP_ENV.step] === STEP.record);
  const migration = resources.find((resource) => environment(resource)[STEP_ENV.step] === STEP.migrate);
  const active = record ? String(environment(record)[STEP_ENV.color]) : "?";
  const latestRelease = migration ? environment(migration)[STEP_ENV.release] : undefined;
  lines.push(
    `greenlight plan — stack ${document.stack}, judged as ${options.preview ? "a preview" : "an update"} at ${instant(document.at)}`,
    "",
  );
  const progressive = progressiveOf(resources);
  for (const line of colors(resources)) {
    const roles = [
      line.color === active
        ? progressive?.preview
          ? "previewed after this update (users stay on the other color)"
          : "serves after this update"
        : progressive?.preview
          ? "serves users"
          : "warm, for a flip back",
      ...(line.release === latestRelease ? ["latest release: backed up and migrated"] : []),
    ];
    lines.push(`  ${line.color.padEnd(6)} ${line.release}  ${line.image}`, `         ${roles.join("; ")}`);
  }
  const window = document.violations.filter((violation) => violation.policy.startsWith("deployment-window"));
  const windowText =
    options.windowLevel === "disabled"
      ? "not judged on this stack (the deployment-window rule is off in its policy config)"
      : window.some((violation) => /not in an open deployment window/.test(violation.message))
        ? window.some((violation) => violation.level === "mandatory")
          ? "closed: this update is blocked"
          : options.preview
            ? "closed: the update would be blocked"
            : "closed (advisory on this stack: not blocked)"
        : "open";
  lines.push(`  window ${windowText}`);
  lines.push(...progressiveLines(progressive, active, active === "blue" ? "green" : "blue"));
  if (document.diff?.servingBefore)
    lines.push(
      `  traffic ${document.diff.servingBefore} → ${active}${document.diff.servingBefore === active ? " (no flip)" : ""}, compared with ${document.diff.from}`,
    );
  lines.push("");
  if (document.lastRehearsal) lines.push(...renderLastRehearsal(document.lastRehearsal), "");
  else if (document.lastRehearsal === null)
    lines.push("Last migration rehearsal: none in the stack outputs (no drill, or none ran yet)", "");

  // The steps, in the runbook's order.
  lines.push("Steps, in the runbook's order:");
  let number = 0;
  for (const step of STEP_ORDER) {
    const members = resources.filter((resource) => stepOf(resource) === step);
    if (members.length === 0) continue;
    number++;
    lines.push(`  ${String(number).padStart(2)}. ${step}`);
    for (const resource of members) {
      shown.add(resource.urn);
      const line = `      ${resource.name}: ${describe(resource)}`;
      lines.push(options.wide ? line : shorten(shortDigests(line), COLUMNS));
      for (const violation of verdicts.get(resource.urn) ?? [])
        lines.push(verdictLine(violation, "        "));
    }
  }

  // Everything else the release stands on, with its verdicts.
  const others = resources.filter((resource) => resource.custom && !shown.has(resource.urn));
  if (others.length > 0) {
    lines.push("", "Other resources:");
    for (const resource of others) {
      const labels = Array.isArray(resource.inputs.labels)
        ? (resource.inputs.labels as { label: string; value: string }[])
        : [];
      const color = labels.find((entry) => entry.label === LABEL.color)?.value;
      lines.push(`  + ${resource.name} (${resource.type})${color ? ` [${color}]` : ""}`);
      for (const violation of verdicts.get(resource.urn) ?? []) lines.push(verdictLine(violation, "      "));
    }
  }
  const known = new Set(resources.map((resource) => resource.urn));
  const components = document.violations.filter(
    (violation) =>
      known.has(violation.urn) && !resources.find((resource) => resource.urn === violation.urn)?.custom,
  );
  const stackWide = document.violations.filter((violation) => !known.has(violation.urn));
  if (stackWide.length + components.length > 0) {
    lines.push("", "Stack-wide:");
    for (const violation of [...components, ...stackWide]) lines.push(verdictLine(violation, "  "));
  }

  const sending = document.deliveries;
  if (sending.length > 0 || document.diff) {
    lines.push("", "Images this update sends to the hosts over SSH (each host gets only what it lacks):");
    if (sending.length === 0) lines.push("  nothing: every host holds every image already");
    for (const host of sending) {
      const images = host.images.map((delivery) => `${delivery.image} (${megabytes(delivery.bytes)})`);
      const known = host.images.some((delivery) => delivery.bytes !== null);
      lines.push(
        `  ${host.host}: ${images.join(", ")}${known ? `; at most ${megabytes(host.bytes)} before compression` : ""}`,
      );
    }
  }

  if (document.diff) {
    lines.push("", `What this update runs, compared with ${document.diff.from}:`);
    const width = Math.max(...document.diff.steps.map((step) => step.step.length));
    for (const step of document.diff.steps) {
      lines.push(
        `  ${step.runs ? "▶" : "·"} ${step.step.padEnd(width)}  ${step.runs ? "runs" : "does not run"}`,
      );
      for (const reason of step.reasons) lines.push(`      ${reason}`);
    }
    const running = document.diff.steps.filter((step) => step.runs).map((step) => step.step);
    if (running.length === 1 && running[0] === "switch and guard")
      lines.push(
        "  = the switch runs, nothing else (a promotion or a flip: no backup, migration or container)",
      );
    for (const refusal of document.diff.refusals) lines.push(`  ✗ refused: ${refusal}`);
  }

  const mandatory = document.violations.filter((violation) => violation.level === "mandatory");
  const advisory = document.violations.length - mandatory.length;
  const refusals = document.diff?.refusals.length ?? 0;
  const reasons = [
    ...(mandatory.length > 0
      ? [
          `${mandatory.length} mandatory violation${mandatory.length === 1 ? "" : "s"} (${[...new Set(mandatory.map((violation) => violation.policy))].join(", ")})`,
        ]
      : []),
    ...(refusals > 0 ? [`${refusals} refusal${refusals === 1 ? "" : "s"} of the update`] : []),
  ];
  lines.push(
    "",
    `${resources.length} resources; ${mandatory.length} mandatory and ${advisory} advisory violation${advisory === 1 ? "" : "s"}.`,
    reasons.length === 0
      ? `Verdict: this release may go out${options.preview ? " (judged as a preview; the update is judged again)" : ""}.`
      : `Verdict: this release may not go out: ${reasons.join("; ")}.`,
  );
  const fitted = options.wide ? lines : lines.flatMap((line) => wrapLine(shortDigests(line), COLUMNS));
  return fitted.join("\n") + "\n";
}
