// Pure helpers of the delivery steps (greenlight:imageDelivery ssh, and the ops image on every stack with
// hosts): the ops CLI's `deliver` flags for one host and one image, and the name a host's engine knows a
// delivered image by. Tests run the same lines on isolated hosts.
import { IMAGE_DIGEST } from "../../contract/patterns";
import { FlagValue } from "../../ops/hosts/remote";

export type ImageDelivery = "registry" | "ssh";

/** The host a delivery goes to, as greenlight:hosts[] names it. */
export interface DeliveryTarget {
  name: string;
  user: string;
  address: string;
  port: number;
  platform: string;
}

/**
 * The image a host's engine runs after an ssh delivery: a release pinned by digest by its image id
 * (`sha256:<digest>`, which the delivery checked on arrival; `docker load` keeps no registry digest),
 * a tagged one by its own tag.
 */
export function deliveredImage(ref: string): string {
  const pinned = IMAGE_DIGEST.exec(ref);
  return pinned ? pinned[0].slice(1) : ref;
}

/**
 * `greenlight-ops deliver` for one host and one image: the host's key pinned by the stack's known_hosts
 * file, the image refused when built for another platform; a digest-pinned release must be named by its
 * image id (the content each host checks). `tagAs` names the tag the image gets on the host (the ops
 * image, sent by id, goes by its content tag); `pull: false` refuses an image missing here.
 */
export function deliverFlags(
  image: string,
  host: DeliveryTarget,
  knownHostsFile: string,
  options: { tagAs?: string; pull?: boolean } = {},
): Record<string, FlagValue> {
  return {
    image,
    host: `${host.name}=${host.user}@${host.address}:${host.port}`,
    "known-hosts": knownHostsFile,
    platform: host.platform,
    "tag-as": options.tagAs,
    "digest-is-id": IMAGE_DIGEST.test(image),
    "no-pull": options.pull === false,
  };
}
