// The one-off container a migration runs in: the release image with the release's own command as
// entrypoint, its output passed on to stderr, killed when the deadline passes. Created, given the
// database's CA where its DATABASE_URL names it (as the docker provider's `upload` does for the app's
// containers), then started attached.
import { execFile, spawn } from "child_process";
import { DATABASE_CA_FILE } from "../../contract/database-tls";
import { MigrateOptions } from "./options";
import { StopRequest } from "../lib/step";
import { childExit } from "../lib/stream";
import { lines, redact, secretValues } from "../lib/redact";

const STEP = "migrate";

/** The `docker create` arguments of the one-off migration container (DATABASE_URL passed by name only). */
export function dockerCreateArgs(
  options: Pick<MigrateOptions, "image" | "command" | "network" | "release">,
  name: string,
): string[] {
  const [entrypoint, ...args] = options.command;
  return [
    "create",
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

/**
 * A tar archive (POSIX ustar) of one file, for `docker cp - <container>:/`: Docker extracts it at the
 * root and creates the missing parent folders (0755), as for the docker provider's uploads.
 */
export function singleFileTar(file: string, content: string, mode = 0o644): Buffer {
  const name = file.replace(/^\/+/, "");
  if (Buffer.byteLength(name) > 99) throw new Error(`path ${file} is too long for a ustar header`);
  const body = Buffer.from(content, "utf8");
  const header = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string) =>
    header.write(value, offset, length, "ascii");
  const octal = (value: number, digits: number) => `${value.toString(8).padStart(digits, "0")}\0`;
  field(0, 100, name);
  field(100, 8, octal(mode, 7));
  field(108, 8, octal(0, 7));
  field(116, 8, octal(0, 7));
  field(124, 12, octal(body.length, 11));
  field(136, 12, octal(Math.floor(Date.now() / 1000), 11));
  field(148, 8, "        ");
  field(156, 1, "0");
  field(257, 6, "ustar\0");
  field(263, 2, "00");
  const checksum = header.reduce((sum, byte) => sum + byte, 0);
  field(148, 8, `${checksum.toString(8).padStart(6, "0")}\0 `);
  const padding = Buffer.alloc((512 - (body.length % 512)) % 512);
  return Buffer.concat([header, body, padding, Buffer.alloc(1024)]);
}

/** Runs a docker command to its end: its exit code and stderr (input, if any, on stdin). */
function docker(binary: string, args: string[], env: NodeJS.ProcessEnv, input?: Buffer) {
  return new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(binary, args, { env, stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", (error) => resolve({ code: null, stderr: error.message }));
    child.once("close", (code) => resolve({ code, stderr }));
    child.stdin.end(input);
  });
}

/** Creates the container and copies the CA into it; the reason when either fails. */
async function createContainer(
  options: MigrateOptions,
  env: NodeJS.ProcessEnv,
  name: string,
  ca: string | undefined,
): Promise<string | undefined> {
  const created = await docker(options.docker, dockerCreateArgs(options, name), env);
  if (created.code !== 0) return `docker create failed: ${created.stderr.trim().split("\n").pop()}`;
  if (ca === undefined) return undefined;
  const copied = await docker(
    options.docker,
    ["cp", "-", `${name}:/`],
    env,
    singleFileTar(DATABASE_CA_FILE, ca),
  );
  if (copied.code === 0) return undefined;
  await removeContainer(options.docker, name);
  return `copying the database CA into the container failed: ${copied.stderr.trim().split("\n").pop()}`;
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
  ca?: string,
): Promise<{ ok: boolean; error: string | null }> {
  const failed = await createContainer(options, env, name, ca);
  if (failed !== undefined) return { ok: false, error: failed };
  const child = spawn(options.docker, ["start", "--attach", name], {
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
