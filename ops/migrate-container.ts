// The one-off container a migration runs in: the release image with the release's own command as
// entrypoint, its output passed on to stderr, killed when the deadline passes.
import { execFile, spawn } from "child_process";
import { MigrateOptions } from "./migrate";
import { childExit } from "./stream";

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

/** Runs the container until it exits or the deadline passes (then kills it). */
export async function runContainer(
  options: MigrateOptions,
  env: NodeJS.ProcessEnv,
  name: string,
  deadline: number,
): Promise<{ ok: boolean; error: string | null }> {
  const child = spawn(options.docker, dockerRunArgs(options, name), {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (chunk: Buffer) => process.stderr.write(prefixLines(chunk.toString())));
  child.stderr?.on("data", (chunk: Buffer) => process.stderr.write(prefixLines(chunk.toString())));
  let timedOut = false;
  const timer = setTimeout(
    () => {
      timedOut = true;
      execFile(options.docker, ["kill", name], () => child.kill("SIGTERM"));
    },
    Math.max(deadline - Date.now(), 0),
  );
  const exit = await childExit(child).finally(() => clearTimeout(timer));
  if (timedOut)
    return {
      ok: false,
      error: `timed out after ${options.timeoutSeconds} s (lock wait included); the container was killed`,
    };
  if (exit.code === 0) return { ok: true, error: null };
  const lines = exit.stderr.trim().split("\n").filter(Boolean);
  return {
    ok: false,
    error: `${options.command.join(" ")} exited ${exit.code ?? exit.signal}: ${lines.slice(-3).join(" | ").slice(0, 2000) || "no output"}`,
  };
}

function prefixLines(text: string): string {
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => `[${STEP}] container: ${line}\n`)
    .join("");
}
