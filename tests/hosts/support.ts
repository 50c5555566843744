// One app released on the simulated hosts the way the program does it: per host, the replicas of each
// color (host network, bound to the host's address), the proxy container (`greenlight-proxy-<app>-<stack>`
// from the ops image) and the health gate, over SSH as the exact command strings the program sends
// (ops/hosts/remote.ts), secrets as SSH environment only; and the coordinator as the program runs it,
// here (`node bin/greenlight-ops.js switch-hosts …`), reaching every host's proxy over SSH with each
// host's key pinned and the hosts' SSH key in its environment.
import { Color } from "../../schema/types";
import { ControlPlane } from "../../ops/control";
import {
  HostProxySettings,
  FlagValue,
  PROXY_ADMIN_SOCKET_IN_VOLUME,
  flagWords,
  opsRunCommand,
  proxyContainerName,
  proxyRunCommand,
} from "../../ops/hosts/remote";
import { shellQuote } from "../../contract/shell";
import { PROJECT_DIR } from "../ops/support/cli";
import { replicaRunArgs } from "../ops/support/release";
import { Context } from "mocha";
import { CommandRun, SimHost, SimHosts, startSimHosts } from "../support/hosts";
import { ensureDocker } from "../support/docker";
import { needService } from "../support/service";
import { buildSampleImage } from "../fixtures/app/build";
import { freePortRange } from "../ops/support/release";
import { spawn } from "child_process";

export interface FleetPorts {
  proxy: number;
  /** Replica 0 of each color; replica i on port + i. */
  blue: number;
  green: number;
}

/** Variables the steps may read, passed on by name from the SSH session. */
const STEP_ENV_NAMES = ["GREENLIGHT_WEBHOOK_URL"];

export const GATE_FLAGS = { interval: 1, timeout: 2, attempts: 2, deadline: 15 };

export class Fleet {
  readonly app = "shop";
  readonly stack = "hosts";

  constructor(
    readonly sim: SimHosts,
    readonly opsImage: string,
    readonly ports: FleetPorts,
    readonly databaseUrl: string,
    readonly replicas = 1,
  ) {}

  get hosts(): SimHost[] {
    return this.sim.hosts;
  }

  proxySettings(host: SimHost): HostProxySettings {
    return {
      listenAddress: host.address,
      proxyPort: this.ports.proxy,
      upstreamHost: host.address,
      hostPorts: { blue: this.ports.blue, green: this.ports.green },
      replicas: this.replicas,
      healthPath: "/health",
      checkIntervalMs: 500,
      maintenance: "off",
    };
  }

  frontUrl(host: SimHost): string {
    return `http://${host.address}:${this.ports.proxy}/`;
  }

  replicaName(color: Color, replica: number): string {
    return `${this.app}-${this.stack}-${color}-${replica}`;
  }

  /** Replaces the replicas of a color on every host with a release (what a ColorSlot per host does). */
  async startColor(color: Color, release: string, image: string): Promise<void> {
    await Promise.all(
      this.hosts.map(async (host) => {
        for (let replica = 0; replica < this.replicas; replica++) {
          const name = this.replicaName(color, replica);
          await this.sim.dockerAsync(host, ["rm", "-f", name]);
          const run = await this.sim.dockerAsync(
            host,
            replicaRunArgs({
              name,
              app: this.app,
              color,
              release,
              image,
              port: this.ports[color] + replica,
              bindHost: host.address,
              databaseUrl: this.databaseUrl,
            }),
          );
          if (run.code !== 0) throw new Error(`starting ${name} on ${host.name}: ${run.stderr.trim()}`);
        }
      }),
    );
  }

  /** Starts every host's proxy container with the exact `docker run` line of the contract. */
  async startProxies(): Promise<void> {
    await Promise.all(
      this.hosts.map(async (host) => {
        const run = await this.sim.ssh(host, this.proxyCommand(host));
        if (run.code !== 0) throw new Error(`proxy container on ${host.name}: ${run.stderr.trim()}`);
      }),
    );
    for (const host of this.hosts) this.adminSocket(host);
  }

