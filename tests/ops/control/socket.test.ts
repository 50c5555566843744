// The socket channel's one interactive session, against a real HAProxy on this machine: every runtime
// command after the first goes over the same channel, answers are exactly what the one-shot mode returns,
// concurrent commands are queued one at a time, and a closed or stalled session is replaced, not reused.
// The SSH layer is a stand-in that "forwards" to the local socket (tests/security/control-plane.test.ts
// drives the same class through real sshd on the simulated hosts).
import { strict as assert } from "assert";
import { ChildProcess, spawn } from "child_process";
import { EventEmitter } from "events";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { Duplex } from "stream";
import type { Client } from "ssh2";
import { SocketChannel } from "../../../ops/control";
import { InteractiveSession } from "../../../ops/control/interactive";
import { haproxyBinary } from "../../../ops/proxy/process";
import { socketCommand } from "../../../ops/proxy/runtime";
import { freePort } from "../../support/ports";
import { needService } from "../../support/service";

/** What SocketChannel uses of an ssh2 Client: forwarded channels to a UNIX socket, counted. */
class ForwardingClient extends EventEmitter {
  forwards = 0;
  private readonly streams: net.Socket[] = [];
  /** Forwarded streams not yet closed. */
  open(): number {
    return this.streams.filter((stream) => !stream.destroyed).length;
  }
  openssh_forwardOutStreamLocal(
    socketPath: string,
    callback: (error: Error | undefined, stream?: net.Socket) => void,
  ) {
    this.forwards++;
    const socket = net.createConnection({ path: socketPath });
    this.streams.push(socket);
    socket.once("connect", () =>
      callback(undefined, Object.assign(socket, { close: () => socket.destroy() })),
    );
    socket.once("error", (error) => callback(error));
  }
  end() {
    this.emit("close");
  }
}

const channelOver = (client: ForwardingClient, socketPath: string) =>
  new SocketChannel("h1", client as unknown as Client, socketPath, () =>
    Promise.reject(new Error("no relay in this test")),
  );

