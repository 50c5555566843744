// A host's proxy reached through its admin socket itself, forwarded by the host's own sshd
// (direct-streamlocal@openssh.com, what `ssh -L <local>:<remote socket>` opens): no process starts on
// the host, no `docker exec`, no node. The socket stays where HAProxy made it — mode 600, root's, in the
// proxy's state volume under Docker's data root — so only a root SSH login on that host reaches it. One
// forwarded channel kept in HAProxy's interactive mode carries every runtime command (interactive.ts);
// each event stream has its own.
// Where sshd refuses the forward (AllowStreamLocalForwarding no, a non-root user) the relay serves.
import type { Client, ClientChannel } from "ssh2";
import { shellQuote } from "../../contract/shell";
import { PROXY_ADMIN_SOCKET_IN_VOLUME, PROXY_STATE_MOUNT } from "../hosts/remote";
import { checkRuntimeCommand } from "../proxy/runtime";
import { EventStream, ProxyChannel, RelayChannel, WarmupAnswer, lineSplitter } from "./channel";
import { IDLE_REUSE_MS, InteractiveSession, checkSessionCommand } from "./interactive";
import { execOutput } from "./ssh";

/** Longest socket path sshd can connect to (sockaddr_un's sun_path, 108 bytes with its NUL on Linux). */
export const MAX_FORWARDED_SOCKET_PATH = 107;

/** Asks the host's Docker where the proxy container's state volume is, and whether it runs. */
export function adminSocketQuery(container: string): string {
  const format = `{{.State.Running}} {{range .Mounts}}{{if eq .Destination "${PROXY_STATE_MOUNT}"}}{{.Source}}{{end}}{{end}}`;
  return `exec docker inspect --format ${shellQuote(format)} ${shellQuote(container)}`;
}

/** The admin socket's path on the host, from adminSocketQuery's answer; throws saying why there is none. */
export function adminSocketOnHost(answer: string, container: string): string {
  const [running, source = ""] = answer.trim().split(" ");
  if (running !== "true") throw new Error(`the proxy container ${container} is not running`);
  if (!/^\/[A-Za-z0-9._/-]+$/.test(source) || source.includes("/../"))
    throw new Error(`the proxy container ${container} has no state volume at ${PROXY_STATE_MOUNT}`);
  const socket = `${source}${PROXY_ADMIN_SOCKET_IN_VOLUME}`;
  if (socket.length > MAX_FORWARDED_SOCKET_PATH)
    throw new Error(`the admin socket's path on the host (${socket}) is too long for sshd to connect to`);
  return socket;
}

/** Finds the admin socket's path on the host over an open connection (one `docker inspect`). */
export async function findAdminSocket(client: Client, container: string, timeoutMs: number): Promise<string> {
  return adminSocketOnHost(await execOutput(client, adminSocketQuery(container), timeoutMs), container);
}

/** Opens one forwarded channel to a UNIX socket on the host. */
export function forwardSocket(client: Client, socketPath: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) =>
    client.openssh_forwardOutStreamLocal(socketPath, (error, stream) =>
      error ? reject(error) : resolve(stream),
    ),
  );
}

/** The proxy of a host through its admin socket, forwarded over the host's SSH connection. */
export class SocketChannel implements ProxyChannel {
  private closedWith: string | undefined;
  private relay: Promise<RelayChannel> | undefined;
  /** The runtime API session kept open in interactive mode (interactive.ts). */
  private session: InteractiveSession | undefined;
  /** Commands run one at a time over the session: each waits for the one before to settle. */
  private queue: Promise<void> = Promise.resolve();

  /** `openRelay` starts the relay on first use: only the warm-up's requests through the front need it. */
  constructor(
    readonly host: string,
    private readonly client: Client,
    readonly socketPath: string,
    private readonly openRelay: () => Promise<RelayChannel>,
    /** How long the interactive session may idle before it is replaced (interactive.ts IDLE_REUSE_MS). */
    private readonly idleReuseMs = IDLE_REUSE_MS,
  ) {
    client.once("close", () => (this.closedWith ??= `the SSH connection to ${host} closed`));
  }

  private async forward(what: string, timeoutMs: number): Promise<ClientChannel> {
    if (this.closedWith !== undefined) throw new Error(this.closedWith);
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        forwardSocket(this.client, this.socketPath),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`sshd did not open the admin socket within ${timeoutMs} ms (${what})`)),
            timeoutMs,
          );
        }),
      ]);
    } catch (error) {
      throw new Error(`HAProxy admin socket ${this.socketPath} over SSH: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Runs one command over the host's interactive session, one command at a time: opened (or replaced, once
   * HAProxy's idle timeout nears) on demand; a command that times out ends the session, so no late answer
   * is taken for the next command's.
   */
  async command(text: string, timeoutMs = 2000): Promise<string> {
    checkRuntimeCommand(text);
    checkSessionCommand(text);
    if (this.closedWith !== undefined) throw new Error(this.closedWith);
    let expired = false;
    let sentOn: InteractiveSession | undefined;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        expired = true;
        sentOn?.close(`HAProxy admin socket ${this.socketPath}: "${text}" timed out`);
        reject(
          new Error(
            `HAProxy admin socket ${this.socketPath} did not answer "${text}" within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
    });
    const started = Date.now();
    const turn = this.queue.then(async () => {
      if (expired) throw new Error(`"${text}" was not sent: its time ran out while queued`);
      const session = await this.interactive(text, Math.max(1, timeoutMs - (Date.now() - started)));
      if (expired) throw new Error(`"${text}" was not sent: its time ran out while the channel opened`);
      sentOn = session;
      return session.send(text);
    });
    this.queue = turn.then(
      () => undefined,
      () => undefined,
    );
    try {
      return await Promise.race([turn, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The open interactive session, or a new one (a forwarded channel switched to interactive mode). */
  private async interactive(what: string, timeoutMs: number): Promise<InteractiveSession> {
    if (this.session?.reusable) return this.session;
    this.session?.close();
    this.session = undefined;
    const stream = await this.forward(`"${what}"`, timeoutMs);
    if (this.closedWith !== undefined) {
      stream.close();
      throw new Error(this.closedWith);
    }
    this.session = new InteractiveSession(
      stream,
      `HAProxy admin socket ${this.socketPath}`,
      this.idleReuseMs,
    );
    return this.session;
  }

  async events(ring: string, onLine: (line: string) => void): Promise<EventStream> {
    if (!/^[a-z][a-z0-9-]{0,31}$/.test(ring))
      throw new Error(`ring ${JSON.stringify(ring)} is not a ring name`);
    const stream = await this.forward(`show events ${ring}`, 5000);
    const ended = new Promise<string | undefined>((resolve) => {
      stream.once("end", () => stream.end());
      stream.once("close", () => resolve(this.closedWith));
      stream.once("error", (error: Error) => resolve(error.message));
    });
    stream.on(
      "data",
      lineSplitter((line) => line !== "" && onLine(line)),
    );
    await new Promise<void>((resolve) => stream.write(`show events ${ring} -w -n\n`, () => resolve()));
    return { close: () => stream.close(), ended };
  }

  /** Through the host's own front, from the relay in the proxy container (it reads where the front binds). */
  async get(path: string, timeoutMs: number): Promise<WarmupAnswer> {
    this.relay ??= this.openRelay();
    return (await this.relay).get(path, timeoutMs);
  }

  async close(): Promise<void> {
    this.session?.close();
    this.session = undefined;
    const relay = this.relay;
    this.relay = undefined;
    if (relay) await relay.then((opened) => opened.close()).catch(() => undefined);
    this.client.end();
  }
}