  private readonly adminSockets = new Map<string, string>();

  /**
   * Each host's admin socket as the program passes it (`--admin-socket`): its proxy's state volume's
   * mountpoint, which the docker provider reads back from that host's engine, and the socket in it.
   */
  adminSocket(host: SimHost): string {
    const known = this.adminSockets.get(host.name);
    if (known !== undefined) return known;
    const mountpoint = this.sim
      .docker(host, ["volume", "inspect", "--format", "{{.Mountpoint}}", this.proxyContainer])
      .trim();
    this.adminSockets.set(host.name, `${mountpoint}${PROXY_ADMIN_SOCKET_IN_VOLUME}`);
    return `${mountpoint}${PROXY_ADMIN_SOCKET_IN_VOLUME}`;
  }

  proxyCommand(host: SimHost): string {
    return proxyRunCommand(this.opsImage, this.app, this.stack, this.proxySettings(host));
  }

  get proxyContainer(): string {
    return proxyContainerName(this.app, this.stack);
  }

  /** The health gate command of one host: its replicas, probed where its proxy reaches them. */
  gateCommand(host: SimHost, color: Color, release: string): string {
    return opsRunCommand(
      this.opsImage,
      "health-gate",
      {
        color,
        release,
        host: host.address,
        port: this.ports[color],
        replicas: this.replicas,
        ...GATE_FLAGS,
      },
      { envNames: STEP_ENV_NAMES },
    );
  }

  gate(host: SimHost, color: Color, release: string, env: Record<string, string> = {}): Promise<CommandRun> {
    return this.sim.ssh(host, this.gateCommand(host, color, release), env);
  }

  /** The coordinator's flags: every host with its pinned key, the proxy container and port, no guard unless asked. */
  switchFlags(
    color: Color,
    release: string,
    flags: Record<string, FlagValue> = {},
    hostKeys: Record<string, string> = {},
  ): Record<string, FlagValue> {
    return {
      color,
      release,
      host: this.hosts.map((host) => `${host.name}=root@${host.address}:${host.sshPort}`),
      "host-key": this.hosts.map((host) => `${host.name}=${hostKeys[host.name] ?? this.sim.hostKey(host)}`),
      "admin-socket": this.hosts.map((host) => `${host.name}=${this.adminSocket(host)}`),
      container: this.proxyContainer,
      "proxy-port": this.ports.proxy,
      "check-interval-ms": 500,
      "guard-seconds": 0,
      ...flags,
    };
  }

  /** The coordinator's command line, as the switch's command resource runs it where `pulumi up` runs. */
  switchCommand(color: Color, release: string, flags: Record<string, FlagValue> = {}): string {
    return opsLine("switch-hosts", this.switchFlags(color, release, flags));
  }

  /**
   * Runs the coordinator here, as the command resource does: `sh -c <its command line>` in the project
   * folder, the hosts' SSH key in GREENLIGHT_SSH_PRIVATE_KEY and nothing secret on the command line.
   */
  switch(
    color: Color,
    release: string,
    flags: Record<string, FlagValue> = {},
    env: Record<string, string> = {},
    hostKeys: Record<string, string> = {},
  ): Promise<CommandRun> {
    const line = opsLine("switch-hosts", this.switchFlags(color, release, flags, hostKeys));
    return runHere(line, { GREENLIGHT_SSH_PRIVATE_KEY: this.sim.privateKey(), ...env });
  }

  /**
   * A release's host-side steps in the order the program's graph runs them: every host's gate (in
   * parallel, as independent resources), then, only when all passed, the coordinator's switch.
   */
  async release(
    color: Color,
    release: string,
    flags: Record<string, FlagValue> = {},
    env: Record<string, string> = {},
  ): Promise<{ gates: CommandRun[]; switched?: CommandRun }> {
    const gates = await Promise.all(this.hosts.map((host) => this.gate(host, color, release, env)));
    if (gates.some((gate) => gate.code !== 0)) return { gates };
    return { gates, switched: await this.switch(color, release, flags, env) };
  }

