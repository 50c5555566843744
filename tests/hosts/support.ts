// One app released on the simulated hosts the way the program does it: per host, the replicas of each
// color (host network, bound to the host's address), the proxy container (`greenlight-proxy-<app>-<stack>`
// from the ops image) and the health gate, and one coordinator on the first host that switches every
// host's proxy. Every step runs as the exact command string the program sends (ops/hosts/remote.ts),
// over SSH, with secrets passed as SSH environment only.
import { Color } from "../../schema/types";
import {
  HostProxySettings,
  FlagValue,
  opsExecCommand,
  opsRunCommand,
  proxyContainerName,
  proxyRunCommand,
} from "../../ops/hosts/remote";
import { replicaRunArgs } from "../ops/support/release";
import { CommandRun, SimHost, SimHosts } from "../support/hosts";

export interface FleetPorts {
  proxy: number;
  admin: number;
  log: number;
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

  /** The first host: the coordinator runs there, every proxy's access log goes there. */
  get coordinator(): SimHost {
    return this.sim.hosts[0];
  }

  proxySettings(host: SimHost): HostProxySettings {
    return {
      privateAddress: host.address,
      listenAddress: host.address,
      proxyPort: this.ports.proxy,
      adminPort: this.ports.admin,
      logAddress: this.coordinator.address,
      logPort: this.ports.log,
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

  /** The coordinator's flags: every host, the admin, proxy and log ports, no guard unless asked. */
  private switchFlags(
    color: Color,
    release: string,
    flags: Record<string, FlagValue>,
  ): Record<string, FlagValue> {
    return {
      color,
      release,
      host: this.hosts.map((host) => `${host.name}=${host.address}`),
      "admin-port": this.ports.admin,
      "proxy-port": this.ports.proxy,
      "log-address": this.coordinator.address,
      "log-port": this.ports.log,
      "check-interval-ms": 500,
      "guard-seconds": 0,
      ...flags,
    };
  }

  /** The coordinator's command: switch every host, warm up, guard (`exec`: inside the first host's proxy container). */
  switchCommand(
    color: Color,
    release: string,
    flags: Record<string, FlagValue> = {},
    via: "run" | "exec" = "run",
  ): string {
    const all = this.switchFlags(color, release, flags);
    return via === "run"
      ? opsRunCommand(this.opsImage, "switch-hosts", all, { envNames: STEP_ENV_NAMES })
      : opsExecCommand(this.proxyContainer, "switch-hosts", all, STEP_ENV_NAMES);
  }

  switch(
    color: Color,
    release: string,
    flags: Record<string, FlagValue> = {},
    env: Record<string, string> = {},
    via: "run" | "exec" = "run",
  ): Promise<CommandRun> {
    return this.sim.ssh(this.coordinator, this.switchCommand(color, release, flags, via), env);
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

  /** One fresh request through a host's front. */
  async get(host: SimHost): Promise<{ status: number; body: string }> {
    const response = await fetch(this.frontUrl(host));
    return { status: response.status, body: await response.text() };
  }
}
