// The traffic switch (the blue-green deployment procedures: "switch traffic, monitor, roll back above 5 %"): points the proxy at the
// target color without dropping a request, warms caches through the proxy (the production rollout checklist), then lets the
// guard watch the new color and flips back on a breach — exiting non-zero so `pulumi up` fails and the
// stack's recorded state still says the old color.
import { Color, otherColor } from "../../schema/types";
import { ControlPlane } from "../control";
import { GuardWatch, guardRelease } from "../guard";
import { StepError } from "../lib/step";
import { notifyFromStep } from "../notify";
import {
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
import { CanaryStep, canarySteps, runCanary } from "./canary";

import { SwitchOptions, SwitchReport, SwitchSettings, TrafficMover, WarmupResult } from "./types";

export { SwitchOptions, SwitchReport, SwitchSettings, TrafficMover } from "./types";

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
