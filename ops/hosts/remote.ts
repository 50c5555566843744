// The commands the program runs on a host (remote.Command over SSH, or a docker.Container there), as
// pure functions of their settings: the proxy container's command, and `docker run` of the ops image
// for a step. Secrets are never in these strings: a step's variables reach the SSH session as
// `environment` (sshd must AcceptEnv them: @pulumi/command 1.x sends each with session.Setenv and fails
// the command when sshd refuses one, provider/pkg/provider/remote/commandOutputs.go in
// github.com/pulumi/pulumi-command), and `docker run -e NAME` passes each on by name only.
import { ENV_NAME, isSecretEnvName } from "../../contract/patterns";
import { shellQuote } from "../../contract/shell";
import { Color } from "../../schema/types";

/** Where the proxy container keeps its config, sockets and server-state file (the state volume). */
export const PROXY_STATE_MOUNT = "/var/lib/greenlight";
export const PROXY_STATE_DIR = `${PROXY_STATE_MOUNT}/proxy`;
/** The admin socket inside the state volume (ops/proxy/config.ts names it haproxy.sock in the state dir). */
export const PROXY_ADMIN_SOCKET_IN_VOLUME = "/proxy/haproxy.sock";

/** The proxy container (and its state volume) of an app and stack on a host. */
export function proxyContainerName(app: string, stack: string): string {
  return `greenlight-proxy-${app}-${stack}`;
}

/** A flag's value: a list repeats the flag, true is a bare flag, undefined/false leave it out. */
export type FlagValue = string | number | boolean | undefined | readonly (string | number)[];

/** `--name value …` words, in the given order. */
export function flagWords(flags: Record<string, FlagValue>): string[] {
  const words: string[] = [];
  for (const [flag, value] of Object.entries(flags)) {
    if (!/^[a-z][a-z0-9-]*$/.test(flag)) throw new Error(`flag ${JSON.stringify(flag)} is not a flag name`);
    if (value === undefined || value === false) continue;
    if (value === true) words.push(`--${flag}`);
    else for (const item of Array.isArray(value) ? value : [value]) words.push(`--${flag}`, String(item));
  }
  return words;
}

/** One host's proxy: how it listens and where its replicas are (its runtime API is a UNIX socket only). */
export interface HostProxySettings {
  /** Address clients (DNS, the load balancer) reach the proxy at; 0.0.0.0 for every address. */
  listenAddress: string;
  proxyPort: number;
  /** Address this host's replicas answer at (127.0.0.1 with host-network replicas). */
  upstreamHost: string;
  /** First host port of each color on this host; replica i on port + i. */
  hostPorts: Record<Color, number>;
  /** Replicas of each color on this host. */
  replicas: number;
  healthPath: string;
  checkIntervalMs: number;
  maintenance: "off" | "on" | "read-only";
  /** The preview front on the host's private address (none: no preview front). */
  preview?: { address: string; port: number };
}

/** The proxy container's command (after the image's entrypoint, the ops CLI). */
export function proxyCommandArgs(settings: HostProxySettings): string[] {
  return [
    "proxy",
    ...flagWords({
      "state-dir": PROXY_STATE_DIR,
      "listen-address": settings.listenAddress,
      "proxy-port": settings.proxyPort,
      "upstream-host": settings.upstreamHost,
      "blue-port": settings.hostPorts.blue,
      "green-port": settings.hostPorts.green,
      replicas: settings.replicas,
      "health-path": settings.healthPath,
      "check-interval-ms": settings.checkIntervalMs,
      maintenance: settings.maintenance,
      ...(settings.preview
        ? { "preview-port": settings.preview.port, "preview-address": settings.preview.address }
        : {}),
    }),
  ];
}

/**
 * What the proxy container may do beyond an unprivileged process: bind the front's port (80/443 on the
 * host network), drop HAProxy's workers to nobody, and signal them. Every other capability is dropped.
 * Named with CAP_ as Docker 20.10 stores and reads them back (so the docker provider sees no change).
 */
export const PROXY_CAPABILITIES = ["CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_SETGID", "CAP_KILL"] as const;

/**
 * The proxy container as `docker run` (what a docker.Container with the same settings creates): host
 * network, a named state volume, restarted with the host, an init process reaping HAProxy's children,
 * every capability but PROXY_CAPABILITIES dropped and no privilege gained by exec.
 */
export function proxyRunCommand(
  image: string,
  app: string,
  stack: string,
  settings: HostProxySettings,
): string {
  const name = proxyContainerName(app, stack);
  return [
    "docker run -d",
    `--name ${name}`,
    "--network host",
    "--restart unless-stopped",
    "--init",
    "--stop-timeout 35",
    "--cap-drop ALL",
    ...PROXY_CAPABILITIES.map((capability) => `--cap-add ${capability}`),
    "--security-opt no-new-privileges",
    `-v ${name}:${PROXY_STATE_MOUNT}`,
    shellQuote(image),
    ...proxyCommandArgs(settings).map(shellQuote),
  ].join(" ");
}

export interface OpsRunOptions {
  /**
   * Variables passed on from the SSH session by name (never their values): plain ones with `-e NAME`,
   * secret ones (isSecretEnvName: passwords, keys, DATABASE_URL, the webhook URL) on the container's stdin.
   */
  envNames?: string[];
  /** Mount the host's docker socket (migrate starts a one-off container of the release). */
  dockerSocket?: boolean;
}

/** The ops CLI's first argument when it reads NAME=value entries (NUL-separated) from stdin first. */
export const ENV_STDIN_FLAG = "--env-stdin";

/** Refuses a step or variable name that is not one (they go on a command line unquoted). */
export function checkStepAndEnv(step: string, envNames: readonly string[]): void {
  if (!/^[a-z][a-z-]*$/.test(step)) throw new Error(`ops step ${JSON.stringify(step)} is not a step name`);
  for (const name of envNames) {
    if (!ENV_NAME.test(name))
      throw new Error(`environment variable name ${JSON.stringify(name)} is not valid`);
  }
}

/** A step of the ops CLI in a throwaway container of the ops image on a host: `docker run --rm --network host …`. */
export function opsRunCommand(
  image: string,
  step: string,
  flags: Record<string, FlagValue>,
  options: OpsRunOptions = {},
): string {
  checkStepAndEnv(step, options.envNames ?? []);
  const names = options.envNames ?? [];
  const secret = names.filter(isSecretEnvName);
  // `-e NAME` copies the value into the container's configuration, where `docker inspect` (and whatever
  // collects container metadata on the host) shows it: secrets go through a pipe instead. printf is a
  // shell builtin (sh, dash, bash), so no process's argument list holds them either.
  const pipe =
    secret.length > 0 ? [`printf '%s\\0' ${secret.map((name) => `"${name}=$${name}"`).join(" ")} |`] : [];
  return [
    ...pipe,
    `docker run${secret.length > 0 ? " -i" : ""} --rm --network host`,
    ...names.filter((name) => !secret.includes(name)).map((name) => `-e ${name}`),
    ...(options.dockerSocket ? ["-v /var/run/docker.sock:/var/run/docker.sock"] : []),
    shellQuote(image),
    ...(secret.length > 0 ? [ENV_STDIN_FLAG] : []),
    step,
    ...flagWords(flags).map(shellQuote),
  ].join(" ");
}
