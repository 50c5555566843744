import { spawn } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { NAMESPACE } from "../../schema/keys";
import { ConfigError, ConfigProblem, parseStackConfig } from "../../schema/parse";
import {
  CliConfigError,
  ConfigOverride,
  StackConfig,
  applyOverrides,
  checkCliConfig,
  readStackConfig,
} from "./stack-file";
import { ProgramRequest, ProgramRun } from "./types";
import { PROJECT_DIR } from "../lib/project-root";

export { ConfigOverride } from "./stack-file";

/** One salt per process: the runs a plan compares digest their secrets alike, other processes cannot. */
const SECRET_SALT = randomBytes(16).toString("hex");
export * from "./types";

/** The project this harness belongs to. */
export { PROJECT_DIR };

export interface RunOptions {
  stack: string;
  /** A stack file other than Pulumi.<stack>.yaml. */
  stackFile?: string;
  /** Config keys to change for this run ("greenlight:appPort": 4000); null removes a key. */
  overrides?: Record<string, ConfigOverride>;
  /** ISO-8601 instant time-dependent rules are judged at. */
  at?: string;
  /** Run as `pulumi preview` (dry run) instead of `pulumi up`. */
  preview?: boolean;
  /** A project folder other than this one (tests use tampered copies). */
  projectDir?: string;
}

/**
 * What is refused before the program runs, cheaply: the stack file and Pulumi.yaml as the CLI checks
 * them, then the program's own config parser told which values are encrypted. The stack's config, or the
 * failed run to report. Throws StackFileError for a missing or unreadable file.
 */
export function checkStackConfig(options: RunOptions): StackConfig | Extract<ProgramRun, { ok: false }> {
  const projectDir = options.projectDir ?? PROJECT_DIR;
  const stackConfig = applyOverrides(
    readStackConfig(projectDir, options.stack, options.stackFile),
    options.overrides ?? {},
  );
  const failed = (message: string, problems: ConfigProblem[]): Extract<ProgramRun, { ok: false }> => ({
    ok: false,
    stack: options.stack,
    kind: "config",
    message,
    problems,
    resources: [],
  });
  // The CLI checks the stack's config against Pulumi.yaml before it starts the program.
  try {
    checkCliConfig(options.stack, stackConfig);
  } catch (error) {
    if (!(error instanceof CliConfigError)) throw error;
    return failed(
      error.message,
      error.problem.keys.map((key) => ({
        key: `${stackConfig.project}:${key}`,
        received: "(refused by the Pulumi CLI)",
        expected: error.problem.message,
      })),
    );
  }
  // What the stack file shows and a program run cannot see: which values are encrypted. The same
  // parser the program runs, told which keys are `secure:`, refuses plaintext secrets here.
  if (stackConfig.project === NAMESPACE) {
    try {
      parseStackConfig({
        stack: options.stack,
        values: stackConfig.config,
        secretKeys: new Set(stackConfig.secretKeys),
        now: options.at ? new Date(options.at) : new Date(),
      });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return failed(error.message, error.problems);
    }
  }
  return stackConfig;
}

/**
 * Runs the real index.ts for a stack under Pulumi's mock runtime in a child process and returns every
 * registered resource with its inputs (secrets marked) and dependency URNs, plus the stack outputs.
 */
export async function runProgram(options: RunOptions): Promise<ProgramRun> {
  const projectDir = options.projectDir ?? PROJECT_DIR;
  const checked = checkStackConfig(options);
  if ("ok" in checked) return checked;
  const stackConfig = checked;
  const command = childCommand(projectDir);
  const request: ProgramRequest = {
    projectDir,
    program: command.program,
    project: stackConfig.project,
    stack: options.stack,
    config: stackConfig.config,
    secretKeys: stackConfig.secretKeys,
    at: options.at,
    preview: options.preview ?? false,
    secretSalt: SECRET_SALT,
  };
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-harness-"));
  try {
    const requestFile = path.join(workDir, "request.json");
    const outFile = path.join(workDir, "result.json");
    fs.writeFileSync(requestFile, JSON.stringify(request));
    const { code, stderr } = await runChild(
      projectDir,
      { GREENLIGHT_HARNESS_REQUEST: requestFile, GREENLIGHT_HARNESS_OUT: outFile },
      command.args,
    );
    if (!fs.existsSync(outFile)) {
      throw new Error(
        `the mock-runtime harness failed (exit ${code}) before producing a result:\n${stderr.trim()}`,
      );
    }
    return JSON.parse(fs.readFileSync(outFile, "utf8")) as ProgramRun;
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

/**
 * How the child runs: this project's compiled build when it is fresh (bin/launch.js), which starts in a
 * fraction of the time; otherwise the sources through ts-node (and always for a copy of the project).
 */
function childCommand(projectDir: string): { args: string[]; program: string } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the plain-JS launcher of bin/
  const launch = require(path.join(PROJECT_DIR, "bin", "launch.js")) as {
    isFresh(entry: string): boolean;
    build: string;
  };
  if (path.resolve(projectDir) === PROJECT_DIR && launch.isFresh("tools/harness/child")) {
    return {
      args: [path.join(launch.build, "tools", "harness", "child.js")],
      program: path.join(launch.build, "index.js"),
    };
  }
  return {
    args: [
      "-r",
      require.resolve("ts-node/register/transpile-only"),
      path.join(PROJECT_DIR, "tools", "harness", "child.ts"),
    ],
    program: path.join(projectDir, "index.ts"),
  };
}

function runChild(
  projectDir: string,
  env: Record<string, string>,
  args: string[],
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, args, {
    cwd: projectDir,
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
}
