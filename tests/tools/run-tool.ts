// Runs a lifecycle tool's main (tools/release.ts, rollback.ts, stats.ts) in-process, capturing what it writes.
import type { ToolIo } from "../../tools/history/io";

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
