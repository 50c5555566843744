// Putting the proxy into a desired state: which color serves. Starts HAProxy when it does not run,
// flips a running one with the runtime API (ready the new color FIRST, then drain the old one: the
// reverse order answers 503 for tens of milliseconds), and reloads only when servers, ports or the
// maintenance mode change. A config HAProxy rejects never replaces the live one.
// spec.ts describes the proxy, flip.ts moves traffic at run time, process.ts starts and reloads it.
import * as fs from "fs";
import { Color } from "../../schema/types";
import { StepError } from "../lib/step";
import { ProxyPaths, activeColorOfConfig, proxyPaths, renderHaproxyConfig } from "./config";
import { flip, saveState, servingColor } from "./flip";
import { moveFleet } from "./fleet";
import { checkConfig, haproxyBinary, reloadProxy, runningPid, startProxy, writeFileAtomic } from "./process";
import { admission, proxyAnswers, showServersState } from "./runtime";
import { ProxySpec, proxyState } from "./spec";

export type { ProxySpec } from "./spec";

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
    await flip(paths.socket, spec.checkIntervalMs, color, await showServersState(paths.socket));
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
      await flip(paths.socket, spec.checkIntervalMs, color, states);
      await saveState(paths);
    }
    return { method: "unchanged", activeColor: color, previousColor: color, pid };
  }
  const sameServers = liveColor !== undefined && live === renderHaproxyConfig(proxyState(spec, liveColor));
  if (sameServers) {
    // The single-host case of the switch across hosts: one proxy, reached on its local socket.
    const { runtimeMs } = await moveFleet([{ name: "local", admin: paths.socket }], color, {
      checkIntervalMs: spec.checkIntervalMs,
    });
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
  let runtimeMs = await flip(paths.socket, spec.checkIntervalMs, keep, await showServersState(paths.socket));
  if (keep !== color)
    runtimeMs += await flip(paths.socket, spec.checkIntervalMs, color, await showServersState(paths.socket));
  await saveState(paths);
  writeFileAtomic(paths.config, desired);
  log(`reloaded HAProxy (pid ${reloaded}) for a new server layout, ${color} active`);
  return { method: "reload", activeColor: color, previousColor: serving, runtimeMs, pid: reloaded };
}
