// Canary steps on several proxies: the new color takes a share of the requests on every host at once
// (HAProxy server weights: new color `percent`, old color `100 - percent`), all or nothing — a host that
// fails a step puts every host back where it was before the rollout. An abort puts weight 0 on the new
// color on every host it reaches, then the old color alone serves at the config's weight.
import { Color, otherColor } from "../../schema/types";
import { StepError } from "../lib/step";
import { FleetOptions, ProxyTarget, hostNames, onEvery, restore } from "./fleet";
import { checkTimeoutMs, drainOthers, prepareColor, readyColor, serversOf } from "./flip";
import { ServerState, admission, setServerState, setServerWeight, showServersState } from "./runtime";

/** What one canary step did across hosts. */
export interface WeightMove {
  /** Share of new requests the new color takes, in percent. */
  percent: number;
  /** Milliseconds from the first runtime command to the last, over every host. */
  runtimeMs: number;
  /** Milliseconds from the first host taking the new weights to the last. */
  spreadMs: number;
  /** Per host: milliseconds from the step's start until its weights were set. */
  hosts: { host: string; setMs: number }[];
}

/** The servers' states on every host, all of them or a StepError naming who did not answer. */
export async function readFleet(targets: ProxyTarget[], options: FleetOptions): Promise<ServerState[][]> {
  const read = await onEvery(targets, (target) =>
    showServersState(target.admin, options.answerTimeoutMs ?? 2000),
  );
  if (read.failures.length > 0) {
    throw new StepError(
      `cannot reach the proxy of ${hostNames(read.failures)}; no weight changed on any host: ${read.failures.join("; ")}`,
    );
  }
  return read.results as ServerState[][];
}

/** One host's step: the old color's weight, then the new color's, then the new color ready. */
async function weighHost(
  target: ProxyTarget,
  color: Color,
  percent: number,
  states: ServerState[],
): Promise<void> {
  for (const state of serversOf(states, otherColor(color))) {
    await setServerWeight(target.admin, state.name, 100 - percent);
    if (admission(state) !== "ready") await setServerState(target.admin, state.name, "ready");
  }
  for (const state of serversOf(states, color)) {
    await setServerWeight(target.admin, state.name, percent);
    if (admission(state) !== "ready") await setServerState(target.admin, state.name, "ready");
  }
}

/** The last step: the old color drains (weight 0), then the new color takes the config's weight. */
async function completeHost(target: ProxyTarget, color: Color, states: ServerState[]): Promise<void> {
  if (serversOf(states, color).some((state) => admission(state) !== "ready")) {
    await readyColor(target.admin, color, states);
  }
  await drainOthers(target.admin, color, states);
  for (const state of serversOf(states, color)) await setServerWeight(target.admin, state.name, "100%");
}

/** Puts every host it reaches back to `before`; one phrase saying how that went. */
async function putBack(targets: ProxyTarget[], before: ServerState[][]): Promise<string> {
  const reverted = await onEvery(targets, (target, index) => restore(target, before[index]));
  return reverted.failures.length === 0
    ? "every host is back on the servers and weights it had before the rollout"
    : `putting them back failed on ${hostNames(reverted.failures)}: ${reverted.failures.join("; ")}`;
}

/**
 * Moves every host to `percent` % on `color` (100: the color alone, at the config's weight). Nothing
 * changes before every host answered and sees the color UP; any failure puts every host back to
 * `before` (the states before the rollout: an earlier step's weights too) and throws naming the host.
 */
export async function weighFleet(
  targets: ProxyTarget[],
  color: Color,
  percent: number,
  before: ServerState[][],
  options: FleetOptions,
): Promise<WeightMove> {
  if (!Number.isInteger(percent) || percent < 1 || percent > 100)
    throw new StepError(`traffic step ${percent}: expected a whole percentage from 1 to 100`, 2);
  const failed = async (what: string, failures: string[]) =>
    new StepError(
      `traffic step ${percent} % to ${color}: ${what} on ${hostNames(failures)}; ${await putBack(targets, before)}: ${failures.join("; ")}`,
    );
  const read = await onEvery(targets, (target) =>
    showServersState(target.admin, options.answerTimeoutMs ?? 2000),
  );
  if (read.failures.length > 0) throw await failed("no proxy answered", read.failures);
  const current = read.results as ServerState[][];
  const prepared = await onEvery(targets, (target, index) =>
    prepareColor(target.admin, color, current[index], checkTimeoutMs(options.checkIntervalMs)),
  );
  if (prepared.failures.length > 0)
    throw await failed(`${color} is not ready to take traffic`, prepared.failures);
  const states = prepared.results as ServerState[][];
  const started = process.hrtime.bigint();
  const sinceStart = () => Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10;
  const hosts = targets.map((target) => ({ host: target.name, setMs: 0 }));
  const moved = await onEvery(targets, async (target, index) => {
    if (percent === 100) await completeHost(target, color, states[index]);
    else await weighHost(target, color, percent, states[index]);
    hosts[index].setMs = sinceStart();
  });
  const runtimeMs = sinceStart();
  if (moved.failures.length > 0) throw await failed("the weights were refused", moved.failures);
  const times = hosts.map((host) => host.setMs);
  return {
    percent,
    runtimeMs,
    spreadMs: Math.round((Math.max(...times) - Math.min(...times)) * 10) / 10,
    hosts,
  };
}

/**
 * Aborts a rollout: weight 0 on `color` (the new color) on every host it reaches — from then on no new
 * client and no sticky one reaches it — then the old color alone at the config's weight, the new one
 * drained. Per host, best effort: returns the failures, each naming its host.
 */
export async function abortFleet(
  targets: ProxyTarget[],
  color: Color,
  options: FleetOptions,
): Promise<string[]> {
  const previous = otherColor(color);
  const aborted = await onEvery(targets, async (target) => {
    const states = await showServersState(target.admin, options.answerTimeoutMs ?? 2000);
    for (const state of serversOf(states, color)) await setServerWeight(target.admin, state.name, 0);
    const now = await showServersState(target.admin, options.answerTimeoutMs ?? 2000);
    await readyColor(target.admin, previous, now);
    await drainOthers(target.admin, previous, now);
  });
  return aborted.failures;
}
