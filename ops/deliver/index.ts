// Image delivery without a registry on the hosts: each image, as the Docker engine of the machine
// running Pulumi holds it, goes over SSH to every host that lacks it, compressed, and counts as
// delivered only once the host's engine holds exactly the source's image id (the sha256 of its config,
// which names every layer by content). Hosts that hold it already receive nothing. The stream carries
// no tag: the image is loaded untagged and tagged only after its id checked, so a cut or tampered
// transfer leaves nothing a later run would take for the image.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { StepError, StopRequest } from "../lib/step";
import { stoppedError } from "../lib/stop";
import { SourceImage, resolveSource } from "./source";
import { DeliveryHost } from "./ssh";
import { Compression, HostOutcome, deliverImage } from "./transfer";

export type { DeliveryHost } from "./ssh";
export type { Compression, HostOutcome } from "./transfer";
export { planDelivery } from "./transfer";

export interface DeliverOptions {
  /** Image references as the source engine knows them (pulled there first when `pull` allows). */
  images: string[];
  hosts: DeliveryHost[];
  compression: Compression;
  /** Pull an image missing here from its registry (this machine's reach, not the hosts'). */
  pull: boolean;
  /** The tag the (one) image gets on the hosts, instead of its own (ops/deliver/remote.ts hostTag). */
  tag?: string;
  /** A digest-pinned image must be named by its image id, the content each host checks. */
  digestIsId?: boolean;
  /** The hosts' os/arch (linux/amd64): an image built for another is refused before anything is sent. */
  platform?: string;
  knownHosts?: string;
  connectTimeoutSeconds: number;
  progressSeconds: number;
  /** The docker CLI's and ssh's environment: DOCKER_HOST names the source engine. */
  env: NodeJS.ProcessEnv;
}

/** What became of one image on one host. */
export type HostDelivery = Omit<HostOutcome, "host" | "platform"> & { image: string; id: string };

export interface HostReport {
  host: string;
  address: string;
  platform?: string;
  deliveries: HostDelivery[];
}

export interface DeliveryReport {
  step: "deliver";
  images: Omit<SourceImage, "pulled" | "layers">[];
  hosts: HostReport[];
  /** Compressed bytes sent to all hosts together. */
  sentBytes: number;
  ms: number;
}

/**
 * Delivers every image to every host that lacks it; fails naming each host that did not end up with it.
 * The hosts' key comes from GREENLIGHT_SSH_PRIVATE_KEY when set (a file only this process can read,
 * removed at the end), else from the runner's ssh agent and config.
 */
export async function deliverImages(options: DeliverOptions, stop: StopRequest): Promise<DeliveryReport> {
  const key = options.env.GREENLIGHT_SSH_PRIVATE_KEY;
  if (!key) return deliverWith(options, stop);
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), "gl-deliver-"));
  try {
    const identityFile = path.join(folder, "key");
    // ssh refuses a key file without a final newline or readable by others.
    fs.writeFileSync(identityFile, key.endsWith("\n") ? key : `${key}\n`, { mode: 0o600 });
    return await deliverWith({ ...options, identityFile }, stop);
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

async function deliverWith(
  options: DeliverOptions & { identityFile?: string },
  stop: StopRequest,
): Promise<DeliveryReport> {
  const started = Date.now();
  if (options.tag !== undefined && options.images.length !== 1)
    throw new StepError(
      `a tag for the hosts (${options.tag}) names one image; ${options.images.length} were given`,
      2,
    );
  const sources: SourceImage[] = [];
  for (const image of options.images) sources.push(await resolveSource(image, options));
  for (const source of sources) {
    if (options.platform !== undefined && source.platform !== options.platform)
      throw new StepError(
        `${source.image} is built for ${source.platform}, the hosts run ${options.platform}: build it for ${options.platform} (docker build --platform ${options.platform})`,
        1,
      );
  }
  const reports: HostReport[] = options.hosts.map((host) => ({
    host: host.name,
    address: host.address,
    deliveries: [],
  }));
  for (const source of sources) {
    if (stop.signal) break;
    const outcomes = await deliverImage(source, options.hosts, options, stop);
    outcomes.forEach(({ host: _host, platform, ...outcome }, index) => {
      if (platform !== undefined) reports[index].platform = platform;
      reports[index].deliveries.push({ image: source.image, id: source.id, ...outcome });
    });
  }
  if (stop.signal) throw stoppedError(stop, "a host loads nothing of a cut transfer");
  const report: DeliveryReport = {
    step: "deliver",
    images: sources.map(({ pulled: _pulled, layers: _layers, ...image }) => image),
    hosts: reports,
    sentBytes: reports.reduce(
      (sum, host) => sum + host.deliveries.reduce((bytes, delivery) => bytes + (delivery.bytes ?? 0), 0),
      0,
    ),
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
