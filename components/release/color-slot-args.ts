// ColorSlot's arguments: their types and defaults, and the checks the constructor runs before it
// registers anything (a bad argument names the component, the argument and the value).
import * as pulumi from "@pulumi/pulumi";
import { canonicalDockerCpus } from "../../contract/docker";
import { APP_NAME, ENV_NAME } from "../../contract/patterns";
import { SSL_MODES } from "../../contract/database-tls";
import { parseCaCertificates } from "../../schema/database-ca";
import { COMPUTED_ENV, Color } from "../../schema/types";
import { ArgChecker } from "../arg-checker";
import type { DockerHost } from "./DockerHost";

/** Docker healthcheck timing. */
export interface HealthcheckTiming {
  /** Seconds between checks (default 5, the blue-green deployment procedures). */
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
  "memorySwap",
  "cpus",
  "healthcheck",
  "logDriver",
  "logOpts",
  "restart",
  "wait",
  "waitTimeout",
  "uploads",
];

/** The replicas of a color on one Docker host (stacks with hosts). */
export interface SlotPlacement {
  /** The host: its docker provider, name and replica address. */
  host: DockerHost;
  /** Replicas of this color on the host: local indices 0…replicas-1, ports hostPort+index. */
  replicas: number;
  /** The host's Docker network in bridge mode. */
  network?: pulumi.Input<string>;
}

/** Where a color's replicas answer: one entry per host (one local entry without hosts). */
export interface PlacedReplicas {
  /** The Docker host (unset: this machine). */
  host?: DockerHost;
  /** Address the replicas answer at on their host, as its proxy and gate reach them. */
  address: string;
  ports: number[];
  /** The replicas' Docker ids: new containers there run that host's gate again. */
  containerIds: pulumi.Output<string[]>;
}

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
  /**
   * Seconds a container being deleted gets between SIGTERM and SIGKILL to finish its requests (the
   * provider's destroyGraceSeconds; default 30, Docker's stop timeout is 10).
   */
  stopGraceSeconds?: number;
  /** Docker restart policy (default "unless-stopped"). */
  restartPolicy?: "no" | "on-failure" | "always" | "unless-stopped";
  /** json-file log rotation: size of one file (default "10m") and files kept (default 3). */
  logMaxSize?: string;
  logMaxFiles?: number;
  /** Plain environment variables, feature toggles included (e.g. FEATURE_NEW_CHECKOUT). */
  env?: Record<string, string>;
  /** Secret environment variables; each entry stays a secret in the state. */
  secretEnv?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /**
   * Where the app's PostgreSQL is, as the containers reach it, the role it connects as, and TLS: the
   * libpq sslmode, and the CA as PEM text (put in each container at DATABASE_CA_FILE, named by the URL).
   */
  database: {
    host: string;
    port: number;
    name: string;
    user: string;
    sslmode?: string;
    sslRootCert?: string;
  };
  /** Password of database.user; DATABASE_URL is built from it as a secret. */
  databasePassword: pulumi.Input<string>;
  /**
   * The color keeps running what it was deployed with: app-wide changes (env, limits, healthcheck,
   * logging) reach it with its next release instead of replacing a color that may be serving. Default false.
   */
  warm?: boolean;
  /**
   * The Docker hosts the replicas spread over, with how many on each (their sum is `replicas`); each
   * host pulls the image and runs its replicas through its own provider. Unset: this machine's Docker.
   */
  placement?: SlotPlacement[];
  /** Check the image is on the Docker host before creating containers (default true). */
  checkImage?: boolean;
  /** Let that check pull a missing image (default true; false for registry-less hosts). */
  pullImage?: boolean;
}

/** The settings the checks resolve from their defaults, for the containers. */
export interface CheckedColorSlotArgs {
  appPort: number;
  timing: HealthcheckTiming;
  waitTimeout: number;
  /** cpus in the form the docker provider reads back ("2" → "2.0"). */
  cpus: string;
  stopGraceSeconds: number;
}

