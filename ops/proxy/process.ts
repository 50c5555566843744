// Starting, validating, reloading and stopping the HAProxy process greenlight runs in the state directory.
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ProxyPaths } from "./config";
import { proxyAnswers } from "./runtime";

const DEFAULT_BINARIES = ["/usr/sbin/haproxy", "/usr/local/sbin/haproxy"];

/** The haproxy binary: GREENLIGHT_HAPROXY, else the Debian path, else whatever PATH finds. */
export function haproxyBinary(env: NodeJS.ProcessEnv = process.env): string {
  if (env.GREENLIGHT_HAPROXY) return env.GREENLIGHT_HAPROXY;
  return DEFAULT_BINARIES.find((candidate) => fs.existsSync(candidate)) ?? "haproxy";
}

function run(binary: string, args: string[], timeoutMs: number): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${binary}: ${error.message} (install haproxy or set GREENLIGHT_HAPROXY)`));
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, output });
    });
  });
}

/** HAProxy's complaints, without its version notices. */
function alerts(output: string): string {
  const lines = output.split("\n").map((line) => line.trim());
  const alertLines = lines.filter((line) => line.includes("[ALERT]"));
  const warnings = lines.filter((line) => line.includes("[WARNING]") && !/server state file/.test(line));
  const chosen = alertLines.length > 0 ? alertLines : warnings.length > 0 ? warnings : [output.trim()];
  return chosen
    .map((line) => line.replace(/^\[(ALERT|WARNING)\]\s+\(\d+\) : /, ""))
    .join(" | ")
    .slice(0, 1500);
}

/** `haproxy -c`: whether HAProxy accepts the file, with its reasons when it does not. */
export async function checkConfig(binary: string, file: string): Promise<{ ok: boolean; message: string }> {
  const { code, output } = await run(binary, ["-c", "-f", file], 15_000);
  return { ok: code === 0, message: code === 0 ? "valid" : alerts(output) };
}

/** Writes a file so readers see the old or the new content, never a half-written one. */
export function writeFileAtomic(file: string, text: string): void {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(temporary, "w", 0o600);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temporary, file);
}

/** The pid of the HAProxy that owns this state directory, if it runs. */
export function runningPid(paths: ProxyPaths): number | undefined {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(paths.pidFile, "utf8").trim().split(/\s+/)[0]);
  } catch {
    return undefined;
  }
  return Number.isInteger(pid) && pid > 1 && isHaproxy(pid) ? pid : undefined;
}

/** A live HAProxy process: a recycled pid or a zombie (empty cmdline) does not count. */
function isHaproxy(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("haproxy");
  } catch {
    return false;
  }
}

async function waitForSocket(paths: ProxyPaths, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await proxyAnswers(paths.socket)) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

/** Starts HAProxy as a daemon on the live config; resolves once its admin socket answers. */
export async function startProxy(binary: string, paths: ProxyPaths): Promise<number> {
  const { code, output } = await run(binary, ["-f", paths.config], 15_000);
  if (code !== 0) throw new Error(`HAProxy did not start (exit ${code}): ${alerts(output)}`);
  if (!(await waitForSocket(paths, 5000))) {
    throw new Error(`HAProxy started but its admin socket ${paths.socket} does not answer`);
  }
  const pid = runningPid(paths);
  if (pid === undefined) throw new Error(`HAProxy started but wrote no pid to ${paths.pidFile}`);
  return pid;
}

/**
 * Reloads onto the live config: the new process takes the listening sockets over (-x) and the old one
 * finishes its requests (-sf). Needed only when servers, ports or maintenance mode change; unlike a
 * runtime flip it may reset idle keep-alive client connections.
 */
export async function reloadProxy(binary: string, paths: ProxyPaths, oldPid: number): Promise<number> {
  const { code, output } = await run(
    binary,
    ["-f", paths.config, "-x", paths.socket, "-sf", String(oldPid)],
    15_000,
  );
  if (code !== 0)
    throw new Error(`HAProxy reload failed (exit ${code}); the old process keeps serving: ${alerts(output)}`);
  const deadline = Date.now() + 5000;
  for (;;) {
    const pid = runningPid(paths);
    if (pid !== undefined && pid !== oldPid && (await proxyAnswers(paths.socket))) return pid;
    if (Date.now() > deadline) throw new Error(`reloaded HAProxy did not answer on ${paths.socket}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Stops the proxy of this state directory (tests, teardown); true when one was running. */
export async function stopProxy(paths: ProxyPaths, timeoutMs = 5000): Promise<boolean> {
  const pid = runningPid(paths);
  if (pid === undefined) return false;
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isHaproxy(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  process.kill(pid, "SIGKILL");
  return true;
}
