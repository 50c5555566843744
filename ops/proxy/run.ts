// `greenlight-ops proxy`: the proxy of one host, in the foreground, as the command of its container
// (`greenlight-proxy-<app>-<stack>`, host network, a state volume). Renders the HAProxy config for the
// layout it is given, runs HAProxy in master-worker foreground mode, keeps the idle color in drain so
// HAProxy's own checks keep running on it, and saves the runtime state (which color serves) into the
// state volume as it changes, so a restarted container serves the color it served before. Traffic is
// moved by the switch, from another process, through the runtime API: its mode-600 UNIX socket, reached
// from another host only through the control channel over SSH (ops/control: `docker exec` of the relay).
// Started as root (the container), HAProxy's workers run as nobody; only its master keeps root, to bind
// the front's port (80/443 on the host network) and re-read its config.
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import { Color } from "../../schema/types";
import { BACKEND, ProxyState, activeColorOfConfig, proxyPaths, renderHaproxyConfig } from "./config";
import { serversOf, servingColor } from "./flip";
import { checkConfig, haproxyBinary, writeFileAtomic } from "./process";
import {
  ServerState,
  admission,
  parseServersState,
  proxyAnswers,
  savedServersStateText,
  setServerState,
  setServerWeight,
} from "./runtime";
import { ProxySpec, proxyState } from "./spec";
import { StepError } from "../lib/step";

export interface ProxyRunOptions {
  spec: ProxySpec;
  /** The color that serves when the state volume remembers none (a new host). */
  initialColor: Color;
  binary?: string;
  /** How often the runtime state is saved when it changed, in milliseconds (default 1000). */
  saveEveryMs?: number;
  log?: (message: string) => void;
}

export interface ProxyRunReport {
  step: "proxy";
  /** The color the proxy started with. */
  startedWith: Color;
  /** The color that served when it stopped. */
  stoppedWith?: Color;
  stoppedBy: string;
  ranMs: number;
}

/** The server lines of a saved state that still match the layout (HAProxy prefers a file's old ports). */
export function savedStateFor(text: string, layout: ProxyState["servers"]): string | undefined {
  let states: ServerState[];
  try {
    states = parseServersState(text);
  } catch {
    return undefined;
  }
  const kept = states.filter((state) =>
    layout.some(
      (server) => server.name === state.name && server.port === state.port && server.host === state.address,
    ),
  );
  if (kept.length === 0) return undefined;
  return text
    .split("\n")
    .filter((line) => !/^\d+ /.test(line) || kept.some((state) => line.split(/\s+/)[3] === state.name))
    .join("\n");
}

/** The color to start with: the one the saved runtime state served, else the saved config's, else the initial one. */
export function startingColor(
  savedState: string | undefined,
  savedConfig: string | undefined,
  initial: Color,
): Color {
  if (savedState !== undefined) {
    const serving = servingColor(appServers(parseServersState(savedState)));
    if (serving) return serving;
  }
  return (savedConfig && activeColorOfConfig(savedConfig)) || initial;
}

/** The app backend's servers of a state that holds every backend's (the preview front's too). */
function appServers(states: ServerState[]): ServerState[] {
  return states.filter((state) => state.backend === BACKEND);
}

function readIfThere(file: string): string | undefined {
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
}

/** Admission and health of each server: what the saved file must follow (not its timers). */
function fingerprint(states: ServerState[]): string {
  return states
    .map((state) => `${state.backend}/${state.name}:${state.adminState}:${state.operationalState}`)
    .join(" ");
}

