// The one-off container a migration runs in: the release image with the release's own command as
// entrypoint, its output passed on to stderr, killed when the deadline passes.
import { execFile, spawn } from "child_process";
import { MigrateOptions } from "./options";
import { StopRequest } from "../lib/step";
import { childExit } from "../lib/stream";
import { lines, redact, secretValues } from "../lib/redact";

const STEP = "migrate";

/** The `docker run` arguments of the one-off migration container (DATABASE_URL passed by name only). */
export function dockerRunArgs(
  options: Pick<MigrateOptions, "image" | "command" | "network" | "release">,
  name: string,
): string[] {
  const [entrypoint, ...args] = options.command;
  return [
    "run",
    "--rm",
    "--name",
    name,
    "--network",
    options.network,
    "--label",
    "greenlight.step=migrate",
    "--label",
    `greenlight.release=${options.release}`,
    "-e",
    "DATABASE_URL",
    "--entrypoint",
    entrypoint,
    options.image,
    ...args,
  ];
}

/** Removes a container whatever its state; a container that does not exist is fine. */
function removeContainer(docker: string, name: string): Promise<void> {
  return new Promise((resolve) => execFile(docker, ["rm", "-f", name], () => resolve()));
}

/**
 * Runs the container until it exits, the deadline passes or a stop is requested (then kills it;
 * after a stop it also removes it, since `docker run` may have been stopped between create and start).
 */
export async function runContainer(
  options: MigrateOptions,
  env: NodeJS.ProcessEnv,
  name: string,
  deadline: number,
  stop: StopRequest,
): Promise<{ ok: boolean; error: string | null }> {
  const child = spawn(options.docker, dockerRunArgs(options, name), {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  // Line by line, so a secret the migration prints is redacted even when it arrives in two chunks.
  const secrets = secretValues(env);
  const forward = () =>
    lines((line) => {
      if (line.trim() !== "") process.stderr.write(`[${STEP}] container: ${redact(line, secrets)}\n`);
    });
  const [out, err] = [forward(), forward()];
  child.stdout?.on("data", (chunk: Buffer) => out.push(chunk));
  child.stderr?.on("data", (chunk: Buffer) => err.push(chunk));
  const killContainer = () => execFile(options.docker, ["kill", name], () => child.kill("SIGTERM"));
  let timedOut = false;
  const timer = setTimeout(
    () => {
      timedOut = true;
      killContainer();
    },
    Math.max(deadline - Date.now(), 0),
  );
  const forgetStop = stop.onStop(killContainer);
  const exit = await childExit(child).finally(() => {
    clearTimeout(timer);
    forgetStop();
    out.flush();
    err.flush();
  });
  if (stop.signal) {
    await removeContainer(options.docker, name);
    return { ok: false, error: `stopped by ${stop.signal}: the container was killed` };
  }
  if (timedOut)
    return {
      ok: false,
      error: `timed out after ${options.timeoutSeconds} s (lock wait included); the container was killed`,
    };
  if (exit.code === 0) return { ok: true, error: null };
  const last = exit.stderr.trim().split("\n").filter(Boolean);
  // The error goes into greenlight.migrations and the step's report: redacted like the output.
  return {
    ok: false,
    error: `${options.command.join(" ")} exited ${exit.code ?? exit.signal}: ${redact(last.slice(-3).join(" | "), secrets).slice(0, 2000) || "no output"}`,
  };
}
