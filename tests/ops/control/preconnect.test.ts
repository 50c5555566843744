// Connections opened before the switch loads ssh2 (ops/control/preconnect.ts): a host that refuses
// them fails the plane's opening with the same message as without them, and never as an unhandled error.
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as net from "net";
import { ControlPlane } from "../../../ops/control";
import { discardEarly, preconnect } from "../../../ops/control/preconnect";
import { freePort } from "../../support/ports";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

describe("connections opened before the SSH handshake", () => {
  it("a host refusing the early connection is named, nothing else is done, and no error escapes", async () => {
    const port = await freePort();
    const hosts = [{ name: "h1", address: "127.0.0.1", port, user: "root", hostKey: HOST_KEY }];
    const early = preconnect(hosts);
    // The refusal arrives before anything listens on the socket's errors but preconnect's own.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.match(String(early[0].failed?.message), /ECONNREFUSED/);
    await assert.rejects(
      ControlPlane.open(hosts, { container: "c", auth: { privateKey: "unused" }, early }),
      new RegExp(
        `^StepError: cannot reach the proxy of h1 over SSH; nothing was done on any host: host h1: cannot reach host h1 over SSH \\(127\\.0\\.0\\.1:${port}\\): connect ECONNREFUSED`,
      ),
    );
    discardEarly(early);
  });

  it("hands ssh2 a connection already open: the server sees one connection, which the handshake uses; a host dropping it mid-handshake is named, not waited for", async () => {
    const accepted: net.Socket[] = [];
    let firstBytes = "";
    const server = net.createServer((socket) => {
      accepted.push(socket);
      socket.once("data", (chunk: Buffer) => {
        firstBytes = chunk.toString("latin1");
        // Not an SSH server: it drops the connection once the client spoke, as a refusing sshd would.
        socket.destroy();
      });
      socket.write("SSH-2.0-NotReally\r\n");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as net.AddressInfo).port;
    const hosts = [{ name: "h1", address: "127.0.0.1", port, user: "root", hostKey: HOST_KEY }];
    // A key ssh2 can parse: it reads the key before it touches the connection.
    const { privateKey } = crypto.generateKeyPairSync("rsa", {
      modulusLength: 2048,
      privateKeyEncoding: { type: "pkcs1", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    const early = preconnect(hosts);
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(accepted.length, 1, "connected before ssh2 was asked to");
      await assert.rejects(
        ControlPlane.open(hosts, { container: "c", auth: { privateKey }, early, timeoutMs: 2000 }),
        /host h1: cannot reach host h1 over SSH \(127\.0\.0\.1:\d+\): the connection closed before the SSH handshake ended/,
      );
      assert.equal(accepted.length, 1, "no second connection");
      assert.match(firstBytes, /^SSH-2\.0-ssh2js/, "the SSH client spoke on the early connection");
    } finally {
      discardEarly(early);
      server.close();
    }
  });
});
