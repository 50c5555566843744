// The traffic switch (the blue-green deployment procedures: "switch traffic, monitor, roll back above 5 %"): points the proxy at the
// target color without dropping a request, warms caches through the proxy (the production rollout checklist), then lets the
// guard watch the new color and flips back on a breach — exiting non-zero so `pulumi up` fails and the
// stack's recorded state still says the old color.
import { Color } from "../../schema/types";
import { AccessLogListener, GuardReport, describeGuard, watchGuard } from "../guard";
import { HostMove } from "../proxy/fleet";
import { Activation, activate } from "../proxy/activate";
import { ProxySpec, proxyUrl } from "../proxy/spec";
import { probe } from "../lib/http";
import { NotifyResult, notifyFromStep } from "../notify";
import { GuardThresholds } from "../guard/requests";
import { StepError } from "../lib/step";

/** What every switch takes, however it reaches its proxies. */
export interface SwitchSettings {
  /** The color that serves afterwards. */
  color: Color;
  release: string;
  /** Image the color runs (reported, and shown in notifications). */
  image?: string;
  /** Paths requested through the proxy right after the switch. */
  warmupPaths: string[];
  /** Seconds the guard watches; 0 skips it. */
  guardSeconds: number;
  thresholds: GuardThresholds;
  /** Where notifications go (GREENLIGHT_WEBHOOK_URL). */
  env?: NodeJS.ProcessEnv;
  log?: (message: string) => void;
}

export interface SwitchOptions extends SwitchSettings {
  spec: ProxySpec;
  binary?: string;
}

export interface WarmupResult {
  path: string;
  /** The proxy the request went through. */
  proxyUrl: string;
  status?: number;
  ms: number;
  error?: string;
}

/** What moving traffic did, on one proxy or on every host's. */
export interface Moved {
  /** start/flip/reload/unchanged for the local proxy; flip/unchanged for the hosts' proxies. */
  method: Activation["method"];
  previousColor?: Color;
  runtimeMs?: number;
  /** Milliseconds the checks before the move took (every host answers, the color is UP everywhere). */
  preflightMs?: number;
  /** Per host, when the switch moved several hosts. */
  hosts?: HostMove[];
}

/** How a switch reaches its proxies: where clients reach them, and how traffic moves on them. */
export interface TrafficMover {
  proxyUrls: string[];
  move(color: Color): Promise<Moved>;
  /**
   * Moves back after a breach, on every proxy it can; returns the failures, each naming its host.
   * Default: move, all or nothing.
   */
  revert?(color: Color): Promise<string[]>;
}

export interface SwitchReport {
  step: "switch";
  activeColor: Color;
  release: string;
  image?: string;
  proxyUrl: string;
  /** Every host's proxy, when the switch moved several hosts. */
  proxyUrls?: string[];
  previousColor?: Color;
  method: Activation["method"];
  /** Milliseconds the runtime API took to move traffic. */
  runtimeMs?: number;
  /** Milliseconds the checks on every host took before anything moved. */
  preflightMs?: number;
  hosts?: HostMove[];
  /** Milliseconds the whole switch took, guard included. */
  totalMs: number;
  warmup: WarmupResult[];
  guard?: GuardReport | { skipped: string };
  notified?: NotifyResult;
}

async function warmUp(proxyUrls: string[], paths: string[]): Promise<WarmupResult[]> {
  const results: WarmupResult[] = [];
  for (const proxyUrl of proxyUrls) {
    for (const path of paths) {
      const answer = await probe(`${proxyUrl}${path.slice(1)}`, 10_000);
      results.push({ path, proxyUrl, status: answer.status, ms: answer.ms, error: answer.error });
    }
  }
  return results;
}

/**
 * Moves traffic, warms up, guards; throws StepError (with the report) when the guard reverted. The
 * access log is heard at logAddress:logPort, opened before traffic moves.
 */
