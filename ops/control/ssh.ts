// SSH to a host with its key pinned (ssh2, in process: the private key never touches a disk). The host's
// key is compared with the pinned one during the key exchange, before authentication: a host presenting
// another key is refused before the user name, a signature or any command — let alone a secret — is
// sent, and the failure names the host and both fingerprints.
import * as crypto from "crypto";
import type { Client, ClientChannel, ConnectConfig } from "ssh2";
import { parseHostKey } from "../../contract/host-key";
import { shellQuote } from "../../contract/shell";
import { StepError } from "../lib/step";
import { RelayChannel } from "./channel";
import { EarlySocket, preconnect } from "./preconnect";

/** OpenSSH's fingerprint of a key blob: SHA256:<unpadded base64 of its sha256>, as `ssh-keygen -l` prints it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${crypto.createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** A host as the coordinator reaches it over SSH. */
export interface SshHost {
  /** Its name (web-1), as failures name it. */
  name: string;
  address: string;
  port: number;
  user: string;
  /** The pinned key, "<type> <base64>". */
  hostKey: string;
  /** The proxy's admin socket on the host, when known; else the host's Docker is asked for it. */
  adminSocket?: string;
}

/** How the coordinator authenticates: a private key (from the environment), else the SSH agent. */
export interface SshAuth {
  privateKey?: string;
  agent?: string;
}

/** Where the key comes from: GREENLIGHT_SSH_PRIVATE_KEY, else the agent at SSH_AUTH_SOCK. */
export function sshAuthFromEnv(env: NodeJS.ProcessEnv): SshAuth {
  if (env.GREENLIGHT_SSH_PRIVATE_KEY) return { privateKey: env.GREENLIGHT_SSH_PRIVATE_KEY };
  if (env.SSH_AUTH_SOCK) return { agent: env.SSH_AUTH_SOCK };
  throw new StepError(
    "GREENLIGHT_SSH_PRIVATE_KEY is not set and no SSH agent answers (SSH_AUTH_SOCK): the hosts' SSH key is needed",
    2,
  );
}

/** A host that presented another key than the pinned one. */
export class HostKeyMismatch extends Error {
  constructor(
    readonly host: SshHost,
    readonly presented: string,
    readonly expected: string,
  ) {
    super(
      `host ${host.name} (${host.address}:${host.port}) presented the SSH host key ${presented}, not the pinned ${expected} (greenlight:hosts[].hostKey); nothing was sent to it. If the host's key changed on purpose, check the new one on the host (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) and pin it`,
    );
    this.name = "HostKeyMismatch";
  }
}

/**
 * Connects to a host and verifies its key. With `auth` undefined it stops after the key exchange (the
 * host-key check): no authentication at all.
 */
export async function connectHost(
  host: SshHost,
  auth: SshAuth | undefined,
  timeoutMs = 10_000,
  onHandshake: () => void = () => undefined,
  given?: EarlySocket,
): Promise<Client> {
  const pinned = parseHostKey(host.hostKey);
  const expected = fingerprint(pinned.blob);
  const unreachable = (why: string) =>
    new Error(`cannot reach host ${host.name} over SSH (${host.address}:${host.port}): ${why}`);
  // Our own TCP connection, opened before ssh2 loads, with Nagle off (ssh2's own keeps it on: every small
  // packet of the handshake and of each runtime command then waits for the previous one's delayed ACK).
  const connection = given ?? preconnect([host])[0];
  // Loaded here, not with the CLI: the relay and every other step start without it.
  const ssh2 = await import("ssh2");
  // Checked once ssh2 is loaded: the connection may have failed meanwhile, before ssh2 listened to it.
  if (connection.failed || connection.socket.destroyed)
    throw unreachable(connection.failed?.message ?? "the connection closed before the SSH handshake");
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let presented: Buffer | undefined;
    let settled = false;
    const settle = (error?: Error) => {
      if (settled) return;
      settled = true;
      if (error) {
        client.end();
        reject(error);
      } else resolve(client);
    };
    const config: ConnectConfig = {
      host: host.address,
      port: host.port,
      username: host.user,
      readyTimeout: timeoutMs,
      // ssh2 waits for its connect when it is still under way.
      sock: connection.socket,
      // Only the pinned key's type, so a host with several keys presents the one pinned (as remote.Command does).
      algorithms: { serverHostKey: [pinned.type as "ssh-ed25519"] },
      hostVerifier: (key: Buffer) => {
        presented = Buffer.from(key);
        return key.equals(pinned.blob);
      },
      ...(auth?.privateKey ? { privateKey: auth.privateKey } : {}),
      ...(auth?.agent ? { agent: auth.agent } : {}),
    };
    client.once("handshake", () => {
      onHandshake();
      if (auth === undefined) settle();
    });
    client.once("ready", () => settle());
    // A host that drops the connection mid-handshake (sshd's MaxStartups, a dying sshd) gets no "error"
    // from ssh2, only "close": without this the switch would wait for it forever.
    client.once("close", () => settle(unreachable("the connection closed before the SSH handshake ended")));
    client.once("error", (error: Error & { level?: string }) => {
      if (presented !== undefined && !presented.equals(pinned.blob)) {
        settle(new HostKeyMismatch(host, fingerprint(presented), expected));
      } else if (error.level === "client-authentication") {
        settle(
          new Error(
            `host ${host.name} (${host.address}:${host.port}) refused the SSH key of ${host.user}: ${error.message}`,
          ),
        );
      } else {
        settle(unreachable(error.message));
      }
    });
    client.connect(config);
  });
}

