// What the proxy is built from (ProxySpec) and the options every proxy-touching step (switch, guard)
// takes to describe it.
import { Command, InvalidArgumentError } from "commander";
import * as path from "path";
import { FS_PATH } from "../../schema/patterns";
import { Color } from "../../schema/types";
import { host, integer, port, urlPath } from "../options";
import { MaintenanceMode, ProxyState, colorServers } from "./config";

/** What the proxy is built from, apart from the active color. */
export interface ProxySpec {
  /** Absolute directory holding config, pidfile, admin socket, server-state file. */
  stateDir: string;
  /** TCP port on 127.0.0.1 clients connect to. */
  proxyPort: number;
  /** Address the proxy reaches the replicas at. */
  upstreamHost: string;
  /** First host port of each color; replica i listens on hostPort + i. */
  hostPorts: Record<Color, number>;
  replicas: number;
  healthPath: string;
  maintenanceMode: MaintenanceMode;
  /** UDP port on 127.0.0.1 the access log goes to; the guard listens there. */
  logPort: number;
  /** HAProxy's own health-check interval, in milliseconds. */
  checkIntervalMs: number;
}

export function proxyState(spec: ProxySpec, activeColor: Color): ProxyState {
  return {
    activeColor,
    servers: colorServers(spec.upstreamHost, spec.hostPorts, spec.replicas),
    proxyPort: spec.proxyPort,
    stateDir: spec.stateDir,
    maintenanceMode: spec.maintenanceMode,
    healthPath: spec.healthPath,
    logPort: spec.logPort,
    checkIntervalMs: spec.checkIntervalMs,
  };
}

export function proxyUrl(spec: Pick<ProxySpec, "proxyPort">): string {
  return `http://127.0.0.1:${spec.proxyPort}/`;
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
    .requiredOption("--proxy-port <port>", "port the proxy listens on (127.0.0.1)", port)
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
      "--check-interval-ms <ms>",
      "interval of HAProxy's own health checks",
      integer(100, 60_000),
      1000,
    );
}

export function proxySpecFromOptions(options: Record<string, unknown>): ProxySpec {
  const proxyPort = Number(options.proxyPort);
  return {
    stateDir: String(options.stateDir),
    proxyPort,
    upstreamHost: String(options.upstreamHost),
    hostPorts: { blue: Number(options.bluePort), green: Number(options.greenPort) },
    replicas: Number(options.replicas),
    healthPath: String(options.healthPath),
    maintenanceMode: options.maintenance as MaintenanceMode,
    logPort: options.logPort === undefined ? proxyPort : Number(options.logPort),
    checkIntervalMs: Number(options.checkIntervalMs),
  };
}
