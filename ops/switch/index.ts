// The traffic switch (the blue-green deployment procedures: "switch traffic, monitor, roll back above 5 %"): points the proxy at the
// target color without dropping a request, warms caches through the proxy (the production rollout checklist), then lets the
// guard watch the new color and flips back on a breach — exiting non-zero so `pulumi up` fails and the
// stack's recorded state still says the old color.
import { Color, otherColor } from "../../schema/types";
import { ChannelOpened, ControlPlane } from "../control";
import { GuardReport, GuardWatch, guardRelease } from "../guard";
import { GuardThresholds } from "../guard/requests";
import { StepError } from "../lib/step";
import { NotifyResult, notifyFromStep } from "../notify";
import {
  Activation,
  HostMove,
  ProxySpec,
  abortFleet,
  activate,
  proxyAnswers,
  proxyPaths,
  proxyUrl,
  previewFleet,
  readFleet,
  servingColor,
  weighFleet,
} from "../proxy";
import { PreviewReport, previewRelease } from "./preview";
import { CanarySettings, CanaryStep, Weigher, canarySteps, runCanary } from "./canary";

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
  /** Canary steps before the last move (none, or only 100: the single move). */
  canary?: CanarySettings;
  /** Bring the color to every proxy's preview front only; move no user traffic (greenlight:promote false). */
  previewOnly?: boolean;
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
  /** Milliseconds from the first host taking the new color to the last (several hosts). */
  mixedMs?: number;
  /** Milliseconds opening every host's control channel took (SSH, host key, relay), before anything moved. */
  openMs?: number;
  /** Milliseconds from the coordinator's process start until it began opening the channels. */
  bootMs?: number;
  /** How each host's control channel opened (socket or relay) and what each part took. */
  channels?: ChannelOpened[];
  /** Per host, when the switch moved several hosts. */
  hosts?: HostMove[];
}

/** How a switch reaches its proxies: where clients reach them, their control plane, how traffic moves. */
export interface TrafficMover {
  proxyUrls: string[];
  /** Every proxy's control plane: the guard reads their access logs and the warm-up goes through it. */
  plane: ControlPlane;
  /** The move may start the proxy (this machine's): the guard then subscribes once it runs. */
  mayStart?: boolean;
  move(color: Color): Promise<Moved>;
  /**
   * Moves back after a breach, on every proxy it can; returns the failures, each naming its host.
   * Default: move, all or nothing.
   */
  revert?(color: Color): Promise<string[]>;
  /** Moves weights step by step on every proxy (a canary); without it, steps are refused. */
  weigher?: Weigher;
  /** The color every proxy serves alone now (undefined: none, both, or the proxies disagree). */
  serving?(): Promise<Color | undefined>;
  /** Makes `color` the only color of every proxy's preview front. */
  preview?(color: Color): Promise<{ runtimeMs: number }>;
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
  /** Milliseconds from the first host taking the new color to the last (several hosts). */
  mixedMs?: number;
  /** Milliseconds opening every host's control channel took (SSH, host key, relay). */
  openMs?: number;
  /** Milliseconds from the coordinator's process start until it began opening the channels. */
  bootMs?: number;
  /** How each host's control channel opened (socket or relay) and what each part took. */
  channels?: ChannelOpened[];
  hosts?: HostMove[];
  /** The canary's steps below 100 %, each with both colors' figures over its window. */
  canary?: { stepSeconds: number; steps: CanaryStep[] };
  /** Milliseconds the whole switch took, guard included. */
  totalMs: number;
  /** The switch process's peak resident memory, in MB: the guard's count stays the same size under a flood. */
  peakRssMb?: number;
  warmup: WarmupResult[];
  guard?: GuardReport | { skipped: string };
  notified?: NotifyResult;
}

const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

async function warmUp(mover: TrafficMover, paths: string[]): Promise<WarmupResult[]> {
  const results: WarmupResult[] = [];
  for (const [index, channel] of mover.plane.channels.entries()) {
    for (const path of paths) {
      const answer = await channel
        .get(path, 10_000)
        .catch((error: Error) => ({ status: undefined, ms: 0, error: error.message }));
      results.push({ path, proxyUrl: mover.proxyUrls[index], ...answer });
    }
  }
  return results;
}

