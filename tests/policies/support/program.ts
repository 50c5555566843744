// The real program, judged by the pack: harness runs of this project or of a tampered copy (node_modules
// symlinked), and the checks that skip only while the components a rule judges are not in the graph.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Context } from "mocha";
import { parseDocument } from "yaml";
import { PROJECT_DIR, RecordedResource, runProgram } from "../../../tools/harness/run";
import { Verdict, evaluatePolicies } from "../../../tools/policy-runner";
import { loadPolicyConfig } from "../../../tools/policy-runner/config";

/** Folders a program run does not need (tests hold a Docker rootfs). */
const NOT_COPIED = new Set([
  ".git",
  ".tmp",
  "tests",
  "bench",
  "docs",
  ".greenlight",
  path.join("bin", "build"),
]);

export interface ProjectCopy {
  dir: string;
  cleanup(): void;
}

/** A copy of the project in a temp dir, node_modules symlinked, for tampering. */
export function copyProject(): ProjectCopy {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-tampered-"));
  fs.cpSync(PROJECT_DIR, dir, {
    recursive: true,
    filter: (source) => {
      const relative = path.relative(PROJECT_DIR, source);
      return path.basename(source) !== "node_modules" && !NOT_COPIED.has(relative);
    },
  });
  fs.symlinkSync(path.join(PROJECT_DIR, "node_modules"), path.join(dir, "node_modules"), "dir");
  // The compiled ops CLI the hosts' ops image is staged from (the copy's ops/ is the checkout's).
  fs.symlinkSync(path.join(PROJECT_DIR, "bin", "build"), path.join(dir, "bin", "build"), "dir");
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Edits the copy's index.ts so a stack transformation rewrites what the components register: the
 * tampering a careless edit of a component would do, whatever the component's code looks like.
 * `body` is the transformation's body: it gets `args` ({type, name, props, opts}) and `helpers`.
 */
export function tamper(copy: ProjectCopy, body: string): void {
  const tamperFile = path.join(copy.dir, "tamper.ts");
  fs.writeFileSync(
    tamperFile,
    `import * as pulumi from "@pulumi/pulumi";

const STEP = "GREENLIGHT_STEP";
/** The step of a command, when its environment is a plain map with a plain step. */
function stepOf(props: Record<string, unknown>): unknown {
  const environment = props.environment;
  return environment && typeof environment === "object" && !pulumi.Output.isInstance(environment)
    ? (environment as Record<string, unknown>)[STEP]
    : undefined;
}
/** The same value with no resource dependencies (secretness kept). */
function detach(value: unknown): unknown {
  if (!pulumi.Output.isInstance(value)) return value;
  const raw = (value as unknown as { promise(): Promise<unknown> }).promise();
  return pulumi.output(pulumi.isSecret(value).then((secret) => raw.then((inner) => (secret ? pulumi.secret(inner) : inner))));
}
/** A plain environment map with every entry detached; an Output map is detached whole. */
function detachEnvironment(props: Record<string, unknown>): unknown {
  const environment = props.environment;
  if (!environment || typeof environment !== "object" || pulumi.Output.isInstance(environment)) return detach(environment);
  return Object.fromEntries(Object.entries(environment).map(([key, value]) => [key, detach(value)]));
}
const helpers = { stepOf, detach, detachEnvironment };

pulumi.runtime.registerStackTransformation((args) => {
${body}
});
`,
  );
  const index = path.join(copy.dir, "index.ts");
  fs.writeFileSync(index, `import "./tamper";\n${fs.readFileSync(index, "utf8")}`);
}

/** Sets keys in the copy's Pulumi.<stack>.yaml, keeping the rest of the file. */
export function setStackConfig(copy: ProjectCopy, stack: string, values: Record<string, string>): void {
  const file = path.join(copy.dir, `Pulumi.${stack}.yaml`);
  const document = parseDocument(fs.readFileSync(file, "utf8"));
  for (const [key, value] of Object.entries(values)) document.setIn(["config", key], value);
  fs.writeFileSync(file, document.toString());
}

export interface Judged {
  resources: RecordedResource[];
  verdicts: Verdict[];
}

/** Runs the program for a stack (or a copy's) and judges it with that stack's policy config. */
export async function judgeProgram(
  stack: string,
  options: { at: Date; preview?: boolean; projectDir?: string },
): Promise<Judged> {
  const run = await runProgram({
    stack,
    at: options.at.toISOString(),
    preview: options.preview,
    projectDir: options.projectDir,
  });
  if (!run.ok) throw new Error(`the ${stack} program failed (${run.kind}): ${run.message}`);
  const verdicts = await evaluatePolicies({
    resources: run.resources,
    stack,
    at: options.at,
    preview: options.preview ?? false,
    policyConfig: loadPolicyConfig(
      stack,
      options.projectDir ? path.join(options.projectDir, "policies", "config") : undefined,
    ),
  });
  return { resources: run.resources, verdicts };
}

/**
 * Skips the test, with the reason, while a component a rule judges is not in the graph yet; the rule
 * is then asserted for real as soon as the component lands.
 */
export function needComponents(context: Context, resources: RecordedResource[], types: string[]): void {
  const missing = types.filter((type) => !resources.some((resource) => resource.type === type));
  if (missing.length === 0) return;
  console.warn(`    skipped: ${missing.join(", ")} not in the program's graph yet`);
  context.skip();
}
