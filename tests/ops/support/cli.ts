// The ops CLI as the command resources run it (`node bin/greenlight-ops.js <step> …`), shared by the
// data-step helpers (data.ts) and the release-layer helpers (release.ts), which shape the result.
import { spawn } from "child_process";
import * as path from "path";
import { Duplex } from "stream";
import { RelayChannel } from "../../../ops/control";

export const PROJECT_DIR = path.resolve(__dirname, "..", "..", "..");

/** How a CLI call ended: its exit code (null when killed), its whole output and how long it took. */
export interface CliExit {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** A running CLI call whose stderr can be watched before it ends. */
export interface CliProcess {
  done: Promise<CliExit>;
  stderrSoFar(): string;
  /** True once the call has ended (its exit seen). */
  ended(): boolean;
  pid: number | undefined;
}

/**
 * Starts `node bin/greenlight-ops.js <args>` with exactly `env`; after `timeoutMs` its whole process
 * group is killed (the CLI and what it started, e.g. HAProxy), so nothing it spawned outlives the test.
 */
export function spawnOps(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): CliProcess {
  const started = Date.now();
  const child = spawn(process.execPath, [path.join(PROJECT_DIR, "bin", "greenlight-ops.js"), ...args], {
    cwd: PROJECT_DIR,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const killGroup = () => {
    try {
      if (child.pid) process.kill(-child.pid, "SIGKILL");
    } catch {
      // the group is gone already
    }
  };
  const timer = setTimeout(killGroup, timeoutMs);
  let grace: NodeJS.Timeout | undefined;
  const done = new Promise<CliExit>((resolve, reject) => {
    const finish = (code: number | null) => {
      clearTimeout(timer);
      clearTimeout(grace);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    };
    child.once("error", reject);
    child.once("close", finish);
    // "close" waits for every holder of the output pipes: a grandchild left running (the CLI killed
    // before it stopped HAProxy) would hold them forever. When "close" has not come 5 s after the CLI's
    // own exit, its group is killed and the call ends with what it wrote.
    child.once("exit", (code) => {
      grace = setTimeout(() => {
        killGroup();
        finish(code);
      }, 5_000);
      grace.unref();
    });
  });
  return {
    done,
    stderrSoFar: () => stderr,
    ended: () => child.exitCode !== null || child.signalCode !== null,
    pid: child.pid,
  };
}

/**
 * The relay (`greenlight-ops relay --state-dir <dir>`) in a child process, and a RelayChannel on its
 * stdin/stdout: the control channel the coordinator opens over SSH, without the SSH.
 */
export async function spawnRelay(host: string, stateDir: string): Promise<RelayChannel> {
  const child = spawn(
    process.execPath,
    [path.join(PROJECT_DIR, "bin", "greenlight-ops.js"), "relay", "--state-dir", stateDir],
    { cwd: PROJECT_DIR, stdio: ["pipe", "pipe", "inherit"] },
  );
  const channel = new RelayChannel(host, Duplex.from({ readable: child.stdout, writable: child.stdin }), () =>
    child.kill(),
  );
  await channel.hello;
  return channel;
}
