// An attacker's view of host-key pinning: a host that answers on the right address and port with another
// SSH key (what a man in the middle presents) must be refused by every SSH use of a stack — the host-key
// check step, the coordinator, the docker provider's ssh — before anything secret leaves: its sshd must
// never see a user authenticate, so it never gets the SSH environment (PGPASSWORD, the webhook URL) or a
// command. Two real OpenSSH servers on loopback, logging every connection: the genuine host and an impostor.
import { strict as assert } from "assert";
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseHostKey } from "../../contract/host-key";
import { fingerprint } from "../../ops/control/ssh";
import { dockerSshOptions } from "../../components/release/DockerHost";
import { stageKnownHosts } from "../../components/release/known-hosts";
import { ControlPlane } from "../../ops/control";
import { HostSettings } from "../../schema/types";
import { runOps } from "../ops/support/release";
import { freePort } from "../support/ports";
import { needService } from "../support/service";

interface Sshd {
  port: number;
  hostKey: string;
  log(): string[];
  process: ChildProcess;
}

const SSHD = fs.existsSync("/usr/sbin/sshd") ? "/usr/sbin/sshd" : "sshd";

/** An OpenSSH server on 127.0.0.1 with its own host key, accepting `clientKey`, logging at DEBUG1. */
async function startSshd(dir: string, name: string, clientPub: string): Promise<Sshd> {
  const port = await freePort();
  const hostKeyFile = path.join(dir, `${name}_host_key`);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", hostKeyFile]);
  const authorized = path.join(dir, `${name}_authorized_keys`);
  fs.writeFileSync(authorized, clientPub);
  const logFile = path.join(dir, `${name}.log`);
  const config = path.join(dir, `${name}_sshd_config`);
  fs.writeFileSync(
    config,
    [
      `ListenAddress 127.0.0.1:${port}`,
      `HostKey ${hostKeyFile}`,
      `PidFile ${dir}/${name}.pid`,
      `AuthorizedKeysFile ${authorized}`,
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      "LogLevel DEBUG1",
      "AcceptEnv GREENLIGHT_* PG* AWS_* DATABASE_URL",
      "",
    ].join("\n"),
  );
  fs.mkdirSync("/run/sshd", { recursive: true });
  const child = spawn(SSHD, ["-D", "-f", config, "-E", logFile], { stdio: "ignore" });
  const deadline = Date.now() + 10_000;
  while (!fs.existsSync(logFile) || !/Server listening/.test(fs.readFileSync(logFile, "utf8"))) {
    if (Date.now() > deadline) throw new Error(`sshd ${name} did not start`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    hostKey: fs.readFileSync(`${hostKeyFile}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" "),
    log: () => fs.readFileSync(logFile, "utf8").split("\n").filter(Boolean),
    process: child,
  };
}

/** Whether a server's log shows any user authenticating (and so any session, environment or command). */
const authenticated = (lines: string[]) =>
  lines.some((line) => /Accepted publickey|session_new|Starting session/.test(line));

describe("host keys pinned: a host presenting another key gets nothing (real OpenSSH servers)", function () {
  this.timeout(60_000);
  let dir: string;
  let clientKey: string;
  let genuine: Sshd;
  let impostor: Sshd;
  /** The genuine host's key, pinned in config; the impostor listens where the host should be. */
  let pinned: string;

  before(async function () {
    await needService(this, "OpenSSH (sshd, ssh, ssh-keygen)", async () => {
      execFileSync(SSHD, ["-V"], { stdio: "pipe" });
      execFileSync("ssh", ["-V"], { stdio: "pipe" });
    });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "gl-host-keys-"));
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "client")]);
    clientKey = fs.readFileSync(path.join(dir, "client"), "utf8");
    const clientPub = fs.readFileSync(path.join(dir, "client.pub"), "utf8");
    genuine = await startSshd(dir, "genuine", clientPub);
    impostor = await startSshd(dir, "impostor", clientPub);
    pinned = genuine.hostKey;
  });

  after(() => {
    genuine?.process.kill();
    impostor?.process.kill();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const both = () => ({
    expected: fingerprint(parseHostKey(pinned).blob),
    presented: fingerprint(parseHostKey(impostor.hostKey).blob),
  });

  it("the host-key check step (its exact command line) refuses the impostor naming the host and both fingerprints; the impostor sees no login", async () => {
    const before = impostor.log().length;
    const refused = await runOps([
      "host-keys",
      "--host",
      `web-1=root@127.0.0.1:${impostor.port}`,
      "--host-key",
      `web-1=${pinned}`,
    ]);
    const { expected, presented } = both();
    assert.equal(refused.code, 1, refused.stderr);
    assert.equal(
      refused.stderr.trim(),
      `host-keys: host web-1: host web-1 (127.0.0.1:${impostor.port}) presented the SSH host key ${presented}, not the pinned ${expected} (greenlight:hosts[].hostKey); nothing was sent to it. If the host's key changed on purpose, check the new one on the host (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) and pin it`,
    );
    const seen = impostor.log().slice(before);
    assert.ok(
      seen.some((line) => /Connection from 127\.0\.0\.1/.test(line)),
      "it did connect",
    );
    assert.ok(!authenticated(seen), `no user authenticated: ${seen.join(" | ")}`);
    // The same check against the genuine host passes, and reports its fingerprint.
    const passed = await runOps([
      "host-keys",
      "--host",
      `web-1=root@127.0.0.1:${genuine.port}`,
      "--host-key",
      `web-1=${pinned}`,
    ]);
    assert.equal(passed.code, 0, passed.stderr);
    assert.deepEqual(
      (passed.json[0].hosts as { host: string; fingerprint: string }[]).map((host) => [
        host.host,
        host.fingerprint,
      ]),
      [["web-1", expected]],
    );
  });

  it("the coordinator refuses before authenticating: no environment, no command, no relay on the impostor; the genuine host runs the relay command", async () => {
    const before = impostor.log().length;
    // Told where the admin socket is, the coordinator's first act after logging in would be to have it
    // forwarded: the impostor must not even see that channel asked for.
    const host = {
      name: "web-1",
      address: "127.0.0.1",
      port: impostor.port,
      user: "root",
      hostKey: pinned,
      adminSocket: "/var/lib/docker/volumes/greenlight-proxy-shop-production/_data/proxy/haproxy.sock",
    };
    await assert.rejects(
      ControlPlane.open([host], {
        container: "greenlight-proxy-shop-production",
        auth: { privateKey: clientKey },
      }),
      (error: Error) => {
        const { expected, presented } = both();
        assert.match(
          error.message,
          /^cannot reach the proxy of web-1 over SSH; nothing was done on any host: /,
        );
        assert.ok(
          error.message.includes(`presented the SSH host key ${presented}, not the pinned ${expected}`),
        );
        return true;
      },
    );
    const seen = impostor.log().slice(before);
    assert.ok(!authenticated(seen), `no user authenticated: ${seen.join(" | ")}`);
    assert.ok(
      !seen.some((line) =>
        /channel_req|channel_open|streamlocal|Setting env|subsystem request|docker/i.test(line),
      ),
      "no environment request, no forwarded socket, no command",
    );
    // Against the genuine host the same key logs in, asks for the socket (none there), then runs the relay
    // command (no container here).
    const beforeGenuine = genuine.log().length;
    await assert.rejects(
      ControlPlane.open([{ ...host, port: genuine.port }], {
        container: "greenlight-proxy-shop-production",
        auth: { privateKey: clientKey },
      }),
      /host web-1: the relay's stream (ended|closed)/,
    );
    const genuineSaw = genuine.log().slice(beforeGenuine);
    assert.ok(authenticated(genuineSaw), "the genuine host accepted the key");
    assert.ok(
      genuineSaw.some((line) => /direct-streamlocal/.test(line)),
      `the genuine host was asked for the socket: ${genuineSaw.join(" | ")}`,
    );
  });

  it("the docker provider's ssh (its options, and a known_hosts file written from config) refuses the impostor before any login", async () => {
    const project = fs.mkdtempSync(path.join(dir, "project-"));
    const hosts: HostSettings[] = [
      {
        name: "web-1",
        address: "127.0.0.1",
        user: "root",
        port: impostor.port,
        hostKey: pinned,
        replicaAddress: "127.0.0.1",
        platform: "linux/amd64",
      },
    ];
    const knownHosts = stageKnownHosts("production", hosts, project);
    assert.equal(fs.statSync(path.join(project, knownHosts)).mode & 0o777, 0o600);
    // What docker/cli's connhelper runs for ssh://root@127.0.0.1:<port> with the provider's sshOpts
    // (docker/cli cli/connhelper/connhelper.go: the flags, -T, then `-l user -p port -- host docker system
    // dial-stdio`), in the project folder the engine starts providers in.
    const connhelper = (port: number, extra: string[] = []) => [
      ...dockerSshOptions(knownHosts, pinned),
      ...extra,
      "-T",
      ...["-l", "root", "-p", String(port), "--", "127.0.0.1", "docker", "system", "dial-stdio"],
    ];
    const before = impostor.log().length;
    const refused = spawnSync("ssh", connhelper(impostor.port, ["-i", path.join(dir, "client")]), project);
    assert.equal(refused.status, 255);
    assert.match(refused.stderr, /Host key verification failed\./);
    assert.match(refused.stderr, new RegExp(both().presented.replace(/[+/]/g, "\\$&")));
    assert.ok(!authenticated(impostor.log().slice(before)), "no user authenticated on the impostor");
    // The genuine host on the same pinned entry: accepted (it runs the command; no docker needed to tell).
    stageKnownHosts("production", [{ ...hosts[0], port: genuine.port }], project);
    const beforeGenuine = genuine.log().length;
    spawnSync(
      "ssh",
      connhelper(genuine.port, ["-i", path.join(dir, "client"), "-o", "IdentitiesOnly=yes"]),
      project,
    );
    assert.ok(authenticated(genuine.log().slice(beforeGenuine)), "the genuine host let the provider in");
  });
});

function spawnSync(binary: string, args: string[], cwd: string): { status: number | null; stderr: string } {
  try {
    execFileSync(binary, args, { cwd, stdio: ["ignore", "pipe", "pipe"], timeout: 20_000, encoding: "utf8" });
    return { status: 0, stderr: "" };
  } catch (error) {
    const failed = error as { status: number | null; stderr?: string };
    return { status: failed.status, stderr: String(failed.stderr ?? "") };
  }
}
