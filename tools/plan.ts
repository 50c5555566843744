// npm run plan -- --stack <name> [--at <ISO-8601>] [--json] [--preview]
// The offline preview: runs index.ts for a stack under the mock runtime, judges the graph with the
// policy pack at --at, prints the resources and every violation.
// Exit 0: no mandatory violation; 1: a mandatory violation; 2: bad config or usage.
import { Command, CommanderError } from "commander";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  PROJECT_DIR,
  ProgramRun,
  RecordedResource,
  SECRET_PLACEHOLDER,
  isSecretMarker,
  runProgram,
} from "./harness/run";
import { UpdateDiff, updateDiff } from "./plan-diff";
import { StackFileError } from "./harness/stack-file";
import { judge, startPack } from "./policy-runner";
import { PolicyConfigError, loadPolicyConfig } from "./policy-runner/config";

/** One policy verdict, as in DESIGN.md's JSON contract. */
export interface Violation {
  policy: string;
  level: "mandatory" | "advisory";
  urn: string;
  message: string;
}

/** One resource of the `--json` document. */
export interface PlannedResource {
  urn: string;
  type: string;
  name: string;
  parent: string | null;
  dependencies: string[];
  /** URN of the explicit provider resource a custom resource uses; null for components and default providers. */
  provider: string | null;
  /** The inputs the program registered, every secret value replaced by "[secret]". */
  inputs: Record<string, unknown>;
}

/** The `--json` document of DESIGN.md. */
export interface PlanDocument {
  stack: string;
  at: string;
  resources: PlannedResource[];
  violations: Violation[];
  /** With --diff-from: what the update from that configuration runs, per step, and what it refuses. */
  diff?: { from: string } & Omit<UpdateDiff, "resources">;
}

/** Recorded inputs with each secret marker replaced by the "[secret]" placeholder. */
export function maskSecrets(value: unknown): unknown {
  if (isSecretMarker(value)) return SECRET_PLACEHOLDER;
  if (Array.isArray(value)) return value.map(maskSecrets);
  if (value !== null && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, maskSecrets(inner)]));
  return value;
}

export interface PlanOptions {
  stack: string;
  at: Date;
  json: boolean;
  preview: boolean;
  /** A stack file other than Pulumi.<stack>.yaml (the stack name still selects stack rules). */
  stackFile?: string;
  /** Compare with this configuration: a stack file, or a git ref whose Pulumi.<stack>.yaml is used. */
  diffFrom?: string;
}

export const EXIT = { ok: 0, mandatoryViolation: 1, usage: 2 } as const;

