// The switch across hosts: one coordinator, run where `pulumi up` runs, opens the control plane — an SSH
// connection to every host (its key pinned) with the relay started in each proxy container — before
// anything moves; then moves every host's proxy through it, all or nothing (proxy/fleet.ts), warms every
// front up, and guards the new color on every proxy's access-log ring; a breach moves every host back.
import { Color } from "../../schema/types";
import { ControlPlane, OpenOptions, SshAuth, SshHost } from "../control";
import {
  abortFleet,
  moveFleet,
  previewFleet,
  readFleet,
  revertFleet,
  servingColor,
  weighFleet,
} from "../proxy";
import { PreviewReport, previewRelease } from "./preview";
import type { ServerState } from "../proxy/runtime";
import { SwitchReport, SwitchSettings, TrafficMover, runSwitch } from ".";

export interface HostsSwitchOptions extends SwitchSettings {
  hosts: SshHost[];
  /** The proxy container on every host (greenlight-proxy-<app>-<stack>): the relay runs in it. */
  container: string;
  auth: SshAuth;
  /** Port every host's proxy listens on (reported: where clients reach each front). */
  proxyPort: number;
  checkIntervalMs: number;
  /** The preview front's port on every host (reported). */
  previewPort?: number;
  /** How each proxy is reached (default auto: the forwarded admin socket where sshd allows it, else the relay). */
  via?: OpenOptions["via"];
  /** TCP connections the command line opened to the hosts before loading the switch. */
  early?: OpenOptions["early"];
}

/**
 * How the switch moves every host's proxy through an open control plane: all or nothing per move and
 * per canary step, best effort per host for a revert or an abort.
 */
export function fleetMover(
  plane: ControlPlane,
  proxyUrls: string[],
  options: {
    checkIntervalMs: number;
    openMs?: number;
    /** How long the coordinator took to start (node, the CLI's modules): part of every switch's latency. */
    bootMs?: number;
    log?: (message: string) => void;
  },
): TrafficMover {
  const targets = plane.channels.map((channel) => ({ name: channel.host, admin: channel }));
  const fleetOptions = { checkIntervalMs: options.checkIntervalMs, log: options.log };
  let beforeRollout: ServerState[][] | undefined;
  return {
    proxyUrls,
    plane,
    move: async (target: Color) => {
      const fleet = await moveFleet(targets, target, fleetOptions);
      const moved = fleet.hosts.some((entry) => entry.moved);
      options.log?.(
        moved
          ? `${target} serves on every host (${fleet.hosts.map((entry) => entry.host).join(", ")}) after ${fleet.runtimeMs} ms of runtime commands`
          : `${target} already served on every host`,
      );
      return {
        method: moved ? "flip" : "unchanged",
        previousColor: fleet.previousColor,
        runtimeMs: fleet.runtimeMs,
        preflightMs: fleet.preflightMs,
        mixedMs: fleet.mixedMs,
        ...(options.openMs !== undefined ? { openMs: options.openMs } : {}),
        ...(options.bootMs !== undefined ? { bootMs: options.bootMs } : {}),
        channels: plane.opened,
        hosts: fleet.hosts,
      };
    },
    revert: (target: Color) => revertFleet(targets, target, fleetOptions),
    serving: async () => {
      const colors = (await readFleet(targets, fleetOptions)).map((states) => servingColor(states));
      return colors.every((color) => color === colors[0]) ? colors[0] : undefined;
    },
    weigher: {
      weigh: async (target: Color, percent: number) => {
        const before = beforeRollout ?? (beforeRollout = await readFleet(targets, fleetOptions));
        return weighFleet(targets, target, percent, before, fleetOptions);
      },
      abort: (target: Color) => abortFleet(targets, target, fleetOptions),
    },
    preview: (target: Color) => previewFleet(targets, target, fleetOptions),
  };
}

/** Switches every host's proxy, warms every front up, guards; a breach reverts every host. */
export async function switchHosts(options: HostsSwitchOptions): Promise<SwitchReport | PreviewReport> {
  // How long this process took to get here (node, the CLI's modules): part of every switch's latency.
  const bootMs = Math.round(process.uptime() * 1000);
  const opening = Date.now();
  const plane = await ControlPlane.open(options.hosts, {
    container: options.container,
    auth: options.auth,
    via: options.via,
    early: options.early,
  });
  const openMs = Date.now() - opening;
  try {
    options.log?.(
      `control channels open and answering (${openMs} ms): ${plane.opened.map((opened) => `${opened.host} via ${opened.via}${opened.socketRefused ? ` (socket refused: ${opened.socketRefused})` : ""}`).join(", ")}`,
    );
    const proxyUrls = options.hosts.map((host) => `http://${host.address}:${options.proxyPort}/`);
    const mover = fleetMover(plane, proxyUrls, {
      checkIntervalMs: options.checkIntervalMs,
      openMs,
      bootMs,
      log: options.log,
    });
    if (options.previewOnly) {
      // Each host's preview front listens on that host's private or loopback address, not where SSH reaches it.
      const previewUrls = options.hosts.map(
        (host) => `${host.name}: preview port ${options.previewPort ?? "(none)"}`,
      );
      return await previewRelease(mover, options, previewUrls);
    }
    return await runSwitch(mover, options);
  } finally {
    await plane.close();
  }
}
