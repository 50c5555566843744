import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { COMPONENT, LABEL } from "../../contract/resources";
import { ENV_NAME } from "../../contract/patterns";
import { DATABASE_CA_FILE } from "../../contract/database-tls";
import { COMPUTED_ENV, Color } from "../../schema/types";
import { goDuration } from "../../contract/docker";
import { databaseUrl } from "../database-url";
import { opsCommand, stepCommand } from "../step-command";
import {
  ColorSlotArgs,
  PlacedReplicas,
  WARM_IGNORED_PROPERTIES,
  checkColorSlotArgs,
} from "./color-slot-args";

export type { ColorSlotArgs, HealthcheckTiming, PlacedReplicas } from "./color-slot-args";
export { WARM_IGNORED_PROPERTIES } from "./color-slot-args";

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
  /** Docker ids of the replicas: new ids mean new containers, which the gate and the switch must see. */
  readonly containerIds: pulumi.Output<string[]>;
  /** Where the replicas run: one entry per Docker host (a single local entry without hosts). */
  readonly placed: PlacedReplicas[];

  constructor(name: string, args: ColorSlotArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT.colorSlot, name, {}, opts);
    const { appPort, timing, waitTimeout, cpus, stopGraceSeconds } = checkColorSlotArgs(name, args);

    this.color = args.color;
    this.release = args.release;
    this.image = args.image;
    this.ports = Array.from({ length: args.replicas }, (_, replica) => args.hostPort + replica);
    this.endpoints = this.ports.map((port) => `http://127.0.0.1:${port}`);

    const { database } = args;
    const databaseEnv = pulumi.secret(
      pulumi.output(args.databasePassword).apply((password) => databaseUrlEntry(database, password)),
    );
    const secretEntries = secretEnvEntries(name, args.secretEnv);
    const hosted = args.networkMode === "host";

    /** One replica: local index `replica` on its Docker host, published on `publishIp`. */
    const replicaContainer = (
      resourceName: string,
      replica: number,
      where: {
        provider?: docker.Provider;
        network?: pulumi.Input<string>;
        publishIp: string;
        host?: string;
        /** What that host's engine names the image by (an ssh delivery's checked id); default args.image. */
        image?: string;
      },
      dependsOn: pulumi.Resource[],
    ): docker.Container => {
      const hostPort = args.hostPort + replica;
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
            pulumi.all([databaseEnv, secretEntries]).apply(([url, entries]) => [...plain, url, ...entries]),
          )
        : [...plain, databaseEnv, ...secretEntries];
      return new docker.Container(
        resourceName,
        {
          name: `${args.app}-${args.stack}-${args.color}-${replica}`,
          image: where.image ?? args.image,
          envs,
          labels: [
            { label: LABEL.app, value: args.app },
            { label: LABEL.color, value: args.color },
            { label: LABEL.release, value: args.release },
            { label: LABEL.stack, value: args.stack },
            ...(where.host ? [{ label: LABEL.host, value: where.host }] : []),
          ],
          // The database's CA, where DATABASE_URL's sslrootcert names it (written before the container starts).
          ...(database.sslRootCert !== undefined
            ? { uploads: [{ file: DATABASE_CA_FILE, content: database.sslRootCert }] }
            : {}),
          // Every value in the form the provider reads back (contract/docker.ts), so a second update changes nothing.
          memory: args.memoryMb,
          // Docker's own default written out: unset, Docker stores twice the limit and the provider sees a change.
          memorySwap: args.memoryMb * 2,
          cpus,
          healthcheck: {
            tests: ["CMD", ...(args.healthcheckCommand ?? nodeProbe(listenPort, args.healthPath))],
            interval: goDuration(timing.intervalSeconds),
            timeout: goDuration(timing.timeoutSeconds),
            retries: timing.retries,
            startPeriod: goDuration(timing.startPeriodSeconds),
          },
          // The provider stops a container it deletes with this timeout (0 s unset): the app drains first.
          destroyGraceSeconds: stopGraceSeconds,
          wait: true,
          waitTimeout,
          restart: args.restartPolicy ?? "unless-stopped",
          logDriver: "json-file",
          logOpts: { "max-size": args.logMaxSize ?? "10m", "max-file": String(args.logMaxFiles ?? 3) },
          ...(hosted
            ? { networkMode: "host" }
            : {
                networkMode: "bridge",
                networksAdvanced: [{ name: where.network as pulumi.Input<string> }],
                ports: [{ internal: appPort, external: hostPort, ip: where.publishIp }],
              }),
        },
        {
          parent: this,
          provider: where.provider,
          dependsOn,
          // Fixed names and host ports: the old container must go before its replacement can start.
          deleteBeforeReplace: true,
          // The provider records a new healthcheck but never applies it to a running container: replace it.
          replaceOnChanges: ["healthcheck"],
          ignoreChanges: args.warm ? WARM_IGNORED_PROPERTIES : [],
        },
      );
    };

    if (args.placement === undefined) {
      const dependsOn: pulumi.Resource[] = [];
      if (args.checkImage ?? true) {
        dependsOn.push(
          stepCommand(
            `${name}-image`,
            {
              create: opsCommand("image", { image: args.image, "no-pull": args.pullImage === false }),
              triggers: [args.image],
            },
            { parent: this },
          ),
        );
      }
      this.containers = this.ports.map((_, replica) =>
        replicaContainer(
          `${name}-${replica}`,
          replica,
          { network: args.network, publishIp: "127.0.0.1" },
          dependsOn,
        ),
      );
      this.placed = [
        {
          address: "127.0.0.1",
          ports: this.ports,
          containerIds: pulumi.all(this.containers.map((container) => container.id)),
        },
      ];
    } else {
      this.containers = [];
      this.placed = args.placement.map((share) => {
        // Pulled by the host's own engine (by digest in production, with the registry's credentials) or
        // delivered from the runner (checked by id), before its replicas start and a migration there runs it.
        const pulled = share.host.pulls[args.color];
        const containers = Array.from({ length: share.replicas }, (_, replica) =>
          replicaContainer(
            `${name}-${share.host.name}-${replica}`,
            replica,
            {
              provider: share.host.provider,
              network: share.network,
              publishIp: share.host.settings.replicaAddress,
              host: share.host.name,
              image: share.host.hostImages[args.color],
            },
            [pulled],
          ),
        );
        this.containers.push(...containers);
        return {
          host: share.host,
          address: share.host.settings.replicaAddress,
          ports: containers.map((_, replica) => args.hostPort + replica),
          containerIds: pulumi.all(containers.map((container) => container.id)),
        };
      });
    }
    this.containerNames = pulumi.all(this.containers.map((container) => container.name));
    this.containerIds = pulumi.all(this.containers.map((container) => container.id));
    this.registerOutputs({
      color: this.color,
      release: this.release,
      image: this.image,
      ports: this.ports,
      endpoints: this.endpoints,
      containerNames: this.containerNames,
      containerIds: this.containerIds,
    });
  }
}

/** The app's `DATABASE_URL=…` entry: its role, the stack's sslmode, and the CA file when the slot uploads one. */
export function databaseUrlEntry(database: ColorSlotArgs["database"], password: string): string {
  const target = { ...database, database: database.name, withRootCert: database.sslRootCert !== undefined };
  return `DATABASE_URL=${databaseUrl(target, password)}`;
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
