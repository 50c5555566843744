import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { COMPONENT, LABEL } from "../../policies/lib/contract";
import { APP_NAME, ENV_NAME } from "../../schema/patterns";
import { COMPUTED_ENV, Color } from "../../schema/types";
import { ArgChecker } from "./args";
import { opsCommand } from "../step-command";

/** Docker healthcheck timing. */
export interface HealthcheckTiming {
  /** Seconds between checks (default 5, seed 001). */
  intervalSeconds: number;
  /** Seconds one check may take (default 3). */
  timeoutSeconds: number;
  /** Failures before Docker calls the container unhealthy (default 5). */
  retries: number;
  /** Seconds after start during which failures do not count (default 5). */
  startPeriodSeconds: number;
}

export const DEFAULT_HEALTHCHECK: HealthcheckTiming = {
  intervalSeconds: 5,
  timeoutSeconds: 3,
  retries: 5,
  startPeriodSeconds: 5,
};

/** Settings Docker keeps on a container that app-wide config changes touch; see `warm`. */
export const WARM_IGNORED_PROPERTIES = [
  "envs",
  "memory",
  "cpus",
  "healthcheck",
  "logDriver",
  "logOpts",
  "restart",
  "wait",
  "waitTimeout",
];

export interface ColorSlotArgs {
  /** Application name; containers are named `<app>-<stack>-<color>-<replica>`. */
  app: string;
  /** Stack name, for container names and the LABEL.stack label. */
  stack: string;
  /** The color this slot runs: blue or green. */
  color: Color;
  /** Release id the containers run (label and RELEASE_ID). */
  release: string;
  /** Image reference; production pins it by digest. */
  image: string;
  /** Host port of replica 0; replica i is published on 127.0.0.1:hostPort+i. */
  hostPort: number;
  /** Containers in this color (1-16). */
  replicas: number;
  /** Port the app listens on inside its container in bridge mode (default 3000); in host mode PORT is hostPort+i. */
  appPort?: number;
  /** bridge: the shared `network`, ports published on 127.0.0.1; host: the host's network. */
  networkMode: "bridge" | "host";
  /** Name of the shared Docker network (bridge mode only). */
  network?: pulumi.Input<string>;
  /** Memory limit per container, in MB. */
  memoryMb: number;
  /** CPU limit per container, in CPUs, e.g. "0.5". */
  cpus: string;
  /** Liveness path the Docker healthcheck requests. */
  healthPath: string;
  /** Docker healthcheck timing (default DEFAULT_HEALTHCHECK). */
  healthcheck?: HealthcheckTiming;
  /** Healthcheck command in exec form (default: the image's node binary probing healthPath, no curl needed). */
  healthcheckCommand?: string[];
  /** Seconds Pulumi waits for each container to be healthy (default 120). */
  waitTimeoutSeconds?: number;
  /** Docker restart policy (default "unless-stopped"). */
  restartPolicy?: "no" | "on-failure" | "always" | "unless-stopped";
  /** json-file log rotation: size of one file (default "10m") and files kept (default 3). */
  logMaxSize?: string;
  logMaxFiles?: number;
  /** Plain environment variables, feature toggles included (e.g. FEATURE_NEW_CHECKOUT). */
  env?: Record<string, string>;
  /** Secret environment variables; each entry stays a secret in the state. */
  secretEnv?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Where the app's PostgreSQL is, as the containers reach it, and the role it connects as. */
  database: { host: string; port: number; name: string; user: string };
  /** Password of database.user; DATABASE_URL is built from it as a secret. */
  databasePassword: pulumi.Input<string>;
  /**
   * The color keeps running what it was deployed with: app-wide changes (env, limits, healthcheck,
   * logging) reach it with its next release instead of replacing a color that may be serving. Default false.
   */
  warm?: boolean;
  /** Check the image is on the Docker host before creating containers (default true). */
  checkImage?: boolean;
  /** Let that check pull a missing image (default true; false for registry-less hosts). */
  pullImage?: boolean;
}

/** One color of the app: its replicas as Docker containers. */
export class ColorSlot extends pulumi.ComponentResource {
  readonly color: Color;
  readonly release: string;
  readonly image: string;
  /** Host ports of the replicas, replica i at index i. */
  readonly ports: number[];
  /** http://127.0.0.1:<port> of each replica, for the gate. */
  readonly endpoints: string[];
  readonly containers: docker.Container[];
  readonly containerNames: pulumi.Output<string[]>;

