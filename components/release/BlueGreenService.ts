import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { COMPONENT, LABEL } from "../../contract/resources";
import { COLORS, Color, otherColor } from "../../schema/types";
import { ArgChecker } from "../arg-checker";
import { ColorSlot, HealthcheckTiming } from "./ColorSlot";
import type { DockerHost } from "./DockerHost";

/** What one color runs. */
export interface ColorSpec {
  /** Release id of the color. */
  release: string;
  /** Image of the color (pinned by digest in production). */
  image: string;
  /** Host port of replica 0; replica i on hostPort+i. */
  hostPort: number;
}

export interface BlueGreenServiceArgs {
  /** Application name (container and network names). */
  app: string;
  /** Stack name (container and network names, labels). */
  stack: string;
  /** Both colors as configured. */
  colors: Record<Color, ColorSpec>;
  /** The color this update releases and activates (config activeColor); the other stays warm. */
  targetColor: Color;
  /** Containers per color (1-16). */
  replicas: number;
  /** Port the app listens on inside its container in bridge mode (default 3000). */
  appPort?: number;
  /** bridge: a shared Docker network with ports on 127.0.0.1; host: the host's network. */
  networkMode: "bridge" | "host";
  /** Memory limit per container, in MB. */
  memoryMb: number;
  /** CPU limit per container, e.g. "0.5". */
  cpus: string;
  /** Liveness path of the Docker healthcheck. */
  healthPath: string;
  /** Docker healthcheck timing (default: DEFAULT_HEALTHCHECK in color-slot-args.ts). */
  healthcheck?: HealthcheckTiming;
  /** Seconds Pulumi waits for each container to turn healthy (default 120). */
  waitTimeoutSeconds?: number;
  /** Plain environment variables (feature toggles included). */
  env?: Record<string, string>;
  /** Secret environment variables. */
  secretEnv?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** PostgreSQL as the containers reach it, the app role, and TLS (sslmode, the CA as PEM text). */
  database: {
    host: string;
    port: number;
    name: string;
    user: string;
    sslmode?: string;
    sslRootCert?: string;
  };
  /** Password of the app role (secret). */
  databasePassword: pulumi.Input<string>;
  /** The color that received the newest release (config latestColor); defaults to targetColor. */
  latestColor?: Color;
  /**
   * What the latest color waits for before its containers start: the migration of its release. A flip
   * back to the warm color waits for nothing (its release was migrated when it was new).
   */
  latestDependsOn?: pulumi.Input<pulumi.Resource>[];
  /** Let the image check pull missing images (default true). */
  pullImages?: boolean;
  /** The Docker hosts and how many replicas of each color each runs (sum: replicas); unset: this machine. */
  hosts?: { host: DockerHost; replicas: number }[];
}

/**
 * Both colors of the app. The target color runs the new release, after `targetDependsOn`; the other
 * color keeps running what it has (warm), so a rollback is a flip of the proxy. Same args, same inputs.
 */
export class BlueGreenService extends pulumi.ComponentResource {
  readonly slots: Record<Color, ColorSlot>;
  /** The color this update activates. */
  readonly target: ColorSlot;
  /** The color that stays running for a flip back. */
  readonly warm: ColorSlot;
  /** The shared network (bridge mode, this machine). */
  readonly network?: docker.Network;
  /** One network per Docker host (bridge mode, stacks with hosts). */
  readonly hostNetworks: docker.Network[] = [];

  constructor(name: string, args: BlueGreenServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT.blueGreenService, name, {}, opts);
    const check = new ArgChecker("BlueGreenService", name);
    check.color("targetColor", args.targetColor);
    check.integer("replicas", args.replicas, 1, 16, "replicas");
    for (const color of COLORS) {
      check.require(
        args.colors?.[color] !== undefined,
        `colors.${color}`,
        args.colors?.[color],
        `the ${color} color's release, image and hostPort`,
      );
      check.portRange(`colors.${color}.hostPort`, args.colors[color].hostPort, args.replicas);
    }
    const [blueLow, greenLow] = [args.colors.blue.hostPort, args.colors.green.hostPort];
    check.require(
      blueLow + args.replicas - 1 < greenLow || greenLow + args.replicas - 1 < blueLow,
      "colors.green.hostPort",
      greenLow,
      `ports that do not overlap blue's ${blueLow}-${blueLow + args.replicas - 1} (${args.replicas} replicas per color)`,
    );

    const networkArgs = {
      name: `${args.app}-${args.stack}`,
      driver: "bridge",
      labels: [{ label: LABEL.stack, value: args.stack }],
    };
    const placement = args.hosts?.map(({ host, replicas }) => {
      const network =
        args.networkMode === "bridge"
          ? new docker.Network(`${name}-network-${host.name}`, networkArgs, {
              parent: this,
              provider: host.provider,
            })
          : undefined;
      if (network) this.hostNetworks.push(network);
      return { host, replicas, network: network?.name };
    });
    if (args.networkMode === "bridge" && placement === undefined) {
      this.network = new docker.Network(`${name}-network`, networkArgs, { parent: this });
    }
    const latestColor = args.latestColor ?? args.targetColor;
    check.color("latestColor", latestColor);
    const slot = (color: Color) => {
      const target = color === args.targetColor;
      return new ColorSlot(
        `${name}-${color}`,
        {
          app: args.app,
          stack: args.stack,
          color,
          release: args.colors[color].release,
          image: args.colors[color].image,
          hostPort: args.colors[color].hostPort,
          replicas: args.replicas,
          appPort: args.appPort,
          networkMode: args.networkMode,
          network: this.network?.name,
          memoryMb: args.memoryMb,
          cpus: args.cpus,
          healthPath: args.healthPath,
          healthcheck: args.healthcheck,
          waitTimeoutSeconds: args.waitTimeoutSeconds,
          env: args.env,
          secretEnv: args.secretEnv,
          database: args.database,
          databasePassword: args.databasePassword,
          warm: !target,
          pullImage: args.pullImages,
          placement,
        },
        { parent: this, dependsOn: color === latestColor ? args.latestDependsOn : undefined },
      );
    };
    this.slots = { blue: slot("blue"), green: slot("green") };
    this.target = this.slots[args.targetColor];
    this.warm = this.slots[otherColor(args.targetColor)];
    this.registerOutputs({
      targetColor: args.targetColor,
      targetRelease: this.target.release,
      warmColor: this.warm.color,
      warmRelease: this.warm.release,
    });
  }
}
