// The switch across hosts: one coordinator, run where `pulumi up` runs, opens the control plane — an SSH
// connection to every host (its key pinned) with the relay started in each proxy container — before
// anything moves; then moves every host's proxy through it, all or nothing (proxy/fleet.ts), warms every
// front up, and guards the new color on every proxy's access-log ring; a breach moves every host back.
import { Color } from "../../schema/types";
import { ControlPlane, OpenOptions, SshAuth, SshHost } from "../control";
import { moveFleet, revertFleet } from "../proxy";
import { SwitchReport, SwitchSettings, TrafficMover, runSwitch } from ".";

export interface HostsSwitchOptions extends SwitchSettings {
  hosts: SshHost[];
  /** The proxy container on every host (greenlight-proxy-<app>-<stack>): the relay runs in it. */
  container: string;
  auth: SshAuth;
  /** Port every host's proxy listens on (reported: where clients reach each front). */
  proxyPort: number;
  checkIntervalMs: number;
  /** How each proxy is reached (default auto: the forwarded admin socket where sshd allows it, else the relay). */
  via?: OpenOptions["via"];
}

/** Switches every host's proxy, warms every front up, guards; a breach reverts every host. */
export async function switchHosts(options: HostsSwitchOptions): Promise<SwitchReport> {
  // How long this process took to get here (node, the CLI's modules): part of every switch's latency.
  const bootMs = Math.round(process.uptime() * 1000);
  const opening = Date.now();
  const plane = await ControlPlane.open(options.hosts, {
    container: options.container,
    auth: options.auth,
    via: options.via,
  });
  const openMs = Date.now() - opening;
  try {
    options.log?.(
      `control channels open and answering (${openMs} ms): ${plane.opened.map((opened) => `${opened.host} via ${opened.via}${opened.socketRefused ? ` (socket refused: ${opened.socketRefused})` : ""}`).join(", ")}`,
    );
    const targets = plane.channels.map((channel) => ({ name: channel.host, admin: channel }));
    const mover: TrafficMover = {
      proxyUrls: options.hosts.map((host) => `http://${host.address}:${options.proxyPort}/`),
      plane,
      move: async (target: Color) => {
        const fleet = await moveFleet(targets, target, {
          checkIntervalMs: options.checkIntervalMs,
          log: options.log,
        });
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
          openMs,
          bootMs,
          channels: plane.opened,
          hosts: fleet.hosts,
        };
      },
      revert: (target: Color) =>
        revertFleet(targets, target, { checkIntervalMs: options.checkIntervalMs, log: options.log }),
    };
    return await runSwitch(mover, options);
  } finally {
    await plane.close();
  }
}