/**
 * Moves traffic, warms up, guards; throws StepError (with the report) when the guard reverted. The
 * guard subscribes to every proxy's access log before traffic moves (after a start or reload, once the
 * new proxy runs).
 */
export async function runSwitch(mover: TrafficMover, settings: SwitchSettings): Promise<SwitchReport> {
  const started = Date.now();
  const progressLog = settings.log ?? (() => undefined);
  const env = settings.env ?? {};
  const { color } = settings;
  const hostCount = mover.proxyUrls.length;
  const where = hostCount > 1 ? ` on ${hostCount} hosts` : "";
  const guarding = settings.guardSeconds > 0;
  const canary = await canaryFirst(mover, settings, started);
  // Subscribe before traffic moves: a guard that cannot read the proxies must stop the switch, not watch nothing.
  let watch: GuardWatch | undefined;
  if (guarding) {
    watch = await GuardWatch.open(mover.plane, color).catch((error: Error) => {
      if (mover.mayStart) return undefined;
      throw new StepError(
        `the guard cannot read the proxies' access log: ${error.message}; traffic was not switched`,
        2,
      );
    });
  }
  try {
    const activation = await mover.move(color);
    const moved = activation.method !== "unchanged";
    if (guarding && moved && (watch === undefined || activation.method === "reload")) {
      watch?.close();
      watch = await GuardWatch.open(mover.plane, color);
    }
    const warmup = await warmUp(mover, settings.warmupPaths);
    const report: SwitchReport = {
      step: "switch",
      activeColor: color,
      release: settings.release,
      image: settings.image,
      proxyUrl: mover.proxyUrls[0],
      ...(hostCount > 1 || activation.hosts ? { proxyUrls: mover.proxyUrls } : {}),
      previousColor: activation.previousColor ?? canary?.previous,
      method: activation.method,
      runtimeMs: activation.runtimeMs,
      ...(activation.preflightMs !== undefined ? { preflightMs: activation.preflightMs } : {}),
      ...(activation.mixedMs !== undefined ? { mixedMs: activation.mixedMs } : {}),
      ...(activation.openMs !== undefined ? { openMs: activation.openMs } : {}),
      ...(activation.bootMs !== undefined ? { bootMs: activation.bootMs } : {}),
      ...(activation.channels ? { channels: activation.channels } : {}),
      ...(activation.hosts ? { hosts: activation.hosts } : {}),
      ...(canary ? { canary: { stepSeconds: canary.stepSeconds, steps: canary.steps } } : {}),
      totalMs: 0,
      warmup,
    };
    if (!watch) {
      report.guard = { skipped: "guard window is 0 s" };
    } else if (!moved) {
      report.guard = { skipped: `${color} already served; traffic did not move` };
    } else {
      report.guard = await guardRelease(
        {
          watch,
          durationSeconds: settings.guardSeconds,
          thresholds: settings.thresholds,
          previous: activation.previousColor ?? canary?.previous,
          revert: mover.revert ?? (async (previous) => (await mover.move(previous), [])),
          proxies: hostCount,
          release: settings.release,
          proxyUrls: mover.proxyUrls,
          step: "switch",
          env,
          log: progressLog,
        },
        ({ guard, reverted }) => {
          report.guard = guard;
          report.totalMs = Date.now() - started;
          report.peakRssMb = peakRssMb();
          if (!reverted) return report;
          report.notified = reverted.notified;
          return {
            ...report,
            activeColor: reverted.revertedTo,
            revertedFrom: color,
            ...(reverted.notReverted.length > 0 ? { notReverted: reverted.notReverted } : {}),
          };
        },
      );
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
    report.peakRssMb = peakRssMb();
    return report;
  } finally {
    watch?.close();
  }
}

/**
 * The canary's steps below 100 %, when steps are configured and the other color serves alone on every
 * proxy (a first release, or a color already serving, moves at once). Throws after an abort.
 */
async function canaryFirst(
  mover: TrafficMover,
  settings: SwitchSettings,
  started: number,
): Promise<{ previous: Color; stepSeconds: number; steps: CanaryStep[] } | undefined> {
  const log = settings.log ?? (() => undefined);
  if (!settings.canary || canarySteps(settings.canary.steps).length === 0) return undefined;
  if (!mover.weigher || !mover.serving)
    throw new StepError("this switch cannot move weights step by step: configure no traffic steps", 2);
  const previous = otherColor(settings.color);
  const serving = await mover.serving();
  if (serving !== previous) {
    log(
      `no canary: ${serving === undefined ? "no single color" : serving} serves now, so ${settings.color} takes the traffic in one move`,
    );
    return undefined;
  }
  const steps = await runCanary(
    {
      plane: mover.plane,
      weigher: mover.weigher,
      color: settings.color,
      previous,
      canary: settings.canary,
      thresholds: settings.thresholds,
      release: settings.release,
      proxyUrls: mover.proxyUrls,
      env: settings.env ?? {},
      log,
    },
    (steps, abort) => ({
      step: "switch",
      activeColor: abort.revertedTo,
      revertedFrom: settings.color,
      release: settings.release,
      image: settings.image,
      proxyUrl: mover.proxyUrls[0],
      ...(mover.proxyUrls.length > 1 ? { proxyUrls: mover.proxyUrls } : {}),
      previousColor: previous,
      method: "weights",
      canary: {
        stepSeconds: settings.canary?.stepSeconds,
        steps,
        abortedAt: abort.abortedAt,
        ...(abort.inconclusive ? { inconclusive: true } : {}),
      },
      ...(abort.notReverted.length > 0 ? { notReverted: abort.notReverted } : {}),
      notified: abort.notified,
      totalMs: Date.now() - started,
      peakRssMb: peakRssMb(),
    }),
  );
  return { previous, stepSeconds: settings.canary.stepSeconds, steps };
}

/** Switches the proxy on this machine (started, reloaded or flipped as needed), warms up, guards. */
export function switchTraffic(options: SwitchOptions): Promise<SwitchReport | PreviewReport> {
  const { spec } = options;
  const socket = proxyPaths(spec.stateDir).socket;
  const local = [{ name: "local", admin: socket }];
  const fleetOptions = { checkIntervalMs: spec.checkIntervalMs, log: options.log };
  let before0: Awaited<ReturnType<typeof readFleet>> | undefined;
  const mover: TrafficMover = {
    proxyUrls: [proxyUrl(spec)],
    plane: ControlPlane.local(proxyPaths(spec.stateDir).socket, proxyUrl(spec)),
    mayStart: true,
    move: (color) => activate(spec, color, { binary: options.binary, log: options.log }),
    serving: async () => {
      if (!(await proxyAnswers(socket))) return undefined;
      const [states] = await readFleet(local, fleetOptions);
      const serving = servingColor(states);
      // The canary moves weights on the layout the release asks for: reload onto it first, same color.
      if (serving) await activate(spec, serving, { binary: options.binary, log: options.log });
      return serving;
    },
    weigher: {
      weigh: async (color, percent) => {
        const before = before0 ?? (before0 = await readFleet(local, fleetOptions));
        return weighFleet(local, color, percent, before, fleetOptions);
      },
      abort: (color) => abortFleet(local, color, fleetOptions),
    },
    preview: async (color) => {
      // A proxy that does not run yet starts with the other color, whatever serves there: users get nothing new.
      const serving = (await mover.serving?.()) ?? otherColor(color);
      await activate(spec, serving, { binary: options.binary, log: options.log });
      return previewFleet(local, color, fleetOptions);
    },
  };
  if (options.previewOnly) {
    const address = spec.previewAddress ?? "127.0.0.1";
    return previewRelease(mover, options, [`http://${address}:${spec.previewPort ?? "(no preview port)"}/`]);
  }
  return runSwitch(mover, options);
}
