// A host's proxy reached through its admin socket itself, forwarded by the host's own sshd
// (direct-streamlocal@openssh.com, what `ssh -L <local>:<remote socket>` opens): no process starts on
// the host, no `docker exec`, no node. The socket stays where HAProxy made it — mode 600, root's, in the
// proxy's state volume under Docker's data root — so only a root SSH login on that host reaches it; a
// forwarded channel per runtime command (one round trip in the open connection), one per event stream.
// Where sshd refuses the forward (AllowStreamLocalForwarding no, a non-root user) the relay serves.
import type { Client, ClientChannel } from "ssh2";
import { shellQuote } from "../../contract/shell";
import { PROXY_ADMIN_SOCKET_IN_VOLUME, PROXY_STATE_MOUNT } from "../hosts/remote";
import { checkRuntimeCommand } from "../proxy/runtime";
import { EventStream, ProxyChannel, RelayChannel, WarmupAnswer, lineSplitter } from "./channel";
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

  /** `openRelay` starts the relay on first use: only the warm-up's requests through the front need it. */
  constructor(
    readonly host: string,
    private readonly client: Client,
    readonly socketPath: string,
    private readonly openRelay: () => Promise<RelayChannel>,
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

  async command(text: string, timeoutMs = 2000): Promise<string> {
    checkRuntimeCommand(text);
    const started = Date.now();
    const stream = await this.forward(`"${text}"`, timeoutMs);
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      const timer = setTimeout(
        () => {
          stream.close();
          reject(
            new Error(
              `HAProxy admin socket ${this.socketPath} did not answer "${text}" within ${timeoutMs} ms`,
            ),
          );
        },
        Math.max(1, timeoutMs - (Date.now() - started)),
      );
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.once("error", (error: Error) => {
        clearTimeout(timer);
        reject(new Error(`HAProxy admin socket ${this.socketPath} over SSH: ${error.message}`));
      });
      // HAProxy answers one command and closes its end (non-interactive mode): sshd passes the EOF on but
      // keeps the channel until this side ends too, so the answer is complete at "end", not "close".
      stream.once("end", () => {
        clearTimeout(timer);
        stream.end();
        resolve(Buffer.concat(chunks).toString("utf8"));
      });
      stream.once("close", () => {
        clearTimeout(timer);
        reject(
          new Error(`HAProxy admin socket ${this.socketPath}: the channel closed before the answer ended`),
        );
      });
      stream.write(`${text}\n`);
    });
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
    const relay = this.relay;
    this.relay = undefined;
    if (relay) await relay.then((opened) => opened.close()).catch(() => undefined);
    this.client.end();
  }
}
