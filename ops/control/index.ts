// The control plane: how the coordinator drives every host's proxy without anything listening on the
// network. One SSH connection per host (its key pinned), opened to every host at once before anything
// moves, and in it the proxy's admin socket itself, forwarded by sshd (socket.ts) — or, where sshd
// refuses that, one `docker exec -i` of the relay in the proxy container (relay.ts). Each channel
// answers `show info` before the plane is open, so a switch pays only the runtime commands themselves.
// Through it: runtime API commands on one host or all at once, the proxies' own counters (`show stat`),
// the access-log ring for the guard, and requests through each host's front.
// The single-host case (the local stack) uses the same interface on the local UNIX socket.
import { parseHostKey } from "../../contract/host-key";
import { StepError } from "../lib/step";
import type { Client } from "ssh2";
import { EventStream, LocalChannel, ProxyChannel } from "./channel";
import type { EarlySocket } from "./preconnect";
import { SocketChannel, findAdminSocket } from "./socket";
import { SshAuth, SshHost, connectHost, fingerprint, openRelay } from "./ssh";

export { RelayChannel, lineSplitter } from "./channel";
export type { EventStream, ProxyChannel } from "./channel";
export { relayCommand } from "./ssh";
export { SocketChannel, adminSocketQuery } from "./socket";
export type { EarlySocket } from "./preconnect";
export type { SshAuth, SshHost } from "./ssh";

/** Runs `work` on every channel at once; the failures, each naming its host. */
export async function onEvery<T>(
  channels: readonly { host: string }[],
  work: (index: number) => Promise<T>,
): Promise<{ results: (T | undefined)[]; failures: string[] }> {
  const settled = await Promise.allSettled(channels.map((_, index) => work(index)));
  const failures: string[] = [];
  const results = settled.map((outcome, index) => {
    if (outcome.status === "fulfilled") return outcome.value;
    const reason = outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason);
    failures.push(`host ${channels[index].host}: ${reason}`);
    return undefined;
  });
  return { results, failures };
}

/** One row of `show stat` (CSV): a frontend, backend or server and its counters, by HAProxy's column names. */
export type StatRow = Record<string, string>;

/** Parses `show stat` CSV ("# pxname,svname,…" then one line per proxy or server). */
export function parseStat(text: string): StatRow[] {
  const lines = text.split("\n").filter((line) => line.trim() !== "");
  if (lines.length === 0 || !lines[0].startsWith("# ")) return [];
  const columns = lines[0].slice(2).split(",");
  return lines.slice(1).map((line) => {
    const fields = line.split(",");
    return Object.fromEntries(columns.map((column, index) => [column, fields[index] ?? ""]));
  });
}

/** How a host's proxy is reached: its admin socket forwarded by sshd, or the relay in its container. */
export type ControlVia = "socket" | "relay";

/** How one host's channel opened, and what each part took. */
export interface ChannelOpened {
  host: string;
  via: ControlVia;
  /** TCP, key exchange (host key checked) and authentication. */
  connectMs: number;
  /** The part of connectMs until the key exchange ended (host key checked), before authentication. */
  handshakeMs?: number;
  /** Finding the socket and forwarding it, or starting the relay until it greets. */
  channelMs: number;
  /** The first `show info` through the channel. */
  verifyMs: number;
  /** Why the socket was not used, when the relay serves instead. */
  socketRefused?: string;
}

export interface OpenOptions {
  /** The proxy container on every host (greenlight-proxy-<app>-<stack>). */
  container: string;
  auth: SshAuth;
  timeoutMs?: number;
  /** "auto" (default): the forwarded socket where sshd allows it, else the relay. */
  via?: "auto" | ControlVia;
  /** TCP connections already opened to the hosts (preconnect.ts), in the hosts' order. */
  early?: readonly EarlySocket[];
}

const since = (started: bigint) => Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10;

/** Opens one host's channel over its open connection and checks the proxy answers through it. */
async function openChannel(
  host: SshHost,
  client: Client,
  options: OpenOptions,
): Promise<{ channel: ProxyChannel; opened: Omit<ChannelOpened, "host" | "connectMs"> }> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const verify = async (channel: ProxyChannel) => {
    const started = process.hrtime.bigint();
    const info = await channel.command("show info", Math.min(timeoutMs, 5000));
    if (!/^Name: HAProxy/m.test(info))
      throw new Error(`the proxy did not answer "show info" as HAProxy does: ${info.slice(0, 120)}`);
    return since(started);
  };
  let socketRefused: string | undefined;
  if (options.via !== "relay") {
    const started = process.hrtime.bigint();
    try {
      const socketPath = host.adminSocket ?? (await findAdminSocket(client, options.container, timeoutMs));
      const channel = new SocketChannel(host.name, client, socketPath, () =>
        openRelay(host, client, options.container, timeoutMs, () => undefined),
      );
      const channelMs = since(started);
      return { channel, opened: { via: "socket", channelMs, verifyMs: await verify(channel) } };
    } catch (error) {
      if (options.via === "socket") {
        client.end();
        throw error;
      }
      socketRefused = (error as Error).message;
    }
  }
  const started = process.hrtime.bigint();
  const relay = await openRelay(host, client, options.container, timeoutMs);
  const channelMs = since(started);
  try {
    const verifyMs = await verify(relay);
    return { channel: relay, opened: { via: "relay", channelMs, verifyMs, socketRefused } };
  } catch (error) {
    client.end();
    throw error;
  }
}