  constructor(name: string, args: ColorSlotArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT.colorSlot, name, {}, opts);
    const check = new ArgChecker("ColorSlot", name);
    check.require(APP_NAME.test(args.app), "app", args.app, "a lower-case name of letters, digits and '-'");
    check.require(/^[A-Za-z0-9._-]{1,64}$/.test(args.stack), "stack", args.stack, "a stack name");
    check.color("color", args.color);
    check.release("release", args.release);
    check.image("image", args.image);
    check.integer("replicas", args.replicas, 1, 16, "replicas");
    check.portRange("hostPort", args.hostPort, args.replicas);
    const appPort = args.appPort ?? 3000;
    check.port("appPort", appPort);
    check.require(
      ["bridge", "host"].includes(args.networkMode),
      "networkMode",
      args.networkMode,
      "bridge or host",
    );
    check.require(
      args.networkMode === "host" || args.network !== undefined,
      "network",
      args.network,
      "a Docker network name in bridge mode",
    );
    check.integer("memoryMb", args.memoryMb, 16, 262144, "MB");
    check.require(
      /^\d{1,3}(\.\d{1,3})?$/.test(args.cpus) && Number(args.cpus) > 0,
      "cpus",
      args.cpus,
      "a number of CPUs such as 0.5",
    );
    check.path("healthPath", args.healthPath);
    const timing = args.healthcheck ?? DEFAULT_HEALTHCHECK;
    check.integer("healthcheck.intervalSeconds", timing.intervalSeconds, 1, 300, "seconds");
    check.integer("healthcheck.timeoutSeconds", timing.timeoutSeconds, 1, 120, "seconds");
    check.integer("healthcheck.retries", timing.retries, 1, 100, "retries");
    check.integer("healthcheck.startPeriodSeconds", timing.startPeriodSeconds, 0, 3600, "seconds");
    const waitTimeout = args.waitTimeoutSeconds ?? 120;
    check.integer("waitTimeoutSeconds", waitTimeout, 1, 3600, "seconds");
    check.require(
      /^\d{1,4}[kmg]$/.test(args.logMaxSize ?? "10m"),
      "logMaxSize",
      args.logMaxSize,
      "a size such as 10m",
    );
    check.integer("logMaxFiles", args.logMaxFiles ?? 3, 1, 100, "files");
    check.host("database.host", args.database.host);
    check.port("database.port", args.database.port);
    check.require(
      /^[a-z_][a-z0-9_]{0,62}$/.test(args.database.name),
      "database.name",
      args.database.name,
      "a PostgreSQL identifier",
    );
    check.require(
      /^[a-z_][a-z0-9_]{0,62}$/.test(args.database.user),
      "database.user",
      args.database.user,
      "a PostgreSQL identifier",
    );
    for (const key of Object.keys(args.env ?? {})) {
      check.require(ENV_NAME.test(key), "env", key, "environment variable names ([A-Z_][A-Z0-9_]*)");
      check.require(
        !(COMPUTED_ENV as readonly string[]).includes(key),
        "env",
        key,
        `a name greenlight does not set itself (${COMPUTED_ENV.join(", ")})`,
      );
    }

    this.color = args.color;
    this.release = args.release;
    this.image = args.image;
    this.ports = Array.from({ length: args.replicas }, (_, replica) => args.hostPort + replica);
    this.endpoints = this.ports.map((port) => `http://127.0.0.1:${port}`);

    const dependsOn: pulumi.Resource[] = [];
    if (args.checkImage ?? true) {
      dependsOn.push(
        new command.local.Command(
          `${name}-image`,
          {
            create: opsCommand("image", { image: args.image, "no-pull": args.pullImage === false }),
            triggers: [args.image],
          },
          { parent: this },
        ),
      );
    }

    const { database } = args;
    const databaseUrl = pulumi.secret(
      pulumi
        .output(args.databasePassword)
        .apply(
          (password) =>
            `DATABASE_URL=postgresql://${database.user}:${encodeURIComponent(password)}@${database.host}:${database.port}/${database.name}`,
        ),
    );
    const secretEntries = secretEnvEntries(name, args.secretEnv);
    const hosted = args.networkMode === "host";