  /** The control plane to every host's proxy as the coordinator opens it: over SSH, each host's key pinned. */
  controlPlane(): Promise<ControlPlane> {
    return ControlPlane.open(
      this.hosts.map((host) => ({
        name: host.name,
        address: host.address,
        port: host.sshPort,
        user: "root",
        hostKey: this.sim.hostKey(host),
      })),
      { container: this.proxyContainer, auth: { privateKey: this.sim.privateKey() } },
    );
  }

  /** One fresh request through a host's front. */
  async get(host: SimHost): Promise<{ status: number; body: string }> {
    const response = await fetch(this.frontUrl(host));
    return { status: response.status, body: await response.text() };
  }
}

/** A database the sample app never reaches: / and POST / need none (readiness is the gate's business). */
const NO_DATABASE = "postgresql://nobody@127.0.0.1:1/none";

/**
 * The sample app's releases `names` built and loaded on every simulated host with the ops image (from the
 * current sources), blue and green started on one replica each without a database, and every host's
 * proxy container started (blue serving). Returns the fleet and each release's image.
 */
export async function startSampleFleet(
  sim: SimHosts,
  names: string[],
  colors: { blue: string; green: string },
): Promise<{ fleet: Fleet; images: Record<string, string> }> {
  const images = Object.fromEntries(names.map((name) => [name, buildSampleImage(name).ref]));
  const [opsImage] = await Promise.all([sim.buildOpsImage(), sim.buildAppImages(Object.values(images))]);
  const base = await freePortRange(3);
  const fleet = new Fleet(sim, opsImage, { proxy: base, blue: base + 1, green: base + 2 }, NO_DATABASE);
  await fleet.startColor("blue", colors.blue, images[colors.blue]);
  await fleet.startColor("green", colors.green, images[colors.green]);
  await fleet.startProxies();
  return { fleet, images };
}

/**
 * The fleet the canary and control-plane suites open with: Docker, three simulated hosts, the sample
 * releases v1, v2 and v4 on each, blue v1 serving, green v2 running, every front answering. The hosts
 * are stopped again when any of it fails.
 */
export async function startThreeHostFleet(
  context: Context,
): Promise<{ sim: SimHosts; fleet: Fleet; images: Record<string, string> }> {
  await needService(context, "Docker", ensureDocker);
  const sim = await needService(context, "simulated hosts (sshd, dockerd)", () => startSimHosts(3));
  try {
    const { fleet, images } = await needService(context, "the ops and app images on every host", () =>
      startSampleFleet(sim, ["v1", "v2", "v4"], { blue: "v1", green: "v2" }),
    );
    await untilEveryFrontAnswers(fleet, 60_000);
    return { sim, fleet, images };
  } catch (error) {
    sim.stop();
    throw error;
  }
}

/** Waits until every host's front answers 200 (proxy containers start, or restart after a test). */
export async function untilEveryFrontAnswers(fleet: Fleet, timeoutMs = 30_000): Promise<void> {
  for (const host of fleet.hosts) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const answer = await fleet.get(host).catch(() => undefined);
      if (answer?.status === 200) break;
      if (Date.now() > deadline) throw new Error(`${host.name}'s front does not answer 200`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** `node bin/greenlight-ops.js <step> --flag 'value' …`: components/step-command.ts's opsCommand, without Pulumi. */
export function opsLine(step: string, flags: Record<string, FlagValue>): string {
  return ["node bin/greenlight-ops.js", step, ...flagWords(flags).map(shellQuote)].join(" ");
}

/** A command line run as a local command resource runs it: `sh -c`, in the project folder, with `env` added. */
export function runHere(line: string, env: Record<string, string>, timeoutMs = 180_000): Promise<CommandRun> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", line], {
      cwd: PROJECT_DIR,
      env: { ...process.env, GREENLIGHT_WEBHOOK_URL: "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      const json = stdout
        .split("\n")
        .filter((entry) => entry.trim().startsWith("{"))
        .map((entry) => JSON.parse(entry) as Record<string, unknown>);
      resolve({ code: code ?? -1, stdout, stderr, json, ms: Date.now() - started });
    });
  });
}
