// The HAProxy configuration as a pure function of the desired state. The active color's servers are
// enabled, the idle color's start disabled (the switch moves them to drain at once so HAProxy's own
// health checks keep running). Everything else — servers, ports, maintenance page, log target — is
// the same for both colors, so two renders that differ only in activeColor can be flipped at run
// time without a reload. Nothing listens on the network but the front: the runtime API is a mode-600
// UNIX socket, and the access log goes to a ring buffer inside HAProxy that the guard reads through
// that socket (`show events`), so no datagram from anyone else can reach the guard.
import * as path from "path";
import { FS_PATH, HOST, URL_PATH } from "../../contract/patterns";
import { COLORS, Color } from "../../schema/types";

/** Name of the ring buffer HAProxy writes its access log into; the guard reads it with `show events`. */
export const LOG_RING = "access";

/** Bytes of the ring: about 20,000 access-log lines, what a guard reading every second needs at 10k req/s. */
const LOG_RING_BYTES = 1 << 20;

/** Prefix of every access-log line the proxy config asks for. */
export const LOG_TAG = "GL";

/** The log-format the proxy config uses; the guard's parseLogLine reads exactly this. */
export const LOG_FORMAT = `${LOG_TAG} %ST %Ta %s %tsc %HM`;

/** The unprivileged user and group HAProxy's workers run as when the proxy starts as root (nobody). */
export const UNPRIVILEGED_ID = 65534;

/** The backend every color's servers live in; runtime commands address servers as app/<name>. */
export const BACKEND = "app";

/** The backend behind the preview front: the not-yet-promoted color's servers, set ready at run time. */
export const PREVIEW_BACKEND = "preview";

