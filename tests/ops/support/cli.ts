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
  pid: number | undefined;
}

/** Starts `node bin/greenlight-ops.js <args>` with exactly `env`; killed after `timeoutMs`. */
export function spawnOps(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): CliProcess {
  const started = Date.now();
  const child = spawn(process.execPath, [path.join(PROJECT_DIR, "bin", "greenlight-ops.js"), ...args], {
    cwd: PROJECT_DIR,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const done = new Promise<CliExit>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
  return { done, stderrSoFar: () => stderr, pid: child.pid };
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
