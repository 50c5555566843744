// Moving traffic at run time through HAProxy's admin socket: which color serves now, readying one
// color's servers before draining the other's, and saving that state for a restarted proxy.
import { COLORS, Color, otherColor } from "../../schema/types";
import { StepError } from "../lib/step";
import { ProxyPaths, ProxyServer } from "./config";
import { writeFileAtomic } from "./process";
import {
  AdminEndpoint,
  ServerState,
  admission,
  parseServersState,
  savedServersStateText,
  setServerState,
  setServerWeight,
  showServersState,
} from "./runtime";

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

/** How long HAProxy's own checks get to pass on a color taken out of maintenance. */
export function checkTimeoutMs(checkIntervalMs: number): number {
  return checkIntervalMs * 4 + 2000;
}

/** The servers of one color in a `show servers state` answer. */
export function serversOf(states: ServerState[], color: Color): ServerState[] {
  return states.filter((state) => state.name.startsWith(`${color}-`));
}

/**
 * Servers in maintenance have no fresh check result (a plain restart from the config leaves the warm
 * color there), and "ready" alone would send traffic to them unchecked: let HAProxy check them in
 * drain first, and wait for a passed check.
 */
async function checkedInDrain(
  admin: AdminEndpoint,
  names: string[],
  timeoutMs: number,
): Promise<ServerState[]> {
  for (const name of names) await setServerState(admin, name, "drain");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await showServersState(admin);
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
 * Makes sure `color` can take traffic without moving any: its servers exist, the ones in maintenance
 * go to drain and wait for a passed check, and none is DOWN by HAProxy's own checks. Returns the
 * state to move from.
 */
export async function prepareColor(
  admin: AdminEndpoint,
  color: Color,
  current: ServerState[],
  timeoutMs: number,
): Promise<ServerState[]> {
  let states = current;
  if (serversOf(states, color).length === 0) {
    throw new StepError(`the proxy has no ${color} server: its layout does not list the color's replicas`);
  }
  const unchecked = serversOf(states, color).filter((state) => admission(state) === "maint");
  if (unchecked.length > 0) {
    states = await checkedInDrain(
      admin,
      unchecked.map((state) => state.name),
      timeoutMs,
    );
  }
  const down = serversOf(states, color).filter((state) => state.operationalState === 0);
  if (down.length > 0) {
    throw new StepError(
      `HAProxy's own health checks see ${down.map((state) => state.name).join(", ")} DOWN; not moving traffic to ${color} (is the color running on its ports?)`,
    );
  }
  return states;
}

/**
 * First step of a move: the color's servers take traffic (beside the other color's, for a moment), at
 * the config's own weight (a canary step or a drain left another one).
 */
export async function readyColor(admin: AdminEndpoint, color: Color, states: ServerState[]): Promise<void> {
  for (const state of serversOf(states, color)) {
    if (state.userWeight !== state.initialWeight) await setServerWeight(admin, state.name, "100%");
    if (admission(state) !== "ready") await setServerState(admin, state.name, "ready");
  }
}

/**
 * Second step: every other server drains (finishes its requests, takes no new ones, stays checked) at
 * weight 0: a drained server still takes the clients whose cookie names it, unless its weight says 0
 * (the config's ignore-persist rule), so a sticky client follows the move.
 */
export async function drainOthers(admin: AdminEndpoint, color: Color, states: ServerState[]): Promise<void> {
  for (const state of states.filter((candidate) => !candidate.name.startsWith(`${color}-`))) {
    if (admission(state) !== "drain") await setServerState(admin, state.name, "drain");
    if (state.userWeight !== 0) await setServerWeight(admin, state.name, 0);
  }
}

/**
 * Ready the color's servers, then drain the other's (the order that drops nothing); the other color's
 * servers in maintenance go to drain too, so HAProxy keeps checking the warm color. Returns the
 * milliseconds the flip itself took.
 */
export async function flip(
  admin: AdminEndpoint,
  checkIntervalMs: number,
  color: Color,
  current: ServerState[],
): Promise<number> {
  const states = await prepareColor(admin, color, current, checkTimeoutMs(checkIntervalMs));
  const started = process.hrtime.bigint();
  await readyColor(admin, color, states);
  await drainOthers(admin, color, states);
  return Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10;
}

/**
 * Saves the runtime state (both backends) so a restarted proxy comes back serving the same color and
 * previewing the same one. Before a reload onto
 * a new layout, only servers whose address stays are kept: HAProxy would otherwise take a moved
 * server's old port from the file over the new config.
 */
export async function saveState(paths: ProxyPaths, layout?: ProxyServer[]): Promise<void> {
  let text = await savedServersStateText(paths.socket);
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