/** Every host's proxy, each through its own channel. */
export class ControlPlane {
  /** How each host's channel opened (ControlPlane.open), in the hosts' order. */
  opened: ChannelOpened[] = [];

  private constructor(readonly channels: ProxyChannel[]) {}

  /** The proxy on this machine, through its UNIX socket. */
  static local(socketPath: string, frontUrl: string, name = "local"): ControlPlane {
    return new ControlPlane([new LocalChannel(name, socketPath, frontUrl)]);
  }

  /** Wraps channels opened elsewhere (a relay in a child process, in tests). */
  static of(channels: ProxyChannel[]): ControlPlane {
    return new ControlPlane(channels);
  }

  /**
   * Connects to every host at once (host keys verified first), opens each proxy's channel — its admin
   * socket forwarded by sshd, else the relay — and resolves once every proxy answered `show info` through
   * it. Any failure closes what opened and throws naming the hosts; a wrong host key is named with both
   * fingerprints, and nothing was sent to that host.
   */
  static async open(hosts: readonly SshHost[], options: OpenOptions): Promise<ControlPlane> {
    // Loaded before the clock of any host starts: its time is the process's, not a connection's.
    await import("ssh2");
    const named = hosts.map((host) => ({ host: host.name }));
    const opened = await onEvery(named, async (index) => {
      const started = process.hrtime.bigint();
      let handshakeMs: number | undefined;
      const client = await connectHost(
        hosts[index],
        options.auth,
        options.timeoutMs,
        () => (handshakeMs = since(started)),
        options.early?.[index],
      );
      const connectMs = since(started);
      const { channel, opened } = await openChannel(hosts[index], client, options);
      return { channel, opened: { host: hosts[index].name, connectMs, handshakeMs, ...opened } };
    });
    if (opened.failures.length === 0) {
      const results = opened.results as { channel: ProxyChannel; opened: ChannelOpened }[];
      const plane = new ControlPlane(results.map((result) => result.channel));
      plane.opened = results.map((result) => result.opened);
      return plane;
    }
    await Promise.all(opened.results.map((result) => result?.channel.close()));
    const names = opened.failures.map((failure) => failure.split(":")[0].replace(/^host /, ""));
    throw new StepError(
      `cannot reach the proxy of ${names.join(", ")} over SSH; nothing was done on any host: ${opened.failures.join("; ")}`,
    );
  }

  /** Runs one runtime API command on every host at once; throws naming the hosts that failed. */
  async all(command: string, timeoutMs?: number): Promise<string[]> {
    const ran = await onEvery(this.channels, (index) => this.channels[index].command(command, timeoutMs));
    if (ran.failures.length > 0) throw new StepError(`"${command}" failed: ${ran.failures.join("; ")}`);
    return ran.results as string[];
  }

  /** Every host's `show stat` counters. */
  async stats(): Promise<StatRow[][]> {
    return (await this.all("show stat")).map(parseStat);
  }

  /** Streams every host's ring from now on; `onLine` gets the host's index with each line. */
  async events(ring: string, onLine: (host: number, line: string) => void): Promise<EventStream[]> {
    const opened = await onEvery(this.channels, (index) =>
      this.channels[index].events(ring, (line) => onLine(index, line)),
    );
    if (opened.failures.length > 0) {
      for (const stream of opened.results) stream?.close();
      throw new StepError(`cannot read the access log of ${opened.failures.join("; ")}`);
    }
    return opened.results as EventStream[];
  }

  async close(): Promise<void> {
    await Promise.all(this.channels.map((channel) => channel.close()));
  }
}

/** What the host-key check found on one host. */
export interface HostKeyReport {
  host: string;
  fingerprint: string;
  ms: number;
}

/**
 * The host-key check: connects to each host, compares its key with the pinned one during the key
 * exchange and disconnects without authenticating. Throws naming every host whose key differs.
 */
export async function checkHostKeys(hosts: readonly SshHost[], timeoutMs = 10_000): Promise<HostKeyReport[]> {
  const checked = await onEvery(
    hosts.map((host) => ({ host: host.name })),
    async (index) => {
      const started = Date.now();
      const client = await connectHost(hosts[index], undefined, timeoutMs);
      client.end();
      return {
        host: hosts[index].name,
        fingerprint: fingerprint(parseHostKey(hosts[index].hostKey).blob),
        ms: Date.now() - started,
      };
    },
  );
  if (checked.failures.length > 0) throw new StepError(checked.failures.join("; "));
  return checked.results as HostKeyReport[];
}
