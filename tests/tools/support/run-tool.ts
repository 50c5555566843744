// Runs a lifecycle tool's main (tools/release, rollback, stats, secret) in-process, capturing
// what it writes; and what every test of a refusal checks: one line, no stack trace, no file changed.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { ToolIo } from "../../../tools/lib/io";

/** What one run returned and wrote. */
export interface ToolRun {
  code: number;
  out: string;
  err: string;
}

type ToolMain = (argv: string[], env: NodeJS.ProcessEnv, io: ToolIo) => Promise<number>;

export async function runTool(
  main: ToolMain,
  args: string[],
  env: NodeJS.ProcessEnv,
  stdinIsTTY = false,
): Promise<ToolRun> {
  let out = "";
  let err = "";
  const code = await main(args, env, {
    out: (text) => (out += text),
    err: (text) => (err += text),
    stdinIsTTY,
  });
  return { code, out, err };
}

/** Every file under a directory with its sha256: equal snapshots mean nothing was written there. */
export function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    files[path.relative(dir, file)] = crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
  }
  return files;
}

/** A refused run: the exit code, exactly one line on stderr matching `line`, no stack trace. */
export function assertOneLine(run: { code: number | null; err: string }, code: number, line: RegExp): void {
  assert.equal(run.code, code, run.err);
  const lines = run.err.split("\n").filter((text) => text.trim() !== "");
  assert.equal(lines.length, 1, `one line on stderr, got:\n${run.err}`);
  assert.match(lines[0], line);
  assert.doesNotMatch(run.err, /\n\s+at \S+ \(/, "no stack trace");
}

/** A refused run with several problems: the exit code, one line per problem in order, no stack trace. */
export function assertLines(run: { code: number | null; err: string }, code: number, lines: RegExp[]): void {
  assert.equal(run.code, code, run.err);
  const got = run.err.split("\n").filter((text) => text.trim() !== "");
  assert.equal(got.length, lines.length, `${lines.length} lines on stderr, got:\n${run.err}`);
  got.forEach((line, index) => assert.match(line, lines[index]));
  assert.doesNotMatch(run.err, /\n\s+at \S+ \(/, "no stack trace");
}

const ROOT = path.resolve(__dirname, "..", "..", "..");

/** Runs `tools/<file>` as `npm run` does (ts-node), as a separate process: the script's own entry point. */
export function runToolScript(
  file: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string } = {},
): ToolRun {
  const result = spawnSync(
    process.execPath,
    ["-r", "ts-node/register/transpile-only", path.join(ROOT, "tools", file), ...args],
    {
      cwd: ROOT,
      encoding: "utf8",
      input: options.input,
      env: { ...process.env, ...options.env, TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json") },
    },
  );
  return { code: result.status ?? -1, out: result.stdout, err: result.stderr };
}

/** `--help`: exit 0, the usage on stdout, nothing on stderr. */
export function assertHelp(run: ToolRun, tool: string): void {
  assert.equal(run.code, 0, run.err);
  assert.equal(run.err, "");
  assert.ok(run.out.startsWith(`Usage: ${tool} [options]\n`), run.out);
}
