// Putting the proxy into a desired state: which color serves. Starts HAProxy when it does not run,
// flips a running one with the runtime API (ready the new color FIRST, then drain the old one: the
// reverse order answers 503 for tens of milliseconds), and reloads only when servers, ports or the
// maintenance mode change. A config HAProxy rejects never replaces the live one.
import { Command, InvalidArgumentError } from "commander";
import * as fs from "fs";
import * as path from "path";
import { FS_PATH } from "../../schema/patterns";
import { COLORS, Color, otherColor } from "../../schema/types";
import { host, integer, port, urlPath } from "../options";
import { StepError } from "../step";
import {
  MaintenanceMode,
  ProxyPaths,
  ProxyServer,
  ProxyState,
  activeColorOfConfig,
  colorServers,
  proxyPaths,
  renderHaproxyConfig,
} from "./config";
import { checkConfig, haproxyBinary, reloadProxy, runningPid, startProxy, writeFileAtomic } from "./process";
import {
  ServerState,
  admission,
  parseServersState,
  proxyAnswers,
  serversStateText,
  setServerState,
  showServersState,
} from "./runtime";

/** What the proxy is built from, apart from the active color. */
export interface ProxySpec {
  /** Absolute directory holding config, pidfile, admin socket, server-state file. */
  stateDir: string;
  /** TCP port on 127.0.0.1 clients connect to. */
  proxyPort: number;
  /** Address the proxy reaches the replicas at. */
  upstreamHost: string;
  /** First host port of each color; replica i listens on hostPort + i. */
  hostPorts: Record<Color, number>;
  replicas: number;
  healthPath: string;
  maintenanceMode: MaintenanceMode;
  /** UDP port on 127.0.0.1 the access log goes to; the guard listens there. */
  logPort: number;
  /** HAProxy's own health-check interval, in milliseconds. */
  checkIntervalMs: number;
}

export function proxyState(spec: ProxySpec, activeColor: Color): ProxyState {
  return {
    activeColor,
    servers: colorServers(spec.upstreamHost, spec.hostPorts, spec.replicas),
    proxyPort: spec.proxyPort,
    stateDir: spec.stateDir,
    maintenanceMode: spec.maintenanceMode,
    healthPath: spec.healthPath,
    logPort: spec.logPort,
    checkIntervalMs: spec.checkIntervalMs,
  };
}

export function proxyUrl(spec: Pick<ProxySpec, "proxyPort">): string {
  return `http://127.0.0.1:${spec.proxyPort}/`;
}

export interface Activation {
  /** start: no proxy ran; flip: runtime API; reload: servers/ports/maintenance changed; unchanged. */
  method: "start" | "flip" | "reload" | "unchanged";
  activeColor: Color;
  /** The color that served before, when one did. */
  previousColor?: Color;
  /** Milliseconds the runtime commands took (ready new, then drain old). */
  runtimeMs?: number;
  pid: number;
}

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

