import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import {
  HostProxySettings,
  PROXY_ADMIN_SOCKET_IN_VOLUME,
  PROXY_CAPABILITIES,
  PROXY_STATE_MOUNT,
  proxyCommandArgs,
  proxyContainerName,
} from "../../ops/hosts/remote";
import { COMPONENT, LABEL, STEP, STEP_ENV } from "../../contract/resources";
import { APP_NAME, FS_PATH, HOST_NAME, SSH_USER } from "../../contract/patterns";
import { HOST_KEY, parseHostKey } from "../../contract/host-key";
import { COLORS, Color, HostSettings } from "../../schema/types";
import { HostConnection, ONCE_PER_RELEASE, StepResource, opsCommand, stepCommand } from "../step-command";
import { ArgChecker } from "../arg-checker";
import { ImageDelivery, deliverFlags, deliveredImage } from "./delivery";

/** The ops image as built where Pulumi runs (OpsImage): what each host gets over SSH. */
export interface OpsImageBuilt {
  /** greenlight-ops:<content tag>: the tag it carries on the hosts, the program's version. */
  name: string;
  /** Its image id (sha256:<64 hex>), checked on each host on arrival. */
  id: pulumi.Input<string>;
}

export interface DockerHostArgs {
  /** The host: name, SSH address, user and port, private and replica addresses. */
  host: HostSettings;
  /** Application and stack: the proxy container is greenlight-proxy-<app>-<stack>. */
  app: string;
  stack: string;
  /** The SSH private key of host.user (a secret), for the remote steps. */
  privateKey: pulumi.Input<string>;
  /** The ops image built where Pulumi runs, sent to the host over SSH by the ops CLI's deliver step. */
  opsImage: OpsImageBuilt;
  /** How the release images reach the host: its engine pulls them (registry) or the runner sends them (ssh). */
  delivery: ImageDelivery;
  /** This host's proxy: where it listens and its replicas. */
  proxy: HostProxySettings;
  /**
   * The known_hosts file the docker provider's ssh reads (written from every host's pinned key by
   * stageKnownHosts), relative to the project folder the engine runs providers in.
   */
  knownHostsFile: string;
  /** What everything on the host waits for: the release record, and the host before it (one front at a time). */
  after?: pulumi.Resource[];
  /**
   * When the host's key is checked: after `after` (default: args.after), and again whenever `every`
   * changes (the release record's report: every update that runs a step).
   */
  hostKeyCheck?: { after: pulumi.Resource[]; every?: pulumi.Input<unknown> };
  /** Each color's release image, pulled by the host's engine or delivered before any step or replica needs it. */
  images: Record<Color, string>;
  /** The registry the release images come from and its credentials (the password a secret); unset: public images. */
  registry?: RegistryCredentials;
}

/** Credentials of the registry the hosts pull release images from (greenlight:registry*). */
export interface RegistryCredentials {
  /** Registry address, e.g. registry.example.com. */
  server: string;
  username: string;
  password: pulumi.Input<string>;
}

/** Seconds HAProxy's soft stop gets before the container is killed: requests in flight finish. */
export const PROXY_STOP_SECONDS = 35;

/**
 * The docker provider's ssh options: the host's key pinned through a known_hosts file written from config
 * (no other known_hosts consulted, none updated), only the pinned key's type offered, no prompt. The
 * provider runs `ssh <these> -l <user> -p <port> -- <host> docker system dial-stdio` (docker/cli
 * cli/connhelper/connhelper.go, used by kreuzwerker/terraform-provider-docker internal/provider/config.go).
 */
export function dockerSshOptions(knownHostsFile: string, hostKey: string): string[] {
  return [
    ["BatchMode", "yes"],
    ["ConnectTimeout", "10"],
    ["StrictHostKeyChecking", "yes"],
    ["UserKnownHostsFile", knownHostsFile],
    ["GlobalKnownHostsFile", "/dev/null"],
    ["UpdateHostKeys", "no"],
    ["HostKeyAlgorithms", parseHostKey(hostKey).type],
  ].flatMap(([option, value]) => ["-o", `${option}=${value}`]);
}

/**
 * One Docker host of a stack with hosts: the check of its pinned SSH key (a local step that compares the
 * key the host presents with the pinned one before authenticating, naming both fingerprints when they
 * differ), its docker provider over SSH (`ssh://user@address:port`, the key pinned in its known_hosts),
 * the ops image (built where Pulumi runs) and, with ssh delivery, the release images sent from the
 * runner over SSH and checked by id on arrival (no registry, no build on the host), and its traffic
 * proxy as a container of the ops image (host network, a state volume, restarted with the host, HAProxy's
 * workers as nobody). Every container, image and step of the host goes through `provider`, after the
 * check; its remote steps connect with `connection`, whose hostKey remote.Command verifies itself.
 */
