// Runs a plan's commands in order for a tool's --yes (rollback), safe to interrupt: Ctrl-C reaches the
// running command (the Pulumi CLI cancels an update gracefully on SIGINT), no later command starts, and
// the stack file is left either as the last completed update or restore had it or as it was before —
// never with half of a run of `pulumi config set` applied.
import { spawn } from "child_process";
import * as fs from "fs";
import { formatCommand, PlannedCommand } from "./commands";

/** How a run of planned commands ended. */
export type RunOutcome =
  | { ok: true; ran: number }
  | {
      ok: false;
      /** Commands that completed: steps 1..ran. */
      ran: number;
      failed: PlannedCommand;
      exitCode: number;
      /** Stopped by SIGINT or SIGTERM rather than by the command's failure. */
      interrupted: boolean;
      /** The stack file was put back as it was after this many steps (0: as before the run), or kept as written. */
      stackFile: { restoredAfter: number } | "kept" | "none";
    };

export interface RunOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  /** With --json the tool's stdout carries one document, so the commands' own output goes to stderr. */
  outputToStderr?: boolean;
  /** Pulumi.<stack>.yaml: what `pulumi config set` writes, put back when a run stops among its writes. */
  stackFile?: string;
}

/** A `pulumi config set`: it changes the stack file only, so a stop right after it can be undone. */
function writesConfigOnly(command: PlannedCommand): boolean {
  return command.sets !== undefined;
}

/** Runs the commands one after another, stopping at the first that fails or at an interrupt. */
export async function runInOrder(commands: PlannedCommand[], options: RunOptions): Promise<RunOutcome> {
  const stdout = options.outputToStderr ? 2 : "inherit";
  let interrupted: NodeJS.Signals | undefined;
  let running: ReturnType<typeof spawn> | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted ??= signal;
    // A terminal's Ctrl-C reaches the command's process group already; a signal sent to this process
    // alone is passed on, so the command stops as it would at the keyboard.
    running?.kill(signal);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const read = (file: string | undefined) =>
    file && fs.existsSync(file) ? fs.readFileSync(file) : undefined;
  // What the stack file held after the last completed command that was not a config write.
  let snapshot = read(options.stackFile);
  let snapshotAfter = 0;
  try {
    for (const [index, command] of commands.entries()) {
      if (interrupted === undefined) {
        options.log(`[${index + 1}/${commands.length}] ${formatCommand(command.argv)}`);
        running = spawn(command.argv[0], command.argv.slice(1), {
          cwd: options.cwd,
          env: options.env,
          stdio: [command.interactive ? "inherit" : "ignore", stdout, "inherit"],
        });
        const child = running;
        const exitCode = await new Promise<number>((resolve) => {
          child.on("error", () => resolve(127));
          child.on("close", (code, signal) => resolve(code ?? (signal === "SIGINT" ? 130 : 1)));
        });
        running = undefined;
        if (exitCode === 0 && interrupted === undefined) {
          if (!writesConfigOnly(command)) {
            snapshot = read(options.stackFile);
            snapshotAfter = index + 1;
          }
          continue;
        }
        return stopped(index, command, interrupted !== undefined ? 130 : exitCode, true);
      }
      return stopped(index, command, 130, false);
    }
    return { ok: true, ran: commands.length };
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }

  /**
   * The outcome of a stop at `index`, the stack file put back if config writes were left half done: the
   * stopped command was one, or (stopped before the next command started) the last that completed was.
   * A stopped update or restore leaves the file as that step had it, fully written.
   */
  function stopped(index: number, command: PlannedCommand, exitCode: number, started: boolean): RunOutcome {
    const base = {
      ok: false as const,
      ran: index,
      failed: command,
      exitCode,
      interrupted: interrupted !== undefined,
    };
    if (options.stackFile === undefined) return { ...base, stackFile: "none" };
    const pending = started ? writesConfigOnly(command) : index > snapshotAfter;
    if (!pending) return { ...base, stackFile: "kept" };
    if (snapshot === undefined) fs.rmSync(options.stackFile, { force: true });
    else fs.writeFileSync(options.stackFile, snapshot);
    return { ...base, stackFile: { restoredAfter: snapshotAfter } };
  }
}