/** Default of ColorSlotArgs.stopGraceSeconds. */
export const DEFAULT_STOP_GRACE_SECONDS = 30;

/** Checks every argument of ColorSlot `name` in order; throws on the first bad one. */
export function checkColorSlotArgs(name: string, args: ColorSlotArgs): CheckedColorSlotArgs {
  const check = new ArgChecker("ColorSlot", name);
  check.require(APP_NAME.test(args.app), "app", args.app, "a lower-case name of letters, digits and '-'");
  check.stack("stack", args.stack);
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
    args.networkMode === "host" || args.network !== undefined || args.placement !== undefined,
    "network",
    args.network,
    "a Docker network name in bridge mode",
  );
  check.integer("memoryMb", args.memoryMb, 16, 262144, "MB");
  const cpus = /^\d{1,3}(\.\d{1,3})?$/.test(args.cpus) ? canonicalDockerCpus(args.cpus) : undefined;
  check.require(
    cpus !== undefined && Number(args.cpus) > 0,
    "cpus",
    args.cpus,
    "a number of CPUs such as 0.5 that the docker provider reads back as the same number (0.05 reads back as 0.1)",
  );
  check.path("healthPath", args.healthPath);
  const timing = args.healthcheck ?? DEFAULT_HEALTHCHECK;
  check.integer("healthcheck.intervalSeconds", timing.intervalSeconds, 1, 300, "seconds");
  check.integer("healthcheck.timeoutSeconds", timing.timeoutSeconds, 1, 120, "seconds");
  check.integer("healthcheck.retries", timing.retries, 1, 100, "retries");
  check.integer("healthcheck.startPeriodSeconds", timing.startPeriodSeconds, 0, 3600, "seconds");
  const waitTimeout = args.waitTimeoutSeconds ?? 120;
  check.integer("waitTimeoutSeconds", waitTimeout, 1, 3600, "seconds");
  const stopGraceSeconds = args.stopGraceSeconds ?? DEFAULT_STOP_GRACE_SECONDS;
  check.integer("stopGraceSeconds", stopGraceSeconds, 1, 3600, "seconds");
  check.require(
    /^\d{1,4}[kmg]$/.test(args.logMaxSize ?? "10m"),
    "logMaxSize",
    args.logMaxSize,
    "a size such as 10m",
  );
  check.integer("logMaxFiles", args.logMaxFiles ?? 3, 1, 100, "files");
  check.host("database.host", args.database.host);
  check.port("database.port", args.database.port);
  check.sqlIdentifier("database.name", args.database.name);
  check.sqlIdentifier("database.user", args.database.user);
  check.require(
    args.database.sslmode === undefined || (SSL_MODES as readonly string[]).includes(args.database.sslmode),
    "database.sslmode",
    args.database.sslmode,
    SSL_MODES.join(", "),
  );
  check.require(
    args.database.sslRootCert === undefined ||
      typeof parseCaCertificates(args.database.sslRootCert) !== "string",
    "database.sslRootCert",
    args.database.sslRootCert?.slice(0, 40),
    "PEM text with at least one CA certificate",
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
  if (args.placement !== undefined) {
    const total = args.placement.reduce((sum, share) => sum + share.replicas, 0);
    check.require(
      total === args.replicas,
      "placement",
      total,
      `replicas spread over the hosts adding up to ${args.replicas}`,
    );
    args.placement.forEach((share, index) => {
      check.require(
        share.host.pulledImages[args.color] === args.image,
        `placement[${index}].host`,
        share.host.pulledImages[args.color],
        `a host that pulls ${args.image} for ${args.color} (DockerHost args.images)`,
      );
      check.integer(
        `placement[${index}].replicas`,
        share.replicas,
        1,
        16,
        "replicas (each host needs one of each color)",
      );
      check.require(
        args.networkMode === "host" || share.network !== undefined,
        `placement[${index}].network`,
        share.network,
        "the host's Docker network in bridge mode",
      );
    });
  }
  return { appPort, timing, waitTimeout, cpus: cpus as string, stopGraceSeconds };
}
