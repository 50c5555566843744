// TCP to every host opened first thing, before the switch loads its modules and ssh2: meanwhile each
// host's sshd accepts, starts its per-connection process and sends its banner (tens of ms on a loaded
// host), so the SSH handshake starts on a connection already there. Loads nothing but `net`.
import * as net from "net";

/** A TCP connection opened ahead of its SSH handshake, and how it failed if it did. */
export interface EarlySocket {
  socket: net.Socket;
  failed?: Error;
}

/** Opens a TCP connection to every host's SSH port at once, in the hosts' order. */
export function preconnect(hosts: readonly { address: string; port: number }[]): EarlySocket[] {
  return hosts.map((host) => {
    const early: EarlySocket = { socket: net.connect({ host: host.address, port: host.port }) };
    // Kept until ssh2 takes the socket over: a refused connection must not be an unhandled error.
    early.socket.once("error", (error) => (early.failed ??= error));
    early.socket.setNoDelay(true);
    return early;
  });
}

/** Closes connections that were not used (the switch stopped before its SSH handshakes). */
export function discardEarly(sockets: readonly EarlySocket[] | undefined): void {
  for (const early of sockets ?? []) early.socket.destroy();
}
