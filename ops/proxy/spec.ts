// What the proxy is built from (ProxySpec), and where clients reach it. The options every
// proxy-touching step (proxy, switch, guard) takes to describe it are in cli.ts.
import { Color } from "../../schema/types";
import { MaintenanceMode, ProxyState, colorServers } from "./config";

/** What the proxy is built from, apart from the active color. */
export interface ProxySpec {
  /** Absolute directory holding config, pidfile, admin socket, server-state file. */
  stateDir: string;
  /** TCP port clients connect to. */
  proxyPort: number;
  /** Address the proxy listens on (default 127.0.0.1; 0.0.0.0: every address of the host). */
  listenAddress?: string;
  /** Address the proxy reaches the replicas at. */
  upstreamHost: string;
  /** First host port of each color; replica i listens on hostPort + i. */
  hostPorts: Record<Color, number>;
  replicas: number;
  healthPath: string;
  maintenanceMode: MaintenanceMode;
  /** HAProxy's own health-check interval, in milliseconds. */
  checkIntervalMs: number;
  /** The preview front's port (none: no preview front). */
  previewPort?: number;
  /** Address of the preview front: loopback or the host's private address (default 127.0.0.1). */
  previewAddress?: string;
}

export function proxyState(spec: ProxySpec, activeColor: Color): ProxyState {
  return {
    activeColor,
    servers: colorServers(spec.upstreamHost, spec.hostPorts, spec.replicas),
    proxyPort: spec.proxyPort,
    listenAddress: spec.listenAddress,
    stateDir: spec.stateDir,
    maintenanceMode: spec.maintenanceMode,
    healthPath: spec.healthPath,
    checkIntervalMs: spec.checkIntervalMs,
    ...(spec.previewPort !== undefined
      ? { preview: { address: spec.previewAddress ?? "127.0.0.1", port: spec.previewPort } }
      : {}),
  };
}

/** Where a client on this host reaches the proxy (0.0.0.0 listens on loopback too). */
export function proxyUrl(spec: Pick<ProxySpec, "proxyPort" | "listenAddress">): string {
  const address =
    spec.listenAddress === undefined || spec.listenAddress === "0.0.0.0" ? "127.0.0.1" : spec.listenAddress;
  return `http://${address}:${spec.proxyPort}/`;
}