export class DockerHost extends pulumi.ComponentResource {
  readonly name: string;
  readonly provider: docker.Provider;
  readonly connection: HostConnection;
  /** The ops image's name (its content tag), once delivered to this host: remote steps run it. */
  readonly opsImage: pulumi.Output<string>;
  /** The ops image's delivery from the runner (its id checked on arrival). */
  readonly opsDelivery: StepResource;
  readonly proxy: docker.Container;
  /**
   * The proxy's admin socket on this host, in its state volume (the volume's mountpoint, which the docker
   * provider reads back from the engine): the coordinator has sshd forward it, without asking Docker.
   */
  readonly adminSocket: pulumi.Output<string>;
  /** The host-key check every host resource waits for. */
  readonly hostKeyCheck: StepResource;
  readonly settings: HostSettings;
  /**
   * Each color's release image on this host: its engine's pull (registry delivery) or the runner's
   * delivery over SSH (ssh). Replicas and the migration wait for it.
   */
  readonly pulls: Record<Color, docker.RemoteImage | StepResource>;
  /** The image each pull names (args.images), for the color slots' check. */
  readonly pulledImages: Record<Color, string>;
  /** What this host's engine names each color's image by: the reference, or the id an ssh delivery checked. */
  readonly hostImages: Record<Color, string>;

  constructor(name: string, args: DockerHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT.dockerHost, name, {}, opts);
    const check = new ArgChecker("DockerHost", name);
    const { host } = args;
    check.require(HOST_NAME.test(host.name), "host.name", host.name, "a host name such as web-1");
    check.host("host.address", host.address);
    check.require(SSH_USER.test(host.user), "host.user", host.user, "an SSH user such as root");
    check.port("host.port", host.port);
    check.require(
      HOST_KEY.test(host.hostKey),
      "host.hostKey",
      host.hostKey,
      "'<type> <base64>' of the host's ed25519 or ECDSA key",
    );
    check.require(
      FS_PATH.test(args.knownHostsFile),
      "knownHostsFile",
      args.knownHostsFile,
      "a path of letters, digits and . _ - /",
    );
    check.host("host.replicaAddress", host.replicaAddress);
    check.require(APP_NAME.test(args.app), "app", args.app, "a lower-case name of letters, digits and '-'");
    check.require(
      /^greenlight-ops:[a-f0-9]{16}$/.test(args.opsImage.name),
      "opsImage.name",
      args.opsImage.name,
      "greenlight-ops:<16 hex digits>",
    );
    check.require(
      args.delivery === "registry" || args.delivery === "ssh",
      "delivery",
      args.delivery,
      "registry or ssh",
    );
    for (const color of COLORS) check.image(`images.${color}`, args.images?.[color]);
    this.name = host.name;
    this.settings = host;
    this.pulledImages = { ...args.images };
    this.hostImages = Object.fromEntries(
      COLORS.map((color) => [
        color,
        args.delivery === "ssh" ? deliveredImage(args.images[color]) : args.images[color],
      ]),
    ) as Record<Color, string>;
    this.connection = {
      name: host.name,
      address: host.address,
      port: host.port,
      user: host.user,
      privateKey: args.privateKey,
      hostKey: host.hostKey,
    };

