// HAProxy's runtime API. On the proxy's own host it is spoken directly with `net` over the UNIX admin
// socket (mode 600, the only listener the API has: socat would add tens of milliseconds of process
// start-up to every flip); from anywhere else through a RuntimeClient, the control channel over SSH
// (ops/control), which relays each command to that socket inside the proxy's container.
import * as net from "net";
import { BACKEND } from "./config";

/** Something that runs one runtime API command on a proxy and returns HAProxy's whole answer. */
export interface RuntimeClient {
  command(text: string, timeoutMs?: number): Promise<string>;
}

/** Where a proxy's runtime API answers: its UNIX socket's path, or a client that reaches it. */
export type AdminEndpoint = string | RuntimeClient;

/** Refuses what would be more than one command (HAProxy runs every command of a line). */
export function checkRuntimeCommand(command: string): void {
  if (/[\n;]/.test(command))
    throw new Error(`runtime command ${JSON.stringify(command)}: one command per call`);
}

/** Sends one command to a UNIX admin socket and returns HAProxy's whole answer (it closes after it). */
export function socketCommand(socketPath: string, command: string, timeoutMs = 2000): Promise<string> {
  try {
    checkRuntimeCommand(command);
  } catch (error) {
    return Promise.reject(error);
  }
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ path: socketPath });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(`HAProxy admin socket ${socketPath} did not answer "${command}" within ${timeoutMs} ms`),
      );
    }, timeoutMs);
    socket.once("connect", () => socket.write(`${command}\n`));
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`HAProxy admin socket ${socketPath}: ${error.message}`));
    });
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString("utf8"));
    });
  });
}

/** Sends one command and returns HAProxy's whole answer. */
export function runtimeCommand(admin: AdminEndpoint, command: string, timeoutMs = 2000): Promise<string> {
  if (typeof admin === "string") return socketCommand(admin, command, timeoutMs);
  try {
    checkRuntimeCommand(command);
  } catch (error) {
    return Promise.reject(error);
  }
  return admin.command(command, timeoutMs);
}

/** True when a proxy answers on the socket. */
export async function proxyAnswers(admin: AdminEndpoint): Promise<boolean> {
  try {
    return (await runtimeCommand(admin, "show info", 1000)).includes("Pid:");
  } catch {
    return false;
  }
}

/** srv_admin_state bits (HAProxy's SRV_ADMF_*). */
const ADMIN = {
  forcedMaint: 0x01,
  inheritedMaint: 0x02,
  forcedDrain: 0x08,
  inheritedDrain: 0x10,
  resolutionMaint: 0x20,
  hostnameMaint: 0x40,
} as const;

/** One line of `show servers state`. */
export interface ServerState {
  backend: string;
  name: string;
  /** 0 stopped (DOWN), 1 starting, 2 running, 3 stopping. */
  operationalState: number;
  adminState: number;
  userWeight: number;
  /** The weight the config gives it (what `weight 100%` sets back). */
  initialWeight: number;
  /** Last health-check result: 0 unknown, 1 neutral, 2 failed, 3 passed, 4 passed conditionally. */
  checkResult: number;
  address: string;
  port: number;
}

/** How a server takes traffic: ready (load-balanced), drain (checks only) or maint (nothing). */
export type Admission = "ready" | "drain" | "maint";

export function admission(state: Pick<ServerState, "adminState">): Admission {
  const maint = ADMIN.forcedMaint | ADMIN.inheritedMaint | ADMIN.resolutionMaint | ADMIN.hostnameMaint;
  if (state.adminState & maint) return "maint";
  if (state.adminState & (ADMIN.forcedDrain | ADMIN.inheritedDrain)) return "drain";
  // A server disabled in the config and set ready at run time keeps only the config bit: it serves.
  return "ready";
}

/** Parses `show servers state` output (format version 1). */
export function parseServersState(text: string): ServerState[] {
  const lines = text.split("\n").map((line) => line.trim());
  if (lines[0] !== "1") {
    throw new Error(
      `unexpected "show servers state" answer (version ${JSON.stringify(lines[0])}): ${text.slice(0, 200)}`,
    );
  }
  return lines
    .slice(1)
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const fields = line.split(/\s+/);
      return {
        backend: fields[1],
        name: fields[3],
        address: fields[4],
        operationalState: Number(fields[5]),
        adminState: Number(fields[6]),
        userWeight: Number(fields[7]),
        initialWeight: Number(fields[8]),
        checkResult: Number(fields[11]),
        port: Number(fields[18]),
      };
    });
}

/**
 * Every backend's `show servers state` text, app and preview: what the server-state file holds, so a
 * restarted or reloaded proxy keeps both the served color and the previewed one.
 */
export function savedServersStateText(admin: AdminEndpoint, timeoutMs?: number): Promise<string> {
  return runtimeCommand(admin, "show servers state", timeoutMs);
}

/** The raw `show servers state` text of the app backend. */
function serversStateText(admin: AdminEndpoint, timeoutMs?: number, backend = BACKEND): Promise<string> {
  return runtimeCommand(admin, `show servers state ${backend}`, timeoutMs);
}

export async function showServersState(
  admin: AdminEndpoint,
  timeoutMs?: number,
  backend = BACKEND,
): Promise<ServerState[]> {
  return parseServersState(await serversStateText(admin, timeoutMs, backend));
}

/** `set server app/<name> state <ready|drain|maint>`; throws with HAProxy's answer when refused. */
export async function setServerState(
  admin: AdminEndpoint,
  server: string,
  state: Admission,
  backend = BACKEND,
): Promise<void> {
  const answer = (await runtimeCommand(admin, `set server ${backend}/${server} state ${state}`)).trim();
  if (answer !== "")
    throw new Error(`HAProxy refused "set server ${backend}/${server} state ${state}": ${answer}`);
}

/**
 * `set server app/<name> weight <n|100%>`: a number from 0 to 256, or "100%" for the config's own weight.
 * HAProxy answers nothing on success; a drained server keeps the weight for when it is ready again.
 */
export async function setServerWeight(
  admin: AdminEndpoint,
  server: string,
  weight: number | "100%",
): Promise<void> {
  if (weight !== "100%" && !(Number.isInteger(weight) && weight >= 0 && weight <= 256))
    throw new Error(`weight ${weight} for ${server}: expected a whole number from 0 to 256`);
  const answer = (await runtimeCommand(admin, `set server ${BACKEND}/${server} weight ${weight}`)).trim();
  if (answer !== "")
    throw new Error(`HAProxy refused "set server ${BACKEND}/${server} weight ${weight}": ${answer}`);
}
