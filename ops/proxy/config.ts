// The HAProxy configuration as a pure function of the desired state. The active color's servers are
// enabled, the idle color's start disabled (the switch moves them to drain at once so HAProxy's own
// health checks keep running). Everything else — servers, ports, maintenance page, log target — is
// the same for both colors, so two renders that differ only in activeColor can be flipped at run
// time without a reload.
import * as path from "path";
import { FS_PATH, HOST, URL_PATH } from "../../contract/patterns";
import { COLORS, Color } from "../../schema/types";
import { LOG_FORMAT } from "../guard/requests";

/** The backend every color's servers live in; runtime commands address servers as app/<name>. */
export const BACKEND = "app";

export type MaintenanceMode = "off" | "on" | "read-only";

/** One app replica the proxy sends requests to. */
export interface ProxyServer {
  /** "<color>-<replica>", e.g. green-0. */
  name: string;
  color: Color;
  host: string;
  port: number;
}

/** Everything the proxy configuration depends on. */
export interface ProxyState {
  activeColor: Color;
  /** Replicas of both colors. */
  servers: ProxyServer[];
  /** TCP port the proxy listens on. */
  proxyPort: number;
  /** Address the proxy listens on (default 127.0.0.1; 0.0.0.0 for every address of the host). */
  listenAddress?: string;
  /**
   * The runtime API on TCP, for a coordinator on another host: bound to this host's private address
   * (firewalled to the hosts only). None: the UNIX socket in the state directory only.
   */
  adminTcp?: { address: string; port: number };
  /** Absolute directory for the config, pidfile, admin socket and server-state file. */
  stateDir: string;
  maintenanceMode: MaintenanceMode;
  /** Path HAProxy's own health checks request on every server. */
  healthPath: string;
  /** UDP port the access log goes to (the guard listens there); none: no access log. */
  logPort?: number;
  /** Address the access log goes to (default 127.0.0.1): the host the guard runs on. */
  logAddress?: string;
  /** Run in the foreground under the master-worker (`haproxy -W -db`), as a container does. */
  foreground?: boolean;
  /** Interval of HAProxy's health checks, in milliseconds (default 1000). */
  checkIntervalMs?: number;
}

/** Files of one proxy, all inside the state directory. */
export interface ProxyPaths {
  config: string;
  pidFile: string;
  socket: string;
  stateFile: string;
}

/** UNIX socket paths longer than this do not fit in sockaddr_un. */
const MAX_SOCKET_PATH = 104;

export function proxyPaths(stateDir: string): ProxyPaths {
  return {
    config: path.join(stateDir, "haproxy.cfg"),
    pidFile: path.join(stateDir, "haproxy.pid"),
    socket: path.join(stateDir, "haproxy.sock"),
    stateFile: path.join(stateDir, "haproxy.state"),
  };
}

export function serverName(color: Color, replica: number): string {
  return `${color}-${replica}`;
}

/** The servers of both colors: replica i of a color at host:hostPort+i. */
export function colorServers(
  host: string,
  hostPorts: Record<Color, number>,
  replicas: number,
): ProxyServer[] {
  return COLORS.flatMap((color) =>
    Array.from({ length: replicas }, (_, replica) => ({
      name: serverName(color, replica),
      color,
      host,
      port: hostPorts[color] + replica,
    })),
  );
}

function checkPort(what: string, port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`${what} ${port} is not a TCP/UDP port: use a whole number from 1 to 65535`);
  }
}

