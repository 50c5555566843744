// The control plane's command lines: `relay` (run inside a proxy container by the coordinator, over
// SSH), `host-keys` (the check every update with hosts runs before anything reaches a host), and the
// host options every coordinator step takes: `--host <name>=<user>@<address>[:<port>]` and
// `--host-key '<name>=<type> <base64>'`, one of each per host.
import { Command, InvalidArgumentError } from "commander";
import * as path from "path";
import { HOST_KEY } from "../../contract/host-key";
import { parseHostEntryText } from "../../contract/host-entry";
import { FS_PATH, HOST_NAME } from "../../contract/patterns";
import { PROXY_STATE_DIR } from "../hosts/remote";
import { repeatable } from "../lib/options";
import { StepCommand, StepError } from "../lib/step";
import { MAX_FORWARDED_SOCKET_PATH } from "./socket";
import type { SshHost } from "./ssh";

/** Parses `<name>=<user>@<address>[:<port>]`. */
export function parseHostEntry(value: string): Omit<SshHost, "hostKey"> {
  const host = parseHostEntryText(value);
  if (host === undefined)
    throw new InvalidArgumentError(
      "expected <name>=<user>@<address>[:<ssh port>], e.g. web-1=deploy@web-1.prod.internal:22",
    );
  return host;
}

/** Parses `<name>=<type> <base64>`. */
export function parseHostKeyEntry(value: string): { name: string; hostKey: string } {
  const at = value.indexOf("=");
  const name = value.slice(0, at);
  const hostKey = value.slice(at + 1);
  if (at < 1 || !HOST_NAME.test(name) || !HOST_KEY.test(hostKey))
    throw new InvalidArgumentError("expected <name>=<type> <base64>, e.g. 'web-1=ssh-ed25519 AAAAC3Nz…'");
  return { name, hostKey };
}

/** Parses `<name>=<absolute path>`: where a host's proxy admin socket is on that host. */
export function parseAdminSocketEntry(value: string): { name: string; adminSocket: string } {
  const at = value.indexOf("=");
  const name = value.slice(0, at);
  const adminSocket = value.slice(at + 1);
  if (
    at < 1 ||
    !HOST_NAME.test(name) ||
    !/^\/[A-Za-z0-9._/-]+$/.test(adminSocket) ||
    adminSocket.split("/").includes("..") ||
    adminSocket.length > MAX_FORWARDED_SOCKET_PATH
  )
    throw new InvalidArgumentError(
      `expected <name>=<absolute path of letters, digits and . _ - />, at most ${MAX_FORWARDED_SOCKET_PATH} characters, e.g. web-1=/var/lib/docker/volumes/greenlight-proxy-shop-production/_data/proxy/haproxy.sock`,
    );
  return { name, adminSocket };
}

/** The host options of a coordinator step. */
export function addHostOptions(command: Command): Command {
  return command
    .requiredOption(
      "--host <name=user@address[:port]>",
      "a host and how SSH reaches it; repeatable, in order",
      repeatable(parseHostEntry),
    )
    .requiredOption(
      "--host-key <name=type base64>",
      "the pinned SSH key of a host; one per --host",
      repeatable(parseHostKeyEntry),
    )
    .option(
      "--admin-socket <name=path>",
      "where a host's proxy admin socket is on that host (its state volume's mountpoint); unset, the host's Docker is asked",
      repeatable(parseAdminSocketEntry),
    );
}

/** The hosts of `--host` with their `--host-key`; a host without a key, or named twice, is usage. */
export function hostsFromOptions(options: Record<string, unknown>): SshHost[] {
  const hosts = options.host as Omit<SshHost, "hostKey">[];
  const keys = options.hostKey as { name: string; hostKey: string }[];
  const names = hosts.map((entry) => entry.name);
  const twice = names.find((name, index) => names.indexOf(name) !== index);
  if (twice !== undefined) throw new StepError(`host ${twice} is given twice: name each host once`, 2);
  const stray = keys.find((key) => !names.includes(key.name));
  if (stray) throw new StepError(`--host-key ${stray.name}: no --host of that name`, 2);
  const sockets = (options.adminSocket as { name: string; adminSocket: string }[] | undefined) ?? [];
  const straySocket = sockets.find((entry) => !names.includes(entry.name));
  if (straySocket) throw new StepError(`--admin-socket ${straySocket.name}: no --host of that name`, 2);
  return hosts.map((entry) => {
    const pinned = keys.filter((key) => key.name === entry.name);
    if (pinned.length !== 1)
      throw new StepError(
        `host ${entry.name} needs exactly one --host-key (got ${pinned.length}): every host's key is pinned`,
        2,
      );
    const socket = sockets.filter((item) => item.name === entry.name);
    if (socket.length > 1)
      throw new StepError(`host ${entry.name} has ${socket.length} --admin-socket: give at most one`, 2);
    return {
      ...entry,
      hostKey: pinned[0].hostKey,
      ...(socket.length === 1 ? { adminSocket: socket[0].adminSocket } : {}),
    };
  });
}

export const relayStep: StepCommand = {
  name: "relay",
  description:
    "Relays runtime API commands, the access-log ring and front requests between stdin/stdout and this host's proxy (run inside its container, over SSH)",
  options: (command: Command) =>
    command.option(
      "--state-dir <dir>",
      "the proxy's state directory",
      (value: string) => {
        if (!FS_PATH.test(value))
          throw new InvalidArgumentError("expected a path of letters, digits and . _ - /");
        return path.resolve(value);
      },
      PROXY_STATE_DIR,
    ),
  run: async (options) => {
    const { runRelay } = await import("./relay");
    return runRelay({ stateDir: String(options.stateDir), input: process.stdin, output: process.stdout });
  },
};

export const hostKeysStep: StepCommand = {
  name: "host-keys",
  description:
    "Checks every host's SSH key against the pinned one, before authenticating; fails naming the host and both fingerprints",
  options: addHostOptions,
  run: async (options) => {
    const hosts = hostsFromOptions(options);
    const { checkHostKeys } = await import(".");
    return { step: "host-keys", hosts: await checkHostKeys(hosts) };
  },
};
