// The control plane: how the coordinator drives every host's proxy without anything listening on the
// network. One SSH connection per host (its key pinned), and in it one `docker exec -i` of the relay in
// that host's proxy container (relay.ts), opened before anything moves so a switch pays only the runtime
// commands themselves. Through it: runtime API commands on one host or all at once, the proxies' own
// counters (`show stat`), the access-log ring for the guard, and requests through each host's front.
// The single-host case (the local stack) uses the same interface on the local UNIX socket.
import { parseHostKey } from "../../contract/host-key";
import { StepError } from "../lib/step";
import { EventStream, LocalChannel, ProxyChannel, RelayChannel } from "./channel";
import { SshAuth, SshHost, connectHost, fingerprint, openRelay } from "./ssh";

export { RelayChannel, lineSplitter } from "./channel";
export type { EventStream, ProxyChannel } from "./channel";
export { relayCommand } from "./ssh";
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

/** Every host's proxy, each through its own channel. */
export class ControlPlane {
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
   * Connects to every host at once (host keys verified first), starts the relay in each proxy container,
   * and resolves once every relay greeted. Any failure closes what opened and throws naming the hosts; a
   * wrong host key is named with both fingerprints, and nothing was sent to that host.
   */
  static async open(
    hosts: readonly SshHost[],
    options: { container: string; auth: SshAuth; timeoutMs?: number },
  ): Promise<ControlPlane> {
    const named = hosts.map((host) => ({ host: host.name }));
    const opened = await onEvery(named, async (index) => {
      const client = await connectHost(hosts[index], options.auth, options.timeoutMs);
      return openRelay(hosts[index], client, options.container, options.timeoutMs);
    });
    if (opened.failures.length === 0) return new ControlPlane(opened.results as RelayChannel[]);
    await Promise.all(opened.results.map((channel) => channel?.close()));
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