export async function runSwitch(
  mover: TrafficMover,
  settings: SwitchSettings,
  log: { address: string; port: number },
): Promise<SwitchReport> {
  const started = Date.now();
  const progressLog = settings.log ?? (() => undefined);
  const env = settings.env ?? {};
  const { color } = settings;
  const hostCount = mover.proxyUrls.length;
  const where = hostCount > 1 ? ` on ${hostCount} hosts` : "";
  // Listen before traffic moves: a guard that cannot listen must stop the switch, not watch nothing.
  let listener: AccessLogListener | undefined;
  if (settings.guardSeconds > 0) {
    listener = await AccessLogListener.open(log.port, log.address).catch((error: Error) => {
      throw new StepError(`${error.message}; traffic was not switched`, 2);
    });
  }
  try {
    const activation = await mover.move(color);
    const moved = activation.method !== "unchanged";
    const warmup = await warmUp(mover.proxyUrls, settings.warmupPaths);
    const report: SwitchReport = {
      step: "switch",
      activeColor: color,
      release: settings.release,
      image: settings.image,
      proxyUrl: mover.proxyUrls[0],
      ...(hostCount > 1 || activation.hosts ? { proxyUrls: mover.proxyUrls } : {}),
      previousColor: activation.previousColor,
      method: activation.method,
      runtimeMs: activation.runtimeMs,
      ...(activation.preflightMs !== undefined ? { preflightMs: activation.preflightMs } : {}),
      ...(activation.hosts ? { hosts: activation.hosts } : {}),
      totalMs: 0,
      warmup,
    };
    if (!listener) {
      report.guard = { skipped: "guard window is 0 s" };
    } else if (!moved) {
      report.guard = { skipped: `${color} already served; traffic did not move` };
    } else {
      progressLog(`guard watches ${color}${where} for ${settings.guardSeconds} s`);
      const guard = await watchGuard({
        listener,
        color,
        durationSeconds: settings.guardSeconds,
        thresholds: settings.thresholds,
      });
      report.guard = guard;
      progressLog(describeGuard(guard));
      if (guard.verdict === "breach") {
        const previous = activation.previousColor;
        const why = (guard.reasons ?? []).join("; ");
        if (previous === undefined || previous === color) {
          report.totalMs = Date.now() - started;
          throw new StepError(
            `guard: ${why} (${describeGuard(guard)}); no previous color served${where}, so there is nothing to revert to`,
            1,
            report,
          );
        }
        let notReverted: string[] = [];
        if (mover.revert) notReverted = await mover.revert(previous);
        else await mover.move(previous);
        const revertedTo =
          notReverted.length === 0
            ? `${previous}${where}`
            : `${previous} on ${hostCount - notReverted.length} of ${hostCount} hosts, NOT on ${notReverted.join("; ")}`;
        report.notified = await notifyFromStep(
          "switch",
          {
            event: "revert",
            text: `release ${settings.release} on ${color} reverted to ${revertedTo}: ${why}`,
            fields: { measured: describeGuard(guard), proxy: mover.proxyUrls.join(" ") },
          },
          env,
        );
        report.totalMs = Date.now() - started;
        throw new StepError(`guard reverted traffic to ${revertedTo}: ${why} (${describeGuard(guard)})`, 1, {
          ...report,
          activeColor: previous,
          revertedFrom: color,
          ...(notReverted.length > 0 ? { notReverted } : {}),
        });
      }
    }
    if (moved) {
      report.notified = await notifyFromStep(
        "switch",
        {
          event: "switch",
          text: `traffic moved to ${color} (release ${settings.release})${activation.previousColor ? ` from ${activation.previousColor}` : ""}${where}`,
          fields: {
            image: settings.image ?? "(not given)",
            proxy: mover.proxyUrls.join(" "),
            method: activation.method,
          },
        },
        env,
      );
    }
    report.totalMs = Date.now() - started;
    return report;
  } finally {
    await listener?.close();
  }
}

/** Switches the proxy on this machine (started, reloaded or flipped as needed), warms up, guards. */
export function switchTraffic(options: SwitchOptions): Promise<SwitchReport> {
  const { spec } = options;
  const mover: TrafficMover = {
    proxyUrls: [proxyUrl(spec)],
    move: (color) => activate(spec, color, { binary: options.binary, log: options.log }),
  };
  return runSwitch(mover, options, { address: spec.logAddress ?? "127.0.0.1", port: spec.logPort });
}