export async function runProxy(options: ProxyRunOptions): Promise<ProxyRunReport> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const binary = options.binary ?? haproxyBinary();
  const paths = proxyPaths(options.spec.stateDir);
  fs.mkdirSync(options.spec.stateDir, { recursive: true, mode: 0o700 });

  const layout = proxyState(options.spec, options.initialColor).servers;
  const saved = savedStateFor(readIfThere(paths.stateFile) ?? "", layout);
  const activeColor = startingColor(saved, readIfThere(paths.config), options.initialColor);
  let config: string;
  try {
    config = renderHaproxyConfig({
      ...proxyState(options.spec, activeColor),
      foreground: true,
      dropPrivileges: process.getuid?.() === 0,
    });
  } catch (error) {
    throw new StepError(`proxy settings: ${(error as Error).message}`, 2);
  }
  const candidate = `${paths.config}.candidate`;
  fs.writeFileSync(candidate, config, { mode: 0o600 });
  const verdict = await checkConfig(binary, candidate);
  fs.rmSync(candidate, { force: true });
  if (!verdict.ok) throw new StepError(`HAProxy rejects the proxy config: ${verdict.message}`, 2);
  writeFileAtomic(paths.config, config);
  if (saved === undefined) fs.rmSync(paths.stateFile, { force: true });
  else writeFileAtomic(paths.stateFile, saved);

  const haproxy: ChildProcess = spawn(binary, ["-W", "-db", "-f", paths.config], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  const exited = new Promise<number>((resolve) => {
    haproxy.once("error", (error) => {
      log(`cannot run ${binary}: ${error.message}`);
      resolve(127);
    });
    haproxy.once("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
  let exitCode: number | undefined;
  void exited.then((code) => (exitCode = code));

  // From here on HAProxy runs: every way out stops it, so no proxy outlives its container's command.
  const stopRequested = new Promise<string>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => resolve(signal);
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
  });
  let stoppedBy = "haproxy exited";
  let serving: Color | undefined = activeColor;
  let timer: NodeJS.Timeout | undefined;
  try {
    const deadline = Date.now() + 10_000;
    while (!(await proxyAnswers(paths.socket))) {
      if (exitCode !== undefined)
        throw new StepError(`HAProxy exited (code ${exitCode}) before its admin socket answered`);
      if (Date.now() > deadline) {
        throw new StepError(`HAProxy started but its admin socket ${paths.socket} does not answer`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const listen = `${options.spec.listenAddress ?? "127.0.0.1"}:${options.spec.proxyPort}`;
    log(
      `HAProxy (pid ${haproxy.pid}) listens on ${listen} with ${activeColor} serving; runtime API on ${paths.socket}`,
    );

    let lastSaved = "";
    const save = async () => {
      // Both backends: the preview front keeps its color across a restart too.
      const text = await savedServersStateText(paths.socket);
      const states = parseServersState(text);
      serving = servingColor(appServers(states));
      const print = fingerprint(states);
      if (print !== lastSaved) {
        writeFileAtomic(paths.stateFile, text);
        lastSaved = print;
      }
      return appServers(states);
    };
    // The idle color stays checked, so a switch finds it UP or DOWN at once.
    const initial = await save();
    for (const state of initial) {
      if (!serversOf(initial, activeColor).includes(state) && admission(state) === "maint") {
        await setServerState(paths.socket, state.name, "drain");
        await setServerWeight(paths.socket, state.name, 0);
      }
    }
    await save();
    timer = setInterval(() => {
      save().catch((error: Error) => log(`saving the runtime state failed: ${error.message}`));
    }, options.saveEveryMs ?? 1000);
    const first = await Promise.race([exited.then(() => undefined), stopRequested]);
    if (first !== undefined) {
      stoppedBy = first;
      await save().catch((error: Error) => log(`saving the runtime state failed: ${error.message}`));
      // Soft stop: the listeners close, requests in flight finish (hard-stop-after bounds it).
      haproxy.kill("SIGUSR1");
      log(`${first}: HAProxy finishes the requests in flight and stops`);
    }
  } catch (error) {
    if (exitCode === undefined) haproxy.kill("SIGTERM");
    await exited;
    throw error;
  } finally {
    clearInterval(timer);
  }
  const code = await exited;
  const report: ProxyRunReport = {
    step: "proxy",
    startedWith: activeColor,
    stoppedWith: serving,
    stoppedBy,
    ranMs: Date.now() - started,
  };
  if (stoppedBy === "haproxy exited") throw new StepError(`HAProxy exited with code ${code}`, 1, report);
  return report;
}