/** Runs the plan and returns its exit code; writes the report to `out` and problems to `err`. */
export async function plan(
  options: PlanOptions,
  out: (text: string) => void = (text) => process.stdout.write(text),
  err: (text: string) => void = (text) => process.stderr.write(text),
): Promise<number> {
  let policyConfig;
  try {
    policyConfig = loadPolicyConfig(options.stack);
  } catch (error) {
    if (error instanceof PolicyConfigError) {
      err(`plan: ${error.message}\n`);
      return EXIT.usage;
    }
    throw error;
  }
  // The pack starts in its own process (as the CLI starts it) while the program runs under the mocks.
  const packStarting = startPack({
    stack: options.stack,
    at: options.at,
    preview: options.preview,
    policyConfig,
  });
  packStarting.catch(() => undefined);
  const stopPack = async () => (await packStarting.catch(() => undefined))?.close();

  let run;
  let previous: ProgramRun | undefined;
  const programOf = (stackFile: string | undefined) =>
    runProgram({ stack: options.stack, stackFile, at: options.at.toISOString(), preview: options.preview });
  try {
    const from =
      options.diffFrom === undefined ? undefined : previousStackFile(options.stack, options.diffFrom);
    try {
      [run, previous] = await Promise.all([
        programOf(options.stackFile),
        from ? programOf(from.file) : undefined,
      ]);
    } finally {
      from?.cleanup();
    }
  } catch (error) {
    await stopPack();
    if (error instanceof StackFileError) {
      err(`plan: ${error.message}\n`);
      return EXIT.usage;
    }
    throw error;
  }
  if (!run.ok) {
    await stopPack();
    err(`plan: ${run.message}\n`);
    return run.kind === "config" ? EXIT.usage : EXIT.mandatoryViolation;
  }
  if (previous && !previous.ok) {
    await stopPack();
    err(`plan: --diff-from ${options.diffFrom}: that configuration does not run: ${previous.message}\n`);
    return EXIT.usage;
  }

  let violations: Violation[];
  try {
    const server = await packStarting;
    try {
      violations = await judge(server, run.resources, options.stack);
    } finally {
      await server.close();
    }
  } catch (error) {
    if (error instanceof PolicyConfigError) {
      err(`plan: ${error.message}\n`);
      return EXIT.usage;
    }
    throw error;
  }

  const document: PlanDocument = {
    stack: options.stack,
    at: options.at.toISOString(),
    resources: run.resources.map((resource) => ({
      urn: resource.urn,
      type: resource.type,
      name: resource.name,
      parent: resource.parent ?? null,
      dependencies: resource.dependencies,
      provider: resource.provider ?? null,
      inputs: maskSecrets(resource.inputs) as Record<string, unknown>,
    })),
    violations,
  };
  if (previous?.ok) {
    const { steps, refusals } = updateDiff(previous.resources, run.resources);
    document.diff = { from: options.diffFrom as string, steps, refusals };
  }
  out(
    options.json
      ? JSON.stringify(document, null, 2) + "\n"
      : renderHuman(document, run.resources, options.preview),
  );
  const refused = (document.diff?.refusals.length ?? 0) > 0;
  return refused || violations.some((violation) => violation.level === "mandatory")
    ? EXIT.mandatoryViolation
    : EXIT.ok;
}

/**
 * The configuration to compare with: a stack file as given, or Pulumi.<stack>.yaml at a git ref
 * (read with `git show`, into a temporary file removed after the run).
 */