/** The cookie that keeps a client on the server (and so the color) it reached while both colors serve. */
export const STICKY_COOKIE = "GL_COLOR";

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
  /** Absolute directory for the config, pidfile, admin socket and server-state file. */
  stateDir: string;
  maintenanceMode: MaintenanceMode;
  /** Path HAProxy's own health checks request on every server. */
  healthPath: string;
  /** Write the access log into the LOG_RING ring buffer (default true). */
  accessLog?: boolean;
  /**
   * Run HAProxy's workers (which parse every request) as UNPRIVILEGED_ID: for a proxy started as root,
   * which keeps only the master root, to bind the front's port.
   */
  dropPrivileges?: boolean;
  /** Run in the foreground under the master-worker (`haproxy -W -db`), as a container does. */
  foreground?: boolean;
  /** Interval of HAProxy's health checks, in milliseconds (default 1000). */
  checkIntervalMs?: number;
  /**
   * A second front serving only the previewed color (PREVIEW_BACKEND), on the host's private or loopback
   * address: never the public listen address. Its requests are not logged, so no guard counts them.
   */
  preview?: { address: string; port: number };
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
  if (state.listenAddress !== undefined && !HOST.test(state.listenAddress)) {
    throw new Error(
      `listenAddress ${JSON.stringify(state.listenAddress)} is not a host name or IPv4 address`,
    );
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
  if (state.preview) validatePreview(state.preview, state.listenAddress ?? "127.0.0.1", state.proxyPort);
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

/** Loopback, or a private (RFC 1918) IPv4 address: where a preview may listen. */
export function isPrivateOrLoopback(address: string): boolean {
  return /^(127\.\d+\.\d+\.\d+|10\.\d+\.\d+\.\d+|192\.168\.\d+\.\d+|172\.(1[6-9]|2\d|3[01])\.\d+\.\d+)$/.test(
    address,
  );
}

function validatePreview(
  preview: { address: string; port: number },
  listen: string,
  proxyPort: number,
): void {
  checkPort("preview port", preview.port);
  if (!isPrivateOrLoopback(preview.address)) {
    throw new Error(
      `preview address ${JSON.stringify(preview.address)} is not a loopback or private address: the preview front never listens where users arrive; use 127.0.0.1 or the host's private address`,
    );
  }
  if (listen === "0.0.0.0" || (listen === preview.address && !preview.address.startsWith("127."))) {
    throw new Error(
      `preview address ${preview.address} is reached through the public listen address ${listen}: make the proxy listen on its public address only, or preview on 127.0.0.1`,
    );
  }
  if (preview.address === listen && preview.port === proxyPort)
    throw new Error(`preview port ${preview.port} is the proxy's own port: pick another port`);
}

const MAINTENANCE_PAGE =
  "<!doctype html><title>Maintenance</title><h1>Down for maintenance</h1><p>We will be back shortly.</p>";
const READ_ONLY_MESSAGE = "Read-only maintenance: changes are paused for a few minutes, please retry later.";

/** HAProxy configuration text for the desired state. */
export function renderHaproxyConfig(state: ProxyState): string {
  validateProxyState(state);
  const paths = proxyPaths(state.stateDir);
  const checkInterval = state.checkIntervalMs ?? 1000;
  const accessLog = state.accessLog ?? true;
  const lines = [
    `# Generated by greenlight: do not edit; the switch renders, validates (haproxy -c) and replaces it.`,
    `# active color: ${state.activeColor}`,
    "global",
    ...(state.foreground ? [] : ["  daemon"]),
    `  pidfile ${paths.pidFile}`,
    `  stats socket ${paths.socket} mode 600 level admin expose-fd listeners`,
    ...(state.dropPrivileges ? [`  uid ${UNPRIVILEGED_ID}`, `  gid ${UNPRIVILEGED_ID}`] : []),
    `  server-state-file ${paths.stateFile}`,
    "  maxconn 4096",
    "  hard-stop-after 30s",
    ...(accessLog ? [`  log ring@${LOG_RING} len 1024 format raw local0`] : []),
    "",
    ...(accessLog
      ? [`ring ${LOG_RING}`, "  format raw", "  maxlen 1024", `  size ${LOG_RING_BYTES}`, ""]
      : []),
    "defaults",
    "  mode http",
    ...(accessLog ? ["  log global"] : []),
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
    ...(accessLog ? [`  log-format "${LOG_FORMAT}"`] : []),
    ...maintenanceRules(state.maintenanceMode),
    `  default_backend ${BACKEND}`,
    "",
    `backend ${BACKEND}`,
    "  balance roundrobin",
    "  http-reuse safe",
    `  option httpchk GET ${state.healthPath}`,
    "  http-check expect status 200",
    `  default-server check inter ${checkInterval}ms fall 2 rise 2 init-addr libc`,
    ...stickiness(state.servers),
    ...state.servers.map(
      (server) =>
        `  server ${server.name} ${server.host}:${server.port} cookie ${server.name}${server.color === state.activeColor ? "" : " disabled"}`,
    ),
    "",
    ...(state.preview ? previewSection(state, checkInterval) : []),
  ];
  return lines.join("\n");
}

/**
 * Sticky sessions: a client keeps the server its cookie names while that server has a weight; a drained
 * server (weight 0, flip.ts) or a canary's aborted color (weight 0) no longer holds its clients, which go
 * where the weights send them. A client without the cookie is weighted.
 */
function stickiness(servers: ProxyServer[]): string[] {
  return [
    `  cookie ${STICKY_COOKIE} insert indirect nocache`,
    ...servers.map(
      (server) =>
        `  ignore-persist if { req.cook(${STICKY_COOKIE}) -m str ${server.name} } { srv_weight(${BACKEND}/${server.name}) eq 0 }`,
    ),
  ];
}

/** The preview front and its backend: every server starts in maintenance until a preview readies a color. */
function previewSection(state: ProxyState, checkInterval: number): string[] {
  const preview = state.preview as { address: string; port: number };
  return [
    `frontend ${PREVIEW_BACKEND}`,
    `  bind ${preview.address}:${preview.port}`,
    "  no log",
    `  default_backend ${PREVIEW_BACKEND}`,
    "",
    `backend ${PREVIEW_BACKEND}`,
    "  balance roundrobin",
    `  option httpchk GET ${state.healthPath}`,
    "  http-check expect status 200",
    `  default-server check inter ${checkInterval}ms fall 2 rise 2 init-addr libc`,
    ...state.servers.map((server) => `  server ${server.name} ${server.host}:${server.port} disabled`),
    "",
  ];
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