describe("the socket channel: one HAProxy session in interactive mode per host", function () {
  this.timeout(60_000);
  let dir: string;
  let socketPath: string;
  let haproxy: ChildProcess;

  before(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "gl-interactive-"));
    socketPath = path.join(dir, "admin.sock");
    const port = await freePort();
    fs.writeFileSync(
      path.join(dir, "haproxy.cfg"),
      [
        "global",
        `  stats socket ${socketPath} mode 600 level admin`,
        "  stats timeout 1s",
        "defaults",
        "  mode http",
        "  timeout connect 1s",
        "  timeout client 5s",
        "  timeout server 5s",
        "backend app",
        "  server blue 127.0.0.1:1 disabled",
        "  server green 127.0.0.1:2 disabled",
        "frontend front",
        `  bind 127.0.0.1:${port}`,
        "  default_backend app",
        "",
      ].join("\n"),
    );
    await needService(this, "haproxy", async () => {
      haproxy = spawn(haproxyBinary(), ["-db", "-f", path.join(dir, "haproxy.cfg")], { stdio: "ignore" });
      const deadline = Date.now() + 10_000;
      while (!fs.existsSync(socketPath)) {
        if (haproxy.exitCode !== null || Date.now() > deadline) throw new Error("haproxy did not start");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    });
  });

  after(() => {
    haproxy?.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("runs every command over one forwarded channel, each answer byte for byte the one-shot answer", async () => {
    const client = new ForwardingClient();
    const channel = channelOver(client, socketPath);
    try {
      for (const command of [
        "show version",
        "show servers state app",
        "disable server app/nobody",
        "get weight app/blue",
      ])
        assert.equal(await channel.command(command), await socketCommand(socketPath, command), command);
      assert.equal(await channel.command("set server app/green state drain"), "\n");
      const green = (await channel.command("show servers state app"))
        .split("\n")
        .find((line) => / green /.test(line));
      assert.equal(Number(green?.split(" ")[6]) & 0x08, 0x08, `green drains: ${green}`);
      assert.match(await channel.command("show info"), /^Name: HAProxy/m);
      assert.equal(client.forwards, 1, "one forwarded channel for all seven commands");
    } finally {
      await channel.close();
    }
  });

  it("queues concurrent commands one at a time, each getting its own answer", async () => {
    const client = new ForwardingClient();
    const channel = channelOver(client, socketPath);
    try {
      const version = await socketCommand(socketPath, "show version");
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, index) =>
          channel.command(index % 2 === 0 ? "show version" : "get weight app/blue"),
        ),
      );
      answers.forEach((answer, index) =>
        assert.equal(answer, index % 2 === 0 ? version : "1 (initial 1)\n\n", `answer ${index}`),
      );
      assert.equal(client.forwards, 1);
    } finally {
      await channel.close();
    }
  });

  it("replaces a session idle for longer than HAProxy's idle timeout allows, closing the old one", async () => {
    const client = new ForwardingClient();
    // HAProxy 2.6 ends an idle CLI session after `stats timeout`, though not always: the channel does not
    // wait to find out, it replaces a session idle for IDLE_REUSE_MS (here 300 ms, the config's being 1 s).
    const channel = new SocketChannel(
      "h1",
      client as unknown as Client,
      socketPath,
      () => Promise.reject(new Error("no relay in this test")),
      300,
    );
    try {
      assert.match(await channel.command("show info"), /^Name: HAProxy/m);
      assert.match(await channel.command("show info"), /^Name: HAProxy/m);
      assert.equal(client.forwards, 1, "reused while fresh");
      await new Promise((resolve) => setTimeout(resolve, 400));
      assert.match(await channel.command("show info"), /^Name: HAProxy/m);
      assert.equal(client.forwards, 2, "replaced once idle");
      assert.equal(client.open(), 1, "the idle session was closed");
    } finally {
      await channel.close();
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(client.open(), 0, "closing the channel closes its session");
  });

  it("refuses commands that would change the session itself, sending nothing", async () => {
    const client = new ForwardingClient();
    const channel = channelOver(client, socketPath);
    for (const command of ["prompt", "quit", "  quit "])
      await assert.rejects(channel.command(command), /would change the control channel's own session/);
    await assert.rejects(channel.command("show info; quit"), /one command per call/);
    assert.equal(client.forwards, 0);
    await channel.close();
  });

  it("a command that times out ends its session: the next command gets a new channel, not the late answer", async () => {
    // A socket that accepts and never answers, as a hung proxy would.
    const silentPath = path.join(dir, "silent.sock");
    const held: net.Socket[] = [];
    let closed = 0;
    const silent = net
      .createServer((socket) => {
        held.push(socket);
        socket.resume().once("close", () => closed++);
      })
      .listen(silentPath);
    await new Promise((resolve) => silent.once("listening", resolve));
    const client = new ForwardingClient();
    const channel = channelOver(client, silentPath);
    try {
      await assert.rejects(
        channel.command("show info", 300),
        new RegExp(`^Error: HAProxy admin socket ${silentPath} did not answer "show info" within 300 ms$`),
      );
      await assert.rejects(
        channel.command("show version", 300),
        /did not answer "show version" within 300 ms/,
      );
      assert.equal(client.forwards, 2, "the timed-out session was not reused");
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(closed, 2, "both stalled sessions were closed");
    } finally {
      await channel.close();
      for (const socket of held) socket.destroy();
      silent.close();
    }
  });
});

/** A stream whose writes are recorded and whose data the test emits. */
function fakeStream(): { stream: Duplex; written: string[] } {
  const written: string[] = [];
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk.toString());
      done();
    },
  });
  return { stream, written };
}

describe("the interactive session's framing", () => {
  it("finds the prompt across chunk boundaries and after the `prompt` acknowledgement", async () => {
    const { stream, written } = fakeStream();
    const session = new InteractiveSession(stream, "socket");
    const first = session.send("show version");
    // The acknowledgement and the answer split one byte at a time, as a slow link may deliver them.
    for (const byte of "\n> 2.6.12\n\n> ") stream.emit("data", Buffer.from(byte));
    assert.equal(await first, "2.6.12\n\n");
    const second = session.send("show sess");
    stream.emit("data", Buffer.from("a\n> b\n"));
    stream.emit("data", Buffer.from("\n> "));
    assert.equal(await second, "a\n> b\n\n");
    assert.deepEqual(written, ["prompt\n", "show version\n", "show sess\n"]);
  });

  it("fails a waiting command, naming the socket, when the channel closes mid-answer", async () => {
    const { stream } = fakeStream();
    const session = new InteractiveSession(stream, "HAProxy admin socket /x.sock");
    const pending = session.send("show stat");
    stream.emit("data", Buffer.from("\n> # pxname,"));
    stream.emit("close");
    await assert.rejects(
      pending,
      /^Error: HAProxy admin socket \/x\.sock: the channel closed before the answer ended$/,
    );
    assert.equal(session.reusable, false);
  });

  it("refuses a stream that does not enter interactive mode", async () => {
    const { stream } = fakeStream();
    const session = new InteractiveSession(stream, "socket");
    const pending = session.send("show info");
    stream.emit("data", Buffer.from("Unknown command\n\n"));
    await assert.rejects(pending, /did not enter interactive mode/);
  });
});