/** Throws naming the first bad field; run before rendering so no bad value reaches the file. */
export function validateProxyState(state: ProxyState): void {
  if (!COLORS.includes(state.activeColor)) {
    throw new Error(`activeColor ${JSON.stringify(state.activeColor)} is not a color: use blue or green`);
  }
  checkPort("proxyPort", state.proxyPort);
  if (state.logPort !== undefined) checkPort("logPort", state.logPort);
  for (const [what, address] of [
    ["listenAddress", state.listenAddress],
    ["adminTcp.address", state.adminTcp?.address],
    ["logAddress", state.logAddress],
  ] as const) {
    if (address !== undefined && !HOST.test(address)) {
      throw new Error(`${what} ${JSON.stringify(address)} is not a host name or IPv4 address`);
    }
  }
  if (state.adminTcp) {
    checkPort("adminTcp.port", state.adminTcp.port);
    if (state.adminTcp.port === state.proxyPort) {
      throw new Error(`adminTcp.port ${state.adminTcp.port} is the proxy's own port: pick another port`);
    }
  }
  if (!path.isAbsolute(state.stateDir) || !FS_PATH.test(state.stateDir)) {
    throw new Error(
      `stateDir ${JSON.stringify(state.stateDir)} must be an absolute path of letters, digits and . _ - /`,
    );
  }
  if (proxyPaths(state.stateDir).socket.length > MAX_SOCKET_PATH) {
    throw new Error(
      `stateDir ${state.stateDir} is too long for the admin socket path (at most ${MAX_SOCKET_PATH - 13} characters): choose a shorter greenlight:stateDir`,
    );
  }
  if (!["off", "on", "read-only"].includes(state.maintenanceMode)) {
    throw new Error(`maintenanceMode ${JSON.stringify(state.maintenanceMode)} is not off, on or read-only`);
  }
  if (!URL_PATH.test(state.healthPath)) {
    throw new Error(`healthPath ${JSON.stringify(state.healthPath)} is not an absolute URL path`);
  }
  for (const color of COLORS) {
    if (!state.servers.some((server) => server.color === color)) {
      throw new Error(`no ${color} server: the proxy needs the replicas of both colors`);
    }
  }
  const names = new Set<string>();
  const addresses = new Map<string, string>();
  for (const server of state.servers) {
    if (!/^(blue|green)-\d{1,2}$/.test(server.name) || !server.name.startsWith(`${server.color}-`)) {
      throw new Error(`server name ${JSON.stringify(server.name)} must be <color>-<replica>, e.g. green-0`);
    }
    if (!HOST.test(server.host)) {
      throw new Error(
        `server ${server.name} host ${JSON.stringify(server.host)} is not a host name or IPv4 address`,
      );
    }
    checkPort(`server ${server.name} port`, server.port);
    if (names.has(server.name)) throw new Error(`server ${server.name} is listed twice`);
    names.add(server.name);
    const address = `${server.host}:${server.port}`;
    const clash = addresses.get(address);
    if (clash) {
      throw new Error(
        `servers ${clash} and ${server.name} both use ${address}: give the colors separate ports`,
      );
    }
    addresses.set(address, server.name);
    const listen = state.listenAddress ?? "127.0.0.1";
    if ((server.host === listen || listen === "0.0.0.0") && server.port === state.proxyPort) {
      throw new Error(
        `server ${server.name} uses the proxy's own port ${state.proxyPort}: pick another port`,
      );
    }
  }
}

const MAINTENANCE_PAGE =
  "<!doctype html><title>Maintenance</title><h1>Down for maintenance</h1><p>We will be back shortly.</p>";
const READ_ONLY_MESSAGE = "Read-only maintenance: changes are paused for a few minutes, please retry later.";

/** HAProxy configuration text for the desired state. */
export function renderHaproxyConfig(state: ProxyState): string {
  validateProxyState(state);
  const paths = proxyPaths(state.stateDir);
  const checkInterval = state.checkIntervalMs ?? 1000;
  const lines = [
    `# Generated by greenlight: do not edit; the switch renders, validates (haproxy -c) and replaces it.`,
    `# active color: ${state.activeColor}`,
    "global",
    ...(state.foreground ? [] : ["  daemon"]),
    `  pidfile ${paths.pidFile}`,
    `  stats socket ${paths.socket} mode 600 level admin expose-fd listeners`,
    ...(state.adminTcp
      ? [`  stats socket ipv4@${state.adminTcp.address}:${state.adminTcp.port} level admin`]
      : []),
    `  server-state-file ${paths.stateFile}`,
    "  maxconn 4096",
    "  hard-stop-after 30s",
    ...(state.logPort !== undefined
      ? [`  log ${state.logAddress ?? "127.0.0.1"}:${state.logPort} len 1024 format raw local0`]
      : []),
    "",
    "defaults",
    "  mode http",
    ...(state.logPort !== undefined ? ["  log global"] : []),
    "  option http-keep-alive",
    "  option redispatch 1",
    "  retries 3",
    "  timeout connect 2s",
    "  timeout client 65s",
    "  timeout server 65s",
    "  timeout http-request 10s",
    "  timeout http-keep-alive 60s",
    "  load-server-state-from-file global",
    "",
    "frontend web",
    `  bind ${state.listenAddress ?? "127.0.0.1"}:${state.proxyPort}`,
    ...(state.logPort !== undefined ? [`  log-format "${LOG_FORMAT}"`] : []),
    ...maintenanceRules(state.maintenanceMode),
    `  default_backend ${BACKEND}`,
    "",
    `backend ${BACKEND}`,
    "  balance roundrobin",
    "  http-reuse safe",
    `  option httpchk GET ${state.healthPath}`,
    "  http-check expect status 200",
    `  default-server check inter ${checkInterval}ms fall 2 rise 2 init-addr libc`,
    ...state.servers.map(
      (server) =>
        `  server ${server.name} ${server.host}:${server.port}${server.color === state.activeColor ? "" : " disabled"}`,
    ),
    "",
  ];
  return lines.join("\n");
}

function maintenanceRules(mode: MaintenanceMode): string[] {
  switch (mode) {
    case "on":
      return [
        `  http-request return status 503 content-type "text/html" string "${MAINTENANCE_PAGE}" hdr retry-after 300`,
      ];
    case "read-only":
      // METH_GET matches GET and HEAD; everything else would change data.
      return [
        `  http-request return status 503 content-type "text/plain" string "${READ_ONLY_MESSAGE}" hdr retry-after 300 if !METH_GET`,
      ];
    default:
      return [];
  }
}

/** The active color a rendered config says (its header), or undefined for any other file. */
export function activeColorOfConfig(text: string): Color | undefined {
  const match = /^# active color: (blue|green)$/m.exec(text);
  return match ? (match[1] as Color) : undefined;
}
