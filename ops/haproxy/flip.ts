// Moving traffic at run time through HAProxy's admin socket: which color serves now, readying one
// color's servers before draining the other's, and saving that state for a restarted proxy.
import { COLORS, Color, otherColor } from "../../schema/types";
import { StepError } from "../step";
import { ProxyPaths, ProxyServer } from "./config";
import { writeFileAtomic } from "./process";
import {
  ServerState,
  admission,
  parseServersState,
  serversStateText,
  setServerState,
  showServersState,
} from "./runtime";
import { ProxySpec } from "./spec";

/** The color whose servers all take traffic while the other color's take none, if that is the state. */
export function servingColor(states: ServerState[]): Color | undefined {
  for (const color of COLORS) {
    const own = states.filter((state) => state.name.startsWith(`${color}-`));
    const other = states.filter((state) => state.name.startsWith(`${otherColor(color)}-`));
    if (
      own.length > 0 &&
      own.every((state) => admission(state) === "ready") &&
      other.every((state) => admission(state) !== "ready")
    ) {
      return color;
    }
  }
  return undefined;
}

/** CHK_RES_PASSED in `show servers state`. */
const CHECK_PASSED = 3;

/**
 * Servers in maintenance have no fresh check result (a plain restart from the config leaves the warm
 * color there), and "ready" alone would send traffic to them unchecked: let HAProxy check them in
 * drain first, and wait for a passed check.
 */
async function checkedInDrain(paths: ProxyPaths, names: string[], timeoutMs: number): Promise<ServerState[]> {
  for (const name of names) await setServerState(paths.socket, name, "drain");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await showServersState(paths.socket);
    const pending = states.filter(
      (state) =>
        names.includes(state.name) && !(state.checkResult === CHECK_PASSED && state.operationalState === 2),
    );
    if (pending.length === 0) return states;
    if (Date.now() > deadline) {
      throw new StepError(
        `HAProxy's own health checks did not pass for ${pending.map((state) => state.name).join(", ")} within ${timeoutMs} ms; not moving traffic there (is the color running on its ports?)`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Ready the color's servers, then drain the other's (the order that drops nothing); the other color's
 * servers in maintenance go to drain too, so HAProxy keeps checking the warm color. Returns the
 * milliseconds the flip itself took (0 when nothing had to change).
 */
export async function flip(
  paths: ProxyPaths,
  spec: ProxySpec,
  color: Color,
  current: ServerState[],
): Promise<number> {
  let states = current;
  const unchecked = states.filter(
    (state) => state.name.startsWith(`${color}-`) && admission(state) === "maint",
  );
  if (unchecked.length > 0) {
    states = await checkedInDrain(
      paths,
      unchecked.map((state) => state.name),
      spec.checkIntervalMs * 4 + 2000,
    );
  }
  const target = states.filter((state) => state.name.startsWith(`${color}-`));
  const down = target.filter((state) => state.operationalState === 0);
  if (down.length > 0) {
    throw new StepError(
      `HAProxy's own health checks see ${down.map((state) => state.name).join(", ")} DOWN; not moving traffic to ${color} (is the color running on its ports?)`,
    );
  }
  const started = process.hrtime.bigint();
  for (const state of target) {
    if (admission(state) !== "ready") await setServerState(paths.socket, state.name, "ready");
  }
  for (const state of states.filter((candidate) => !candidate.name.startsWith(`${color}-`))) {
    if (admission(state) !== "drain") await setServerState(paths.socket, state.name, "drain");
  }
  return Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10;
}

/**
 * Saves the runtime state so a restarted proxy comes back serving the same color. Before a reload onto
 * a new layout, only servers whose address stays are kept: HAProxy would otherwise take a moved
 * server's old port from the file over the new config.
 */
export async function saveState(paths: ProxyPaths, layout?: ProxyServer[]): Promise<void> {
  let text = await serversStateText(paths.socket);
  if (layout) {
    const kept = parseServersState(text).filter((state) =>
      layout.some((server) => server.name === state.name && server.port === state.port),
    );
    text = text
      .split("\n")
      .filter((line) => !/^\d+ /.test(line) || kept.some((state) => line.split(/\s+/)[3] === state.name))
      .join("\n");
  }
  writeFileAtomic(paths.stateFile, text);
}
