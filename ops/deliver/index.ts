// Image delivery without a registry on the hosts: each image, as the Docker engine of the machine
// running Pulumi holds it, goes over SSH to every host that lacks it, compressed, and counts as
// delivered only once the host's engine holds exactly the source's image id (the sha256 of its config,
// which names every layer by content). Hosts that hold it already receive nothing. The stream carries
// no tag: the image is loaded untagged and tagged only after its id checked, so a cut or tampered
// transfer leaves nothing a later run would take for the image.
import { StepError, StopRequest, progress } from "../lib/step";
import { stoppedError } from "../lib/stop";
import { Codec, HostProbe, parseProbe, probeCommand, retagCommand } from "./remote";
import { SourceImage, canZstd, resolveSource } from "./source";
import { DeliveryHost, SshSettings, runSession, sessionError } from "./ssh";
import { transferImage } from "./transfer";

export type { DeliveryHost } from "./ssh";

/** `auto`: zstd to hosts that have the zstd program, gzip to the others (docker load reads it itself). */
export type Compression = "auto" | Codec;

export interface DeliverOptions {
  /** Image references as the source engine knows them (pulled there first when `pull` allows). */
  images: string[];
  hosts: DeliveryHost[];
  compression: Compression;
  /** Pull an image missing here from its registry (this machine's reach, not the hosts'). */
  pull: boolean;
  /** The hosts' os/arch (linux/amd64): an image built for another is refused before anything is sent. */
  platform?: string;
  knownHosts?: string;
  connectTimeoutSeconds: number;
  progressSeconds: number;
  /** The docker CLI's and ssh's environment: DOCKER_HOST names the source engine. */
  env: NodeJS.ProcessEnv;
}

/** What became of one image on one host. */
export interface HostDelivery {
  image: string;
  id: string;
  /** present: held already; sent: loaded and verified; retagged: held, tag moved to it; failed. */
  status: "present" | "sent" | "retagged" | "failed";
  codec?: Codec;
  /** Compressed bytes sent. */
  bytes?: number;
  ms?: number;
  /** The id the image's tag named on the host before (a different image under the same tag). */
  replaced?: string;
  reason?: string;
}

export interface HostReport {
  host: string;
  address: string;
  platform?: string;
  deliveries: HostDelivery[];
}

export interface DeliveryReport {
  step: "deliver";
  images: Omit<SourceImage, "pulled">[];
  hosts: HostReport[];
  /** Compressed bytes sent to all hosts together. */
  sentBytes: number;
  ms: number;
}

type Plan = { send: boolean; replaced?: string } | { failed: string };

/** What one host needs of one image, from its probe: nothing, a tag, the image, or a refusal. */
export function planDelivery(host: string, image: SourceImage, probe: HostProbe): Plan {
  if (probe.platform !== image.platform)
    return { failed: `${host} runs ${probe.platform} but ${image.image} is built for ${image.platform}` };
  const tagged = probe.tags.get(image.tag);
  if (tagged !== undefined && tagged !== image.id && image.pinned) {
    return {
      failed: `${host} holds ${image.tag} as ${tagged}, not ${image.id}: a different image under a tag that names content; find out how it got there, then remove it (docker rmi ${image.tag})`,
    };
  }
  const replaced = tagged !== undefined && tagged !== image.id ? { replaced: tagged } : {};
  return { send: !probe.images.has(image.id), ...replaced };
}

function codecFor(compression: Compression, probe: HostProbe, env: NodeJS.ProcessEnv): Codec {
  if (compression !== "auto") return compression;
  return probe.zstd && canZstd(env) ? "zstd" : "gzip";
}

async function probeHost(host: DeliveryHost, settings: SshSettings, stop: StopRequest): Promise<HostProbe> {
  const exit = await runSession(host, probeCommand(), settings, stop);
  if (exit.code !== 0)
    throw new Error(
      exit.code === 255
        ? `cannot reach ${host.name} over SSH (${host.user}@${host.address}:${host.port}): ${sessionError(exit.stderr, exit.code)}`
        : `Docker on ${host.name} does not answer: ${sessionError(exit.stderr, exit.code)}`,
    );
  return parseProbe(exit.stdout);
}

