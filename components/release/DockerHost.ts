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
import { APP_NAME, FS_PATH, HOST_NAME, IMAGE_REF, SSH_USER } from "../../contract/patterns";
import { HOST_KEY, parseHostKey } from "../../contract/host-key";
import { COLORS, Color, HostSettings } from "../../schema/types";
import { HostConnection, StepResource, opsCommand, stepCommand } from "../step-command";
import { ArgChecker } from "../arg-checker";

/** The ops image as the program stages it (ops/hosts/image.ts): its name and build context. */
export interface OpsImageBuild {
  /** greenlight-ops:<content tag>: the image a host runs is the program's version. */
  name: string;
  /** Folder with the Dockerfile and the compiled ops CLI. */
  context: string;
  /** Base image the Dockerfile builds on (node 22 with Debian's haproxy and PostgreSQL client). */
  base: string;
}

export interface DockerHostArgs {
  /** The host: name, SSH address, user and port, private and replica addresses. */
  host: HostSettings;
  /** Application and stack: the proxy container is greenlight-proxy-<app>-<stack>. */
  app: string;
  stack: string;
  /** The SSH private key of host.user (a secret), for the remote steps. */
  privateKey: pulumi.Input<string>;
  opsImage: OpsImageBuild;
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
  /** Each color's release image, pulled by the host's engine before any step or replica needs it. */
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
 * the ops image built there by that provider (no registry, the program's version), and its traffic
 * proxy as a container of that image (host network, a state volume, restarted with the host, HAProxy's
 * workers as nobody). Every container, image and step of the host goes through `provider`, after the
 * check; its remote steps connect with `connection`, whose hostKey remote.Command verifies itself.
 */
export class DockerHost extends pulumi.ComponentResource {
  readonly name: string;
  readonly provider: docker.Provider;
  readonly connection: HostConnection;
  /** The ops image's name once it is built on this host. */
  readonly opsImage: pulumi.Output<string>;
  readonly image: docker.Image;
  readonly proxy: docker.Container;
  /**
   * The proxy's admin socket on this host, in its state volume (the volume's mountpoint, which the docker
   * provider reads back from the engine): the coordinator has sshd forward it, without asking Docker.
   */
  readonly adminSocket: pulumi.Output<string>;
  /** The host-key check every host resource waits for. */
  readonly hostKeyCheck: StepResource;
  readonly settings: HostSettings;
  /** Each color's release image as this host's engine pulled it: replicas and the migration wait for it. */
  readonly pulls: Record<Color, docker.RemoteImage>;
  /** The image each pull names (args.images), for the color slots' check. */
  readonly pulledImages: Record<Color, string>;

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
      IMAGE_REF.test(args.opsImage.base),
      "opsImage.base",
      args.opsImage.base,
      "an image reference",
    );
    for (const color of COLORS) check.image(`images.${color}`, args.images?.[color]);
    this.name = host.name;
    this.settings = host;
    this.pulledImages = { ...args.images };
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
    this.image = new docker.Image(
      `${name}-ops-image`,
      {
        imageName: args.opsImage.name,
        build: {
          context: args.opsImage.context,
          dockerfile: `${args.opsImage.context}/Dockerfile`,
          args: { BASE: args.opsImage.base },
          // Unset, pulumi-docker builds for the machine running Pulumi (provider.go:211-233), not the host.
          platform: host.platform,
        },
        // Built on the host by its own engine; no registry in between.
        skipPush: true,
      },
      { ...onHost, dependsOn: after },
    );
    this.opsImage = this.image.imageName;

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
    // With the registry's credentials on the provider; kept on the host when a pull is replaced.
    this.pulls = Object.fromEntries(
      COLORS.map((color) => [
        color,
        new docker.RemoteImage(
          `${name}-pull-${color}`,
          { name: args.images[color], keepLocally: true },
          { ...onHost, dependsOn: after },
        ),
      ]),
    ) as Record<Color, docker.RemoteImage>;
    this.proxy = new docker.Container(
      `${name}-proxy`,
      {
        name: proxyName,
        // The image id the host's engine built (repoDigest of an image not pushed): pinned to its content.
        image: this.image.repoDigest,
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
        dependsOn: [this.image, ...after],
        // Same runtime API across ops versions: a new ops image does not restart the front. A new layout
        // (ports, replicas, maintenance) replaces it; the fixed name and ports must be freed first.
        ignoreChanges: ["image"],
        deleteBeforeReplace: true,
      },
    );
    this.registerOutputs({ name: this.name, opsImage: this.opsImage });
  }
}