async function validated(binary: string, paths: ProxyPaths, text: string, what: string): Promise<void> {
  const candidate = `${paths.config}.candidate`;
  fs.writeFileSync(candidate, text, { mode: 0o600 });
  try {
    const verdict = await checkConfig(binary, candidate);
    if (!verdict.ok) {
      throw new StepError(
        `HAProxy rejects the config for ${what} (haproxy -c -f ${candidate}): ${verdict.message}; the live config and traffic are unchanged`,
      );
    }
  } finally {
    fs.rmSync(candidate, { force: true });
  }
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
async function flip(
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
async function saveState(paths: ProxyPaths, layout?: ProxyServer[]): Promise<void> {
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

/** Makes `color` the serving color; see the file comment for how. */
export async function activate(
  spec: ProxySpec,
  color: Color,
  options: { binary?: string; log?: (message: string) => void } = {},
): Promise<Activation> {
  const binary = options.binary ?? haproxyBinary();
  const log = options.log ?? (() => undefined);
  const paths = proxyPaths(spec.stateDir);
  let desired: string;
  try {
    desired = renderHaproxyConfig(proxyState(spec, color));
  } catch (error) {
    throw new StepError(`proxy settings: ${(error as Error).message}`, 2);
  }
  fs.mkdirSync(spec.stateDir, { recursive: true, mode: 0o700 });
  await validated(binary, paths, desired, `${color} active`);

  const pid = runningPid(paths);
  if (pid === undefined || !(await proxyAnswers(paths.socket))) {
    // A state file from an earlier proxy could contradict the config; the config is the desired state.
    fs.rmSync(paths.stateFile, { force: true });
    writeFileAtomic(paths.config, desired);
    const started = await startProxy(binary, paths);
    await flip(paths, spec, color, await showServersState(paths.socket));
    await saveState(paths);
    log(`started HAProxy (pid ${started}) on 127.0.0.1:${spec.proxyPort} with ${color} active`);
    return { method: "start", activeColor: color, pid: started };
  }

  const states = await showServersState(paths.socket);
  const serving = servingColor(states);
  const live = fs.existsSync(paths.config) ? fs.readFileSync(paths.config, "utf8") : "";
  const liveColor = activeColorOfConfig(live);
  if (serving === color && live === desired) {
    // Nothing to move; a warm color left in maintenance by a plain restart goes back to drain.
    if (states.some((state) => admission(state) === "maint")) {
      await flip(paths, spec, color, states);
      await saveState(paths);
    }
    return { method: "unchanged", activeColor: color, previousColor: color, pid };
  }
  const sameServers = liveColor !== undefined && live === renderHaproxyConfig(proxyState(spec, liveColor));
  if (sameServers) {
    const runtimeMs = await flip(paths, spec, color, states);
    await saveState(paths);
    writeFileAtomic(paths.config, desired);
    log(`flipped to ${color} in ${runtimeMs.toFixed(1)} ms without a reload`);
    return { method: "flip", activeColor: color, previousColor: serving, runtimeMs, pid };
  }

  // Servers, ports or maintenance changed: reload onto the new layout with the serving color kept,
  // so the saved runtime state agrees with the config, then flip at run time.
  const keep = serving ?? liveColor ?? color;
  const interim = renderHaproxyConfig(proxyState(spec, keep));
  if (interim !== desired) await validated(binary, paths, interim, `${keep} active (reload step)`);
  await saveState(paths, proxyState(spec, keep).servers);
  writeFileAtomic(paths.config, interim);
  const reloaded = await reloadProxy(binary, paths, pid);
  // Servers new to the layout start disabled: bring the kept color fully in, then move to the target.
  let runtimeMs = await flip(paths, spec, keep, await showServersState(paths.socket));
  if (keep !== color) runtimeMs += await flip(paths, spec, color, await showServersState(paths.socket));
  await saveState(paths);
  writeFileAtomic(paths.config, desired);
  log(`reloaded HAProxy (pid ${reloaded}) for a new server layout, ${color} active`);
  return { method: "reload", activeColor: color, previousColor: serving, runtimeMs, pid: reloaded };
}

function stateDir(value: string): string {
  if (!FS_PATH.test(value)) throw new InvalidArgumentError("expected a path of letters, digits and . _ - /");
  return path.resolve(value);
}

function maintenance(value: string): MaintenanceMode {
  if (!["off", "on", "read-only"].includes(value))
    throw new InvalidArgumentError("expected off, on or read-only");
  return value as MaintenanceMode;
}

/** The options every proxy-touching step (switch, guard) takes. */
export function addProxyOptions(command: Command): Command {
  return command
    .requiredOption(
      "--state-dir <dir>",
      "directory for the proxy's config, socket, pidfile and state file",
      stateDir,
    )
    .requiredOption("--proxy-port <port>", "port the proxy listens on (127.0.0.1)", port)
    .requiredOption("--blue-port <port>", "host port of blue replica 0", port)
    .requiredOption("--green-port <port>", "host port of green replica 0", port)
    .option("--replicas <n>", "replicas per color", integer(1, 16), 1)
    .option("--upstream-host <host>", "address the proxy reaches the replicas at", host, "127.0.0.1")
    .option("--health-path <path>", "path of HAProxy's own health checks", urlPath, "/health")
    .option(
      "--maintenance <mode>",
      "off, on (503 page) or read-only (only GET and HEAD pass)",
      maintenance,
      "off",
    )
    .option("--log-port <port>", "UDP port of the access log the guard reads (default: the proxy port)", port)
    .option(
      "--check-interval-ms <ms>",
      "interval of HAProxy's own health checks",
      integer(100, 60_000),
      1000,
    );
}

export function proxySpecFromOptions(options: Record<string, unknown>): ProxySpec {
  const proxyPort = Number(options.proxyPort);
  return {
    stateDir: String(options.stateDir),
    proxyPort,
    upstreamHost: String(options.upstreamHost),
    hostPorts: { blue: Number(options.bluePort), green: Number(options.greenPort) },
    replicas: Number(options.replicas),
    healthPath: String(options.healthPath),
    maintenanceMode: options.maintenance as MaintenanceMode,
    logPort: options.logPort === undefined ? proxyPort : Number(options.logPort),
    checkIntervalMs: Number(options.checkIntervalMs),
  };
}
