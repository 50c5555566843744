// The switch across hosts (issue 12): one coordinator, run on the first host, moves every host's proxy
// through its runtime API on TCP (`stats socket ipv4@<private address>:<admin port> level admin`),
// all or nothing (proxy/fleet.ts), warms every front up, and guards the new color on the access logs
// every proxy sends to the coordinator's address; a breach moves every host back.
import { InvalidArgumentError } from "commander";
import { HOST, HOST_NAME } from "../../contract/patterns";
import { Color } from "../../schema/types";
import { ProxyTarget, moveFleet, revertFleet } from "../proxy/fleet";
import { tcpAdmin } from "../proxy/runtime";
import { port } from "../lib/options";
import { SwitchReport, SwitchSettings, TrafficMover, runSwitch } from ".";

/** One host as the coordinator reaches it: name, private address, admin port when not the common one. */
export interface HostEntry {
  name: string;
  address: string;
  adminPort?: number;
}

/** Parses `<name>=<address>[:<admin port>]`. */
export function parseHostEntry(value: string): HostEntry {
  const match = /^([^=]+)=([^:]+)(?::(\d{1,5}))?$/.exec(value);
  if (!match || !HOST_NAME.test(match[1]) || !HOST.test(match[2])) {
    throw new InvalidArgumentError(
      "expected <name>=<private address>[:<admin port>], e.g. web-1=10.0.0.11 (name: a lower-case letter, then lower-case letters, digits and -)",
    );
  }
  const adminPort = match[3] === undefined ? undefined : port(match[3]);
  return { name: match[1], address: match[2], ...(adminPort === undefined ? {} : { adminPort }) };
}

export interface HostsSwitchOptions extends SwitchSettings {
  hosts: HostEntry[];
  /** Admin port of every host's runtime API, unless the host entry names its own. */
  adminPort: number;
  /** Port every host's proxy listens on, reached at the host's address for the warm-up. */
  proxyPort: number;
  /** Where every proxy sends its access log: this (the coordinator's) host's private address. */
  logAddress: string;
  logPort: number;
  checkIntervalMs: number;
}

export function proxyTargets(hosts: HostEntry[], adminPort: number): ProxyTarget[] {
  return hosts.map((entry) => ({
    name: entry.name,
    admin: tcpAdmin(entry.address, entry.adminPort ?? adminPort),
  }));
}

/** Switches every host's proxy, warms every front up, guards; a breach reverts every host. */
export function switchHosts(options: HostsSwitchOptions): Promise<SwitchReport> {
  const targets = proxyTargets(options.hosts, options.adminPort);
  const mover: TrafficMover = {
    proxyUrls: options.hosts.map((entry) => `http://${entry.address}:${options.proxyPort}/`),
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
        hosts: fleet.hosts,
      };
    },
  };
  mover.revert = (target: Color) =>
    revertFleet(targets, target, { checkIntervalMs: options.checkIntervalMs, log: options.log });
  return runSwitch(mover, options, { address: options.logAddress, port: options.logPort });
}
