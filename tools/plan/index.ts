// The offline preview: runs index.ts for a stack under the mock runtime (tools/harness), judges the graph
// with the policy pack served as the Pulumi CLI serves it (tools/policy-runner), and with --diff-from says
// what the update from another configuration runs (./diff.ts). The command line is ./cli.ts, the
// readable report ./render.ts. Exit 0: may go out; 1: a mandatory violation or a refusal; 2: bad config
// or usage.
import { spawnSync } from "child_process";
import { EXIT as EXIT_CODES } from "../../contract/exit-codes";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  PROJECT_DIR,
  ProgramRun,
  SECRET_PLACEHOLDER,
  checkStackConfig,
  isSecretMarker,
  runProgram,
} from "../harness/run";
import { RESOURCE } from "../../contract/resources";
import { updateDiff } from "./steps";
import { plannedDeliveries } from "./deliveries";
import type { PlanDocument, Violation } from "./document";
import { renderHuman, windowLevel } from "./render";
import { ConfigOverride, StackFileError, readStackConfig } from "../harness/stack-file";
import { judge, startPack } from "../policy-runner";
import { PolicyConfigError, loadPolicyConfig } from "../policy-runner/config";
import { readOutputsFile } from "../history/outputs";
import { HistoryError } from "../history/read";
import { lastRehearsal } from "./rehearsal";

/** Recorded inputs with each secret marker replaced by the "[secret]" placeholder. */
export function maskSecrets(value: unknown): unknown {
  if (isSecretMarker(value)) return SECRET_PLACEHOLDER;
  if (Array.isArray(value)) return value.map(maskSecrets);
  if (value !== null && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, maskSecrets(inner)]));
  return value;
}

/** The host key a remote command's connection pins (a public key, shown though the connection is secret). */
function pinnedHostKey(connection: unknown): string | null {
  const value = isSecretMarker(connection) ? connection.value : connection;
  const hostKey = value && typeof value === "object" ? (value as { hostKey?: unknown }).hostKey : undefined;
  return typeof hostKey === "string" && hostKey !== "" ? hostKey : null;
}

export interface PlanOptions {
  stack: string;
  at: Date;
  json: boolean;
  preview: boolean;
  /** Print every line whole instead of fitting 100 columns. */
  wide?: boolean;
  /** A stack file other than Pulumi.<stack>.yaml (the stack name still selects stack rules). */
  stackFile?: string;
  /** Compare with this configuration: a stack file, or a git ref whose Pulumi.<stack>.yaml is used. */
  diffFrom?: string;
  /** How the user named --diff-from (a path as typed, or the git ref), for the output. */
  diffFromLabel?: string;
  /** The stack's last `pulumi stack output --json`: the plan reports the last migration rehearsal. */
  outputsFile?: string;
}

export const EXIT = {
  ok: EXIT_CODES.ok,
  mandatoryViolation: EXIT_CODES.refused,
  usage: EXIT_CODES.usage,
  environment: EXIT_CODES.environment,
} as const;

/** Runs the plan and returns its exit code; writes the report to `out` and problems to `err`. */
export async function plan(
  options: PlanOptions,
  out: (text: string) => void = (text) => process.stdout.write(text),
  err: (text: string) => void = (text) => process.stderr.write(text),
): Promise<number> {
  let outputs: Record<string, unknown> | undefined;
  try {
    outputs = options.outputsFile === undefined ? undefined : readOutputsFile(options.outputsFile);
  } catch (error) {
    if (error instanceof HistoryError) {
      err(`plan: ${error.message}\n`);
      return EXIT.usage;
    }
    throw error;
  }
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
  // A stack the CLI or the config rules refuse is refused before anything starts.
  let checked;
  try {
    checked = checkStackConfig({
      stack: options.stack,
      stackFile: options.stackFile,
      at: options.at.toISOString(),
    });
  } catch (error) {
    if (error instanceof StackFileError) {
      err(`plan: ${error.message}\n`);
      return EXIT.usage;
    }
    throw error;
  }
  if ("ok" in checked) {
    err(`plan: ${checked.message}\n`);
    return EXIT.usage;
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
  const programOf = (stackFile: string | undefined, overrides: Record<string, ConfigOverride> = {}) =>
    runProgram({
      stack: options.stack,
      stackFile,
      overrides,
      at: options.at.toISOString(),
      preview: options.preview,
    });
  try {
    const from =
      options.diffFrom === undefined ? undefined : previousStackFile(options.stack, options.diffFrom);
    try {
      [run, previous] = await Promise.all([
        programOf(options.stackFile, from ? rotatedSecrets(options.stack, from.file, options.stackFile) : {}),
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
    return run.kind === "config"
      ? EXIT.usage
      : run.kind === "environment"
        ? EXIT.environment
        : EXIT.mandatoryViolation;
  }
  if (previous && !previous.ok) {
    await stopPack();
    err(
      `plan: --diff-from ${options.diffFromLabel ?? options.diffFrom}: that configuration does not run: ${previous.message}\n`,
    );
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
      ...(resource.type === RESOURCE.remoteCommand
        ? { hostKey: pinnedHostKey(resource.inputs.connection) }
        : {}),
    })),
    violations,
    deliveries: plannedDeliveries(run.resources),
  };
  if (outputs) document.lastRehearsal = lastRehearsal(outputs) ?? null;
  if (previous?.ok) {
    const { servingBefore, steps, refusals, resources } = updateDiff(previous.resources, run.resources);
    const changes = resources.flatMap(({ name, type, action, stateOnly, properties }) =>
      action === "same" ? [] : [{ name, type, action, stateOnly, properties }],
    );
    document.diff = {
      from: options.diffFromLabel ?? (options.diffFrom as string),
      servingBefore,
      steps,
      refusals,
      changes,
    };
    document.deliveries = plannedDeliveries(run.resources, resources);
  }
  out(
    options.json
      ? JSON.stringify(document, null, 2) + "\n"
      : renderHuman(document, run.resources, {
          preview: options.preview,
          windowLevel: windowLevel(policyConfig),
          wide: options.wide,
        }),
  );
  const refused = (document.diff?.refusals.length ?? 0) > 0;
  return refused || violations.some((violation) => violation.level === "mandatory")
    ? EXIT.mandatoryViolation
    : EXIT.ok;
}

/**
 * The secrets whose ciphertext differs between the two stack files (a rotated SSH key, a new password):
 * the plan never decrypts them, so the new run gets a different placeholder for each, and everything
 * that carries one (a remote step's connection, a step's environment) shows as changed.
 */
export function rotatedSecrets(
  stack: string,
  fromFile: string,
  toFile: string | undefined,
): Record<string, ConfigOverride> {
  const before = readStackConfig(PROJECT_DIR, stack, fromFile).secretVersions;
  const after = readStackConfig(PROJECT_DIR, stack, toFile).secretVersions;
  return Object.fromEntries(
    Object.entries(after)
      .filter(([key, version]) => before[key] !== undefined && before[key] !== version)
      .map(([key, version]) => [key, { secret: `${SECRET_PLACEHOLDER} rotated ${version}` }]),
  );
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