export function previousStackFile(stack: string, from: string): { file: string; cleanup(): void } {
  if (fs.existsSync(from)) return { file: from, cleanup: () => undefined };
  if (!/^[A-Za-z0-9._/~^@{}-]{1,200}$/.test(from) || from.startsWith("-"))
    throw new StackFileError(
      `--diff-from ${JSON.stringify(from)}: expected a stack file or a git ref such as main or HEAD~1`,
    );
  const shown = spawnSync("git", ["show", `${from}:Pulumi.${stack}.yaml`], {
    cwd: PROJECT_DIR,
    encoding: "utf8",
  });
  if (shown.status !== 0)
    throw new StackFileError(
      `--diff-from ${from}: no Pulumi.${stack}.yaml at that git ref (${(shown.stderr || "git failed").trim().split("\n")[0]})`,
    );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-diff-from-"));
  const file = path.join(dir, `Pulumi.${stack}.yaml`);
  fs.writeFileSync(file, shown.stdout);
  return { file, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** A readable tree: components with their children, then each resource's verdicts. */
export function renderHuman(document: PlanDocument, resources: RecordedResource[], preview: boolean): string {
  const byUrn = new Map(resources.map((resource) => [resource.urn, resource]));
  const children = new Map<string, RecordedResource[]>();
  const roots: RecordedResource[] = [];
  for (const resource of resources) {
    const parent = resource.parent && byUrn.has(resource.parent) ? resource.parent : undefined;
    if (parent) children.set(parent, [...(children.get(parent) ?? []), resource]);
    else roots.push(resource);
  }
  const verdicts = new Map<string, Violation[]>();
  for (const violation of document.violations) {
    verdicts.set(violation.urn, [...(verdicts.get(violation.urn) ?? []), violation]);
  }
  const lines = [
    `greenlight plan: stack ${document.stack}, judged as ${preview ? "a preview" : "an update"} at ${document.at}`,
    "",
  ];
  const walk = (resource: RecordedResource, depth: number) => {
    const indent = "  ".repeat(depth);
    const deps = resource.dependencies
      .filter((urn) => byUrn.has(urn))
      .map((urn) => urn.split("::").pop())
      .join(", ");
    lines.push(
      `${indent}${resource.custom ? "+" : "▸"} ${resource.name} (${resource.type})${deps ? `  after: ${deps}` : ""}`,
    );
    for (const violation of verdicts.get(resource.urn) ?? []) {
      lines.push(
        `${indent}    ${violation.level === "mandatory" ? "✗" : "!"} [${violation.policy}] ${violation.message}`,
      );
    }
    for (const child of children.get(resource.urn) ?? []) walk(child, depth + 1);
  };
  roots.forEach((root) => walk(root, 0));
  const stackWide = document.violations.filter((violation) => !byUrn.has(violation.urn));
  if (stackWide.length > 0) {
    lines.push("", "stack:");
    for (const violation of stackWide) {
      lines.push(
        `  ${violation.level === "mandatory" ? "✗" : "!"} [${violation.policy}] ${violation.message}`,
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
    for (const refusal of document.diff.refusals) lines.push(`  ✗ refused: ${refusal}`);
  }
  const mandatory = document.violations.filter((violation) => violation.level === "mandatory").length;
  const advisory = document.violations.length - mandatory;
  lines.push(
    "",
    `${resources.length} resources; ${mandatory} mandatory and ${advisory} advisory violation${advisory === 1 ? "" : "s"}` +
      (mandatory > 0 ? ": this release may not go out." : "."),
  );
  return lines.join("\n") + "\n";
}

export function parseArgs(argv: string[]): PlanOptions {
  const program = new Command("plan")
    .description("Run the program offline for a stack and judge it with the policy pack")
    .requiredOption("--stack <name>", "stack to plan (local, staging, production)")
    .option("--at <time>", "ISO-8601 instant to judge at (default: now)")
    .option("--json", "print the DESIGN.md JSON document", false)
    .option("--preview", "judge as a pull-request preview would (deployment window advisory)", false)
    .option("--stack-file <path>", "read the stack's config from this file instead of Pulumi.<stack>.yaml")
    .option(
      "--diff-from <file|ref>",
      "compare with this configuration (a stack file, or a git ref's Pulumi.<stack>.yaml) and say which steps run",
    )
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) })
    .parse(argv, { from: "user" });
  const opts = program.opts<{
    stack: string;
    at?: string;
    json: boolean;
    preview: boolean;
    stackFile?: string;
    diffFrom?: string;
  }>();
  const at = opts.at === undefined ? new Date() : new Date(opts.at);
  if (opts.at !== undefined && (!/^\d{4}-\d{2}-\d{2}T/.test(opts.at) || Number.isNaN(at.getTime()))) {
    throw new UsageError(
      `--at ${JSON.stringify(opts.at)}: expected an ISO-8601 time such as 2026-11-25T11:00:00Z`,
    );
  }
  return {
    stack: opts.stack,
    at,
    json: opts.json,
    preview: opts.preview,
    stackFile: opts.stackFile,
    diffFrom: opts.diffFrom,
  };
}

class UsageError extends Error {}

if (require.main === module) {
  (async () => {
    let options: PlanOptions;
    try {
      options = parseArgs(process.argv.slice(2));
    } catch (error) {
      if (error instanceof CommanderError && error.exitCode === 0) process.exit(0);
      if (error instanceof UsageError) process.stderr.write(`plan: ${error.message}\n`);
      process.exit(EXIT.usage);
    }
    process.exit(await plan(options));
  })().catch((error: unknown) => {
    process.stderr.write(`plan: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(EXIT.usage);
  });
}
