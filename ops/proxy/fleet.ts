// Moving traffic on several proxies at once, all or nothing: one proxy per host, each reached through
// its runtime API (the control plane's channel over SSH; the local UNIX socket for a single host). Nothing
// moves until every proxy answered and the target color is UP on every one; then the color is readied
// on every proxy, then the other color drained on every proxy (per proxy the order that drops nothing).
// If any proxy fails during the move, every proxy gets back the server states it had before.
import { Color } from "../../schema/types";
import { StepError } from "../lib/step";
import { checkTimeoutMs, drainOthers, prepareColor, readyColor, servingColor } from "./flip";
import {
  AdminEndpoint,
  ServerState,
  admission,
  setServerState,
  setServerWeight,
  showServersState,
} from "./runtime";

/** One host's proxy as the switch reaches it. */
export interface ProxyTarget {
  /** The host's name, as failures name it. */
  name: string;
  admin: AdminEndpoint;
}

export interface HostMove {
  host: string;
  /** The color that served on this host before (undefined: none, or both). */
  previousColor?: Color;
  /** Whether any server state changed on this host. */
  moved: boolean;
  /** Milliseconds from the start of the move until this host's proxy took the color (moved hosts). */
  readyMs?: number;
}

export interface FleetMove {
  activeColor: Color;
  /** The color every host served before, when they agreed. */
  previousColor?: Color;
  hosts: HostMove[];
  /** Milliseconds from the first "ready" to the last "drain" over all hosts. */
  runtimeMs: number;
  /** Milliseconds from the first host taking the color to the last: when two versions serve at once. */
  mixedMs?: number;
  /** Milliseconds the checks before the move took. */
  preflightMs: number;
}

export interface FleetOptions {
  /** HAProxy's own health-check interval, to bound the wait for a color coming out of maintenance. */
  checkIntervalMs: number;
  /** How long one proxy may take to answer the runtime API (default 2000 ms). */
  answerTimeoutMs?: number;
  log?: (message: string) => void;
}

/** Runs `work` on every target at once; the failures, each naming its host. */
export async function onEvery<T>(
  targets: ProxyTarget[],
  work: (target: ProxyTarget, index: number) => Promise<T>,
): Promise<{ results: (T | undefined)[]; failures: string[] }> {
  const settled = await Promise.allSettled(targets.map((target, index) => work(target, index)));
  const failures: string[] = [];
  const results = settled.map((outcome, index) => {
    if (outcome.status === "fulfilled") return outcome.value;
    const reason = outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason);
    failures.push(`host ${targets[index].name}: ${reason}`);
    return undefined;
  });
  return { results, failures };
}

/**
 * Puts a proxy's servers back to the admissions and weights they had: ready ones first (their weight
 * before their state), then the others (their state before their weight).
 */
export async function restore(target: ProxyTarget, before: ServerState[]): Promise<void> {
  const now = await showServersState(target.admin);
  const wanted = new Map(before.map((state) => [state.name, state]));
  const order = [...now].sort(
    (a, b) =>
      Number(admissionOf(wanted.get(b.name)) === "ready") -
      Number(admissionOf(wanted.get(a.name)) === "ready"),
  );
  for (const state of order) {
    const was = wanted.get(state.name);
    if (was === undefined) continue;
    const admit = admission(was);
    const weigh = () =>
      state.userWeight !== was.userWeight
        ? setServerWeight(target.admin, state.name, was.userWeight)
        : undefined;
    if (admit === "ready") await weigh();
    if (admission(state) !== admit) await setServerState(target.admin, state.name, admit);
    if (admit !== "ready") await weigh();
  }
}

function admissionOf(state: ServerState | undefined) {
  return state === undefined ? undefined : admission(state);
}

export function hostNames(failures: string[]): string {
  return failures.map((failure) => failure.split(":")[0].replace(/^host /, "")).join(", ");
}

