// What the proxy is built from (ProxySpec) and the options every proxy-touching step (switch, guard)
// takes to describe it.
import { Command, InvalidArgumentError } from "commander";
import * as path from "path";
import { FS_PATH } from "../../contract/patterns";
import { Color } from "../../schema/types";
import { host, integer, port, urlPath } from "../lib/options";
import { StepError } from "../lib/step";
import { MaintenanceMode, ProxyState, colorServers } from "./config";

/** What the proxy is built from, apart from the active color. */
export interface ProxySpec {
  /** Absolute directory holding config, pidfile, admin socket, server-state file. */
  stateDir: string;
  /** TCP port clients connect to. */
  proxyPort: number;
  /** Address the proxy listens on (default 127.0.0.1; 0.0.0.0: every address of the host). */
  listenAddress?: string;
  /** The runtime API on TCP at this host's private address, for a coordinator on another host. */
  adminTcp?: { address: string; port: number };
  /** Address the proxy reaches the replicas at. */
  upstreamHost: string;
  /** First host port of each color; replica i listens on hostPort + i. */
  hostPorts: Record<Color, number>;
  replicas: number;
  healthPath: string;
  maintenanceMode: MaintenanceMode;
  /** UDP port the access log goes to; the guard listens there. */
  logPort: number;
  /** Address the access log goes to (default 127.0.0.1): where the guard runs. */
  logAddress?: string;
  /** HAProxy's own health-check interval, in milliseconds. */
  checkIntervalMs: number;
}

export function proxyState(spec: ProxySpec, activeColor: Color): ProxyState {
  return {
    activeColor,
    servers: colorServers(spec.upstreamHost, spec.hostPorts, spec.replicas),
    proxyPort: spec.proxyPort,
    listenAddress: spec.listenAddress,
    adminTcp: spec.adminTcp,
    stateDir: spec.stateDir,
    maintenanceMode: spec.maintenanceMode,
    healthPath: spec.healthPath,
    logPort: spec.logPort,
    logAddress: spec.logAddress,
    checkIntervalMs: spec.checkIntervalMs,
  };
}

/** Where a client on this host reaches the proxy (0.0.0.0 listens on loopback too). */
export function proxyUrl(spec: Pick<ProxySpec, "proxyPort" | "listenAddress">): string {
  const address =
    spec.listenAddress === undefined || spec.listenAddress === "0.0.0.0" ? "127.0.0.1" : spec.listenAddress;
  return `http://${address}:${spec.proxyPort}/`;
}

function stateDir(value: string): string {
  if (!FS_PATH.test(value)) throw new InvalidArgumentError("expected a path of letters, digits and . _ - /");
  return path.resolve(value);
}

function maintenance(value: string): MaintenanceMode {
  if (!["off", "on", "read-only"].includes(value))
    throw new InvalidArgumentError("expected off, on or read-only");
  return value as MaintenanceMode;
}

/** The options every proxy-touching step (switch, guard) takes. */
export function addProxyOptions(command: Command): Command {
  return command
    .requiredOption(
      "--state-dir <dir>",
      "directory for the proxy's config, socket, pidfile and state file",
      stateDir,
    )
    .requiredOption("--proxy-port <port>", "port the proxy listens on", port)
    .option(
      "--listen-address <address>",
      "address the proxy listens on (0.0.0.0: every address of the host)",
      host,
      "127.0.0.1",
    )
    .requiredOption("--blue-port <port>", "host port of blue replica 0", port)
    .requiredOption("--green-port <port>", "host port of green replica 0", port)
    .option("--replicas <n>", "replicas per color", integer(1, 16), 1)
    .option("--upstream-host <host>", "address the proxy reaches the replicas at", host, "127.0.0.1")
    .option("--health-path <path>", "path of HAProxy's own health checks", urlPath, "/health")
    .option(
      "--maintenance <mode>",
      "off, on (503 page) or read-only (only GET and HEAD pass)",
      maintenance,
      "off",
    )
    .option("--log-port <port>", "UDP port of the access log the guard reads (default: the proxy port)", port)
    .option(
      "--log-address <address>",
      "address the access log is sent to: where the guard runs",
      host,
      "127.0.0.1",
    )
    .option(
      "--admin-address <address>",
      "also serve the runtime API on TCP at this (private, firewalled) address, for a coordinator on another host",
      host,
    )
    .option("--admin-port <port>", "TCP port of the runtime API with --admin-address", port)
    .option(
      "--check-interval-ms <ms>",
      "interval of HAProxy's own health checks",
      integer(100, 60_000),
      1000,
    );
}

export function proxySpecFromOptions(options: Record<string, unknown>): ProxySpec {
  const proxyPort = Number(options.proxyPort);
  if ((options.adminAddress === undefined) !== (options.adminPort === undefined)) {
    throw new StepError("--admin-address and --admin-port go together: give both or neither", 2);
  }
  return {
    stateDir: String(options.stateDir),
    proxyPort,
    listenAddress: String(options.listenAddress),
    adminTcp:
      options.adminAddress === undefined
        ? undefined
        : { address: String(options.adminAddress), port: Number(options.adminPort) },
    logAddress: String(options.logAddress),
    upstreamHost: String(options.upstreamHost),
    hostPorts: { blue: Number(options.bluePort), green: Number(options.greenPort) },
    replicas: Number(options.replicas),
    healthPath: String(options.healthPath),
    maintenanceMode: options.maintenance as MaintenanceMode,
    logPort: options.logPort === undefined ? proxyPort : Number(options.logPort),
    checkIntervalMs: Number(options.checkIntervalMs),
  };
}
