// The delivery's command line (index.ts sends the images and checks them on every host).
import { Command, InvalidArgumentError } from "commander";
import { FS_PATH, IMAGE_REF } from "../../contract/patterns";
import { imageRef, integer, repeatable } from "../lib/options";
import { StepCommand } from "../lib/step";
import { Compression, deliverImages } from ".";
import { DeliveryHost, parseDeliveryHost } from "./ssh";

const COMPRESSIONS: Compression[] = ["auto", "zstd", "gzip", "none"];

function deliveryHost(value: string): DeliveryHost {
  try {
    return parseDeliveryHost(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function compression(value: string): Compression {
  if (!COMPRESSIONS.includes(value as Compression))
    throw new InvalidArgumentError(`expected one of ${COMPRESSIONS.join(", ")}`);
  return value as Compression;
}

function platform(value: string): string {
  if (!/^[a-z0-9]+\/[a-z0-9]+$/.test(value))
    throw new InvalidArgumentError("expected <os>/<arch>, e.g. linux/amd64");
  return value;
}

function tagName(value: string): string {
  if (!IMAGE_REF.test(value) || value.includes("@") || !/:[^/]+$/.test(value))
    throw new InvalidArgumentError("expected an image name with a tag, e.g. greenlight-ops:0123456789abcdef");
  return value;
}

function filePath(value: string): string {
  if (!FS_PATH.test(value))
    throw new InvalidArgumentError("expected a file path of letters, digits and ._/-");
  return value;
}

export const deliverCommand: StepCommand = {
  name: "deliver",
  description:
    "Sends images from this machine's Docker engine to every host that lacks them over SSH, compressed, and checks each host's image id",
  options: (command: Command) =>
    command
      .requiredOption(
        "--image <ref>",
        "image to deliver, as this machine's engine names it; repeatable",
        repeatable(imageRef),
      )
      .requiredOption(
        "--host <name=user@address[:port]>",
        "a host that must hold the images; repeatable",
        repeatable(deliveryHost),
      )
      .option("--tag-as <name:tag>", "the tag the image gets on the hosts (one --image only)", tagName)
      .option(
        "--digest-is-id",
        "an image pinned by digest must be named by its image id, which each host checks",
      )
      .option("--compression <codec>", `${COMPRESSIONS.join(", ")}`, compression, "auto")
      .option("--no-pull", "fail instead of pulling an image missing on this machine")
      .option("--platform <os/arch>", "the hosts' platform: an image built for another is refused", platform)
      .option("--known-hosts <file>", "accept only the host keys in this known_hosts file", filePath)
      .option("--connect-timeout <seconds>", "SSH connect timeout", integer(1, 300), 10)
      .option("--progress-seconds <n>", "a progress line every n seconds (0: none)", integer(0, 3600), 10),
  stopsCleanly: true,
  run: (options, env, stop) => {
    const hosts = options.host as DeliveryHost[];
    const names = hosts.map((host) => host.name);
    const twice = names.find((name, index) => names.indexOf(name) !== index);
    if (twice !== undefined)
      throw new InvalidArgumentError(`host ${twice} is named twice: give each host once`);
    const images = options.image as string[];
    if (options.tagAs !== undefined && images.length !== 1)
      throw new InvalidArgumentError(`--tag-as names the tag of one image; ${images.length} --image given`);
    return deliverImages(
      {
        images,
        tag: options.tagAs === undefined ? undefined : String(options.tagAs),
        digestIsId: options.digestIsId === true,
        hosts,
        compression: options.compression as Compression,
        pull: options.pull !== false,
        platform: options.platform === undefined ? undefined : String(options.platform),
        knownHosts: options.knownHosts === undefined ? undefined : String(options.knownHosts),
        connectTimeoutSeconds: Number(options.connectTimeout),
        progressSeconds: Number(options.progressSeconds),
        env,
      },
      stop,
    );
  },
};