/** Runs a command on the host over an open connection; the stream is its stdin/stdout. */
export function execOn(client: Client, command: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) =>
    client.exec(command, (error, stream) => (error ? reject(error) : resolve(stream))),
  );
}

/**
 * The relay's own entry in the ops image (images/ops/Dockerfile copies the build to /opt/greenlight):
 * it loads only what the relay needs, so it greets in about the time node itself starts.
 */
export const RELAY_ENTRY = "/opt/greenlight/bin/build/ops/control/relay-main.js";

/** The relay in a host's proxy container, as the coordinator starts it over SSH (same as `greenlight-ops relay`). */
export function relayCommand(container: string): string {
  // `exec`: the login shell sshd starts gives way to the docker CLI instead of waiting for it.
  return `exec docker exec -i ${shellQuote(container)} /usr/local/bin/node ${RELAY_ENTRY}`;
}

/** Runs a command on the host and returns its standard output; fails on a non-zero exit, with its stderr. */
export async function execOutput(client: Client, command: string, timeoutMs: number): Promise<string> {
  const stream = await execOn(client, command);
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    let exitCode: number | null | undefined;
    const timer = setTimeout(() => {
      stream.close();
      reject(new Error(`no answer within ${timeoutMs} ms (${command})`));
    }, timeoutMs);
    stream.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    stream.stderr.on("data", (chunk: Buffer) => {
      if (stderr.length < 2000) stderr += chunk.toString("utf8");
    });
    stream.once("exit", (code: number | null) => (exitCode = code));
    stream.once("close", () => {
      clearTimeout(timer);
      if (exitCode === 0) resolve(stdout);
      else
        reject(new Error(`exit ${String(exitCode)}: ${stderr.trim().split("\n").pop() ?? ""} (${command})`));
    });
  });
}

/** Opens the relay in the host's proxy container over an open SSH connection; resolves once it greets. */
export async function openRelay(
  host: SshHost,
  client: Client,
  container: string,
  timeoutMs = 10_000,
  onClose: () => void = () => client.end(),
): Promise<RelayChannel> {
  const stream = await execOn(client, relayCommand(container));
  let stderr = "";
  stream.stderr.on("data", (chunk: Buffer) => {
    if (stderr.length < 2000) stderr += chunk.toString("utf8");
  });
  const channel = new RelayChannel(host.name, stream, onClose);
  const timer = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`the relay did not greet within ${timeoutMs} ms`)), timeoutMs).unref(),
  );
  try {
    await Promise.race([channel.hello, timer]);
  } catch (error) {
    onClose();
    const why = stderr.trim().split("\n").pop() ?? "";
    throw new Error(`${(error as Error).message}${why ? `: ${why}` : ""} (${relayCommand(container)})`);
  }
  return channel;
}