    // Before anything reaches the host: its key is the pinned one, or the update stops here naming both.
    this.hostKeyCheck = stepCommand(
      `${name}-host-key`,
      {
        create: opsCommand("host-keys", {
          host: `${host.name}=${host.user}@${host.address}:${host.port}`,
          "host-key": `${host.name}=${host.hostKey}`,
        }),
        environment: { [STEP_ENV.step]: STEP.hostKey, GREENLIGHT_HOST: host.name },
        triggers: [host.address, host.port, host.hostKey, args.hostKeyCheck?.every ?? null],
      },
      { parent: this, dependsOn: args.hostKeyCheck?.after ?? args.after ?? [] },
    );
    this.provider = new docker.Provider(
      `${name}-docker`,
      {
        host: `ssh://${host.user}@${host.address}:${host.port}`,
        // The runner's ssh client connects with the key in its agent; the host's key must be the pinned one.
        sshOpts: dockerSshOptions(args.knownHostsFile, host.hostKey),
        // Username and password come before any docker config file (kreuzwerker provider.go:303-353).
        ...(args.registry
          ? {
              registryAuth: [
                {
                  address: args.registry.server,
                  username: args.registry.username,
                  password: pulumi.secret(args.registry.password),
                },
              ],
            }
          : {}),
      },
      { parent: this, dependsOn: [this.hostKeyCheck] },
    );
    const onHost = { parent: this, provider: this.provider };
    const after = args.after ?? [];
    // Sent from the runner over SSH, each image checked by id on arrival; not waiting for the host before
    // this one, so hosts receive in parallel. The stack's key reaches ssh through the environment.
    const delivery = (part: string, image: pulumi.Input<string>, shown: string, tagAs?: string) =>
      stepCommand(
        `${name}-deliver-${part}`,
        {
          create: pulumi
            .output(image)
            .apply((ref) => opsCommand("deliver", deliverFlags(ref, host, args.knownHostsFile, { tagAs }))),
          environment: {
            [STEP_ENV.step]: STEP.deliver,
            GREENLIGHT_HOST: host.name,
            // The image by a name known before the build (the plan's per-host list of what is sent).
            GREENLIGHT_DELIVERS: shown,
            GREENLIGHT_SSH_PRIVATE_KEY: pulumi.secret(args.privateKey),
          },
          // Runs again only for another image or another host (a new key pinned may be a new machine);
          // a rotated SSH key or a moved known_hosts file keeps its report and sends nothing.
          triggers: [image, host.address, host.port, host.hostKey, host.platform],
          ...ONCE_PER_RELEASE,
        },
        { parent: this, dependsOn: [this.hostKeyCheck] },
      );
    // The ops image goes by its id and gets its content tag only once the host holds exactly that id.
    this.opsDelivery = delivery("ops", args.opsImage.id, args.opsImage.name, args.opsImage.name);
    // Known in a preview too (a URN always is), and every step that names it waits for the delivery.
    this.opsImage = this.opsDelivery.urn.apply(() => args.opsImage.name);

    const proxyName = proxyContainerName(args.app, args.stack);
    const volume = new docker.Volume(
      `${name}-proxy-state`,
      { name: proxyName },
      { ...onHost, dependsOn: after },
    );
    // kreuzwerker/terraform-provider-docker resource_docker_volume.go sets mountpoint from VolumeInspect.
    this.adminSocket = volume.mountpoint.apply(
      (mountpoint) => `${mountpoint}${PROXY_ADMIN_SOCKET_IN_VOLUME}`,
    );
    // Registry: pulled by the host's engine with the registry's credentials on the provider, kept on the
    // host when a pull is replaced. Ssh: sent from the runner (by digest, named by its image id).
    this.pulls = Object.fromEntries(
      COLORS.map((color) => [
        color,
        args.delivery === "ssh"
          ? delivery(color, args.images[color], args.images[color])
          : new docker.RemoteImage(
              `${name}-pull-${color}`,
              { name: args.images[color], keepLocally: true },
              { ...onHost, dependsOn: after },
            ),
      ]),
    ) as Record<Color, docker.RemoteImage | StepResource>;
    this.proxy = new docker.Container(
      `${name}-proxy`,
      {
        name: proxyName,
        // The ops image's id, built where Pulumi runs and checked on this host on arrival: pinned to its content.
        image: args.opsImage.id,
        command: proxyCommandArgs(args.proxy),
        networkMode: "host",
        restart: "unless-stopped",
        init: true,
        // HAProxy's soft stop lets requests in flight finish before the container goes: on `docker stop`
        // and when the provider deletes it (it stops with destroyGraceSeconds, 0 s when unset).
        stopTimeout: PROXY_STOP_SECONDS,
        destroyGraceSeconds: PROXY_STOP_SECONDS,
        // HAProxy's master binds the front's port as root; its workers run as nobody (ops/proxy/run.ts).
        capabilities: { drops: ["ALL"], adds: [...PROXY_CAPABILITIES] },
        securityOpts: ["no-new-privileges"],
        volumes: [{ volumeName: volume.name, containerPath: PROXY_STATE_MOUNT }],
        // Not an app container (no LABEL.app): the app's limits and healthcheck rules are not its.
        labels: [
          { label: LABEL.stack, value: args.stack },
          { label: LABEL.host, value: host.name },
        ],
      },
      {
        ...onHost,
        dependsOn: [this.opsDelivery, ...after],
        // Same runtime API across ops versions: a new ops image does not restart the front. A new layout
        // (ports, replicas, maintenance) replaces it; the fixed name and ports must be freed first.
        ignoreChanges: ["image"],
        deleteBeforeReplace: true,
      },
    );
    this.registerOutputs({ name: this.name, opsImage: this.opsImage });
  }
}