/** Moves every proxy to `color`, all or nothing; throws StepError naming the host(s) that failed. */
export async function moveFleet(
  targets: ProxyTarget[],
  color: Color,
  options: FleetOptions,
): Promise<FleetMove> {
  const log = options.log ?? (() => undefined);
  if (targets.length === 0) throw new StepError("no proxy to switch: give at least one host", 2);
  const names = new Set(targets.map((target) => target.name));
  if (names.size !== targets.length) throw new StepError("two hosts share a name: name each host once", 2);
  const preflightStarted = Date.now();

  // 1. Every proxy answers: nothing moves while any host is out of reach.
  const read = await onEvery(targets, (target) =>
    showServersState(target.admin, options.answerTimeoutMs ?? 2000),
  );
  if (read.failures.length > 0) {
    throw new StepError(
      `cannot reach the proxy of ${hostNames(read.failures)}; no traffic moved on any host: ${read.failures.join("; ")}`,
    );
  }
  const before = read.results as ServerState[][];

  // 2. The color can take traffic everywhere: out of maintenance, checked UP by HAProxy itself.
  const prepared = await onEvery(targets, (target, index) =>
    prepareColor(target.admin, color, before[index], checkTimeoutMs(options.checkIntervalMs)),
  );
  if (prepared.failures.length > 0) {
    throw new StepError(
      `${color} is not ready to take traffic on ${hostNames(prepared.failures)}; no traffic moved on any host: ${prepared.failures.join("; ")}`,
    );
  }
  const states = prepared.results as ServerState[][];
  const hosts: HostMove[] = targets.map((target, index) => ({
    host: target.name,
    previousColor: servingColor(before[index]),
    moved: !(
      servingColor(states[index]) === color && states[index].every((state) => admission(state) !== "maint")
    ),
  }));
  const preflightMs = Date.now() - preflightStarted;
  log(`every host's proxy answers and sees ${color} UP (${targets.length} hosts, ${preflightMs} ms)`);

  // 3. Ready the color on every host, then drain the other on every host.
  const started = process.hrtime.bigint();
  const sinceStart = () => Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10;
  const readied = await onEvery(targets, async (target, index) => {
    await readyColor(target.admin, color, states[index]);
    if (hosts[index].moved) hosts[index].readyMs = sinceStart();
  });
  const drained =
    readied.failures.length > 0
      ? readied
      : await onEvery(targets, (target, index) => drainOthers(target.admin, color, states[index]));
  const runtimeMs = sinceStart();
  if (drained.failures.length > 0) {
    const reverted = await onEvery(targets, (target, index) => restore(target, before[index]));
    const outcome =
      reverted.failures.length === 0
        ? "every host is back on its previous servers"
        : `reverting failed too on ${hostNames(reverted.failures)}: ${reverted.failures.join("; ")}`;
    throw new StepError(
      `switch to ${color} failed on ${hostNames(drained.failures)}; ${outcome}: ${drained.failures.join("; ")}`,
    );
  }
  const previous = hosts.map((host) => host.previousColor);
  const readyTimes = hosts.flatMap((host) => (host.readyMs === undefined ? [] : [host.readyMs]));
  return {
    activeColor: color,
    previousColor: previous.every((which) => which !== undefined && which === previous[0])
      ? previous[0]
      : undefined,
    hosts,
    runtimeMs,
    ...(readyTimes.length > 1
      ? { mixedMs: Math.round((Math.max(...readyTimes) - Math.min(...readyTimes)) * 10) / 10 }
      : {}),
    preflightMs,
  };
}

/**
 * Moves every proxy it can back to `color`, one host at a time each in the order that drops nothing:
 * for a revert, a host out of reach must not keep the others on the color being left. Returns the
 * failures, each naming its host (empty: every host moved back).
 */
export async function revertFleet(
  targets: ProxyTarget[],
  color: Color,
  options: FleetOptions,
): Promise<string[]> {
  const moved = await onEvery(targets, async (target) => {
    const before = await showServersState(target.admin, options.answerTimeoutMs ?? 2000);
    const states = await prepareColor(target.admin, color, before, checkTimeoutMs(options.checkIntervalMs));
    await readyColor(target.admin, color, states);
    await drainOthers(target.admin, color, states);
  });
  return moved.failures;
}