    this.containers = this.ports.map((hostPort, replica) => {
      const listenPort = hosted ? hostPort : appPort;
      const plain = [
        `PORT=${listenPort}`,
        `APP_COLOR=${args.color}`,
        `RELEASE_ID=${args.release}`,
        ...Object.entries(args.env ?? {})
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([key, value]) => `${key}=${value}`),
      ];
      const envs: pulumi.Input<pulumi.Input<string>[]> = pulumi.Output.isInstance(secretEntries)
        ? pulumi.secret(
            pulumi.all([databaseUrl, secretEntries]).apply(([url, entries]) => [...plain, url, ...entries]),
          )
        : [...plain, databaseUrl, ...secretEntries];
      return new docker.Container(
        `${name}-${replica}`,
        {
          name: `${args.app}-${args.stack}-${args.color}-${replica}`,
          image: args.image,
          envs,
          labels: [
            { label: LABEL.app, value: args.app },
            { label: LABEL.color, value: args.color },
            { label: LABEL.release, value: args.release },
            { label: LABEL.stack, value: args.stack },
          ],
          memory: args.memoryMb,
          cpus: args.cpus,
          healthcheck: {
            tests: ["CMD", ...(args.healthcheckCommand ?? nodeProbe(listenPort, args.healthPath))],
            interval: `${timing.intervalSeconds}s`,
            timeout: `${timing.timeoutSeconds}s`,
            retries: timing.retries,
            startPeriod: `${timing.startPeriodSeconds}s`,
          },
          wait: true,
          waitTimeout,
          restart: args.restartPolicy ?? "unless-stopped",
          logDriver: "json-file",
          logOpts: { "max-size": args.logMaxSize ?? "10m", "max-file": String(args.logMaxFiles ?? 3) },
          ...(hosted
            ? { networkMode: "host" }
            : {
                networkMode: "bridge",
                networksAdvanced: [{ name: args.network as pulumi.Input<string> }],
                ports: [{ internal: appPort, external: hostPort, ip: "127.0.0.1" }],
              }),
        },
        {
          parent: this,
          dependsOn,
          // Fixed names and host ports: the old container must go before its replacement can start.
          deleteBeforeReplace: true,
          ignoreChanges: args.warm ? WARM_IGNORED_PROPERTIES : [],
        },
      );
    });
    this.containerNames = pulumi.all(this.containers.map((container) => container.name));
    this.registerOutputs({
      color: this.color,
      release: this.release,
      image: this.image,
      ports: this.ports,
      endpoints: this.endpoints,
      containerNames: this.containerNames,
    });
  }
}

/** A healthcheck that needs only the node binary the image already has (no shell, no curl). */
export function nodeProbe(port: number, healthPath: string): string[] {
  return [
    "/usr/bin/node",
    "-e",
    `require('http').get('http://127.0.0.1:${port}${healthPath}',r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))`,
  ];
}

/**
 * Secret env as container entries. With the names known (a plain record) each entry is its own
 * secret, so the plain entries stay readable in diffs; a record that is itself an Output (names
 * unknown until it resolves) makes one secret list.
 */
function secretEnvEntries(
  name: string,
  secretEnv: pulumi.Input<Record<string, pulumi.Input<string>>> | undefined,
): pulumi.Output<string>[] | pulumi.Output<string[]> {
  const checkKey = (key: string) => {
    if (!ENV_NAME.test(key) || (COMPUTED_ENV as readonly string[]).includes(key)) {
      throw new Error(
        `ColorSlot ${name}: args.secretEnv ${JSON.stringify(key)} is invalid: expected an environment variable name greenlight does not set itself`,
      );
    }
  };
  if (secretEnv === undefined) return [];
  if (pulumi.Output.isInstance(secretEnv) || secretEnv instanceof Promise) {
    return pulumi.secret(
      pulumi.output(secretEnv).apply((record) =>
        Object.entries(record)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([key, value]) => {
            checkKey(key);
            return `${key}=${value}`;
          }),
      ),
    );
  }
  const record = secretEnv as Record<string, pulumi.Input<string>>;
  return Object.keys(record)
    .sort()
    .map((key) => {
      checkKey(key);
      return pulumi.secret(pulumi.output(record[key]).apply((value) => `${key}=${value}`));
    });
}