/** Delivers every image to every host that lacks it; fails naming each host that did not end up with it. */
export async function deliverImages(options: DeliverOptions, stop: StopRequest): Promise<DeliveryReport> {
  const started = Date.now();
  const settings: SshSettings = {
    knownHosts: options.knownHosts,
    connectTimeoutSeconds: options.connectTimeoutSeconds,
    env: options.env,
  };
  const sources: SourceImage[] = [];
  for (const image of options.images) sources.push(await resolveSource(image, options));
  for (const source of sources) {
    if (options.platform !== undefined && source.platform !== options.platform)
      throw new StepError(
        `${source.image} is built for ${source.platform}, the hosts run ${options.platform}: build it for ${options.platform} (docker build --platform ${options.platform})`,
        1,
      );
  }
  const probes = await Promise.all(
    options.hosts.map((host) =>
      probeHost(host, settings, stop).then(
        (probe) => ({ probe }),
        (error: Error) => ({ error: error.message }),
      ),
    ),
  );
  const reports: HostReport[] = options.hosts.map((host, index) => {
    const probed = probes[index];
    return {
      host: host.name,
      address: host.address,
      ...("probe" in probed ? { platform: probed.probe.platform } : {}),
      deliveries: sources.map((source) => ({
        image: source.image,
        id: source.id,
        status: "failed" as const,
        ...("error" in probed ? { reason: probed.error } : {}),
      })),
    };
  });
  let sentBytes = 0;
  for (const [imageIndex, source] of sources.entries()) {
    if (stop.signal) throw stoppedError(stop);
    const targets: { host: DeliveryHost; codec: Codec }[] = [];
    const retags: DeliveryHost[] = [];
    options.hosts.forEach((host, hostIndex) => {
      const probed = probes[hostIndex];
      if (!("probe" in probed)) return;
      const delivery = reports[hostIndex].deliveries[imageIndex];
      const plan = planDelivery(host.name, source, probed.probe);
      if ("failed" in plan) {
        delivery.reason = plan.failed;
        return;
      }
      if (plan.replaced) {
        delivery.replaced = plan.replaced;
        progress(
          "deliver",
          `${host.name} held ${source.tag} as ${plan.replaced}, not ${source.id}: moving the tag`,
        );
      }
      if (plan.send) targets.push({ host, codec: codecFor(options.compression, probed.probe, options.env) });
      else if (plan.replaced || !probed.probe.tags.has(source.tag)) retags.push(host);
      else delivery.status = "present";
    });
    const transfers = await transferImage(source, targets, { ...settings, ...options }, stop);
    for (const outcome of transfers) {
      const delivery =
        reports[options.hosts.findIndex((host) => host.name === outcome.host)].deliveries[imageIndex];
      Object.assign(delivery, {
        status: outcome.ok ? "sent" : "failed",
        codec: outcome.codec,
        bytes: outcome.bytes,
        ms: outcome.ms,
      });
      if (outcome.reason) delivery.reason = outcome.reason;
      sentBytes += outcome.bytes;
    }
    await Promise.all(
      retags.map(async (host) => {
        const delivery = reports[options.hosts.indexOf(host)].deliveries[imageIndex];
        const exit = await runSession(host, retagCommand(source.id, source.tag), settings, stop);
        if (exit.code === 0) delivery.status = "retagged";
        else
          delivery.reason = `tagging ${source.tag} on ${host.name} failed: ${sessionError(exit.stderr, exit.code)}`;
      }),
    );
  }
  if (stop.signal) throw stoppedError(stop, "a host loads nothing of a cut transfer");
  const report: DeliveryReport = {
    step: "deliver",
    images: sources.map(({ pulled: _pulled, ...image }) => image),
    hosts: reports,
    sentBytes,
    ms: Date.now() - started,
  };
  const failed = reports.flatMap((host) =>
    host.deliveries
      .filter((delivery) => delivery.status === "failed")
      .map((delivery) => ({ host, delivery })),
  );
  if (failed.length > 0) {
    const reached = reports.filter((host) =>
      host.deliveries.every((delivery) => delivery.status !== "failed"),
    );
    const names = [...new Set(failed.map(({ host }) => host.host))];
    throw new StepError(
      `${names.join(", ")} did not get every image: ${failed.map(({ delivery }) => `${delivery.image}: ${delivery.reason ?? "failed"}`).join("; ")}` +
        (reached.length > 0 ? `; ${reached.map((host) => host.host).join(", ")} hold every image` : ""),
      1,
      report,
    );
  }
  return report;
}
