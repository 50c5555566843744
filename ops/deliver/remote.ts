// What the delivery runs on a host over SSH, as pure functions: the probe (its Docker's platform, the
// images it holds, whether it can decompress zstd), the receiving end of a transfer (decompress, load,
// check the loaded id, only then tag), and a retag. POSIX sh: whatever login shell the host's user has.
import { IMAGE_ID, IMAGE_REF } from "../../contract/patterns";
import { shellQuote } from "../../contract/shell";

/** How a transfer is compressed: zstd when the host can decompress it, gzip (docker load reads it itself), or none. */
export type Codec = "zstd" | "gzip" | "none";

/** What a host holds and can do, read by one SSH session before anything is sent. */
export interface HostProbe {
  /** The host's Docker engine, as os/arch (linux/amd64). */
  platform: string;
  /** Image id → the tags it carries there. */
  images: Map<string, string[]>;
  /** Tag → image id there. */
  tags: Map<string, string>;
  zstd: boolean;
}

function checkId(id: string): string {
  if (!IMAGE_ID.test(id)) throw new Error(`${JSON.stringify(id)} is not an image id (sha256:<64 hex>)`);
  return id;
}

function checkTag(tag: string): string {
  if (!IMAGE_REF.test(tag) || tag.includes("@"))
    throw new Error(`${JSON.stringify(tag)} is not an image tag (name:tag)`);
  return tag;
}

/** One session: the engine's platform, every image id with its tags, and zstd. Exit 3 when Docker does not answer. */
export function probeCommand(): string {
  return [
    "docker version --format 'platform {{.Server.Os}}/{{.Server.Arch}}' || exit 3",
    "docker image ls -a --no-trunc --format 'image {{.ID}} {{.Repository}}:{{.Tag}}' || exit 3",
    "if command -v zstd >/dev/null 2>&1; then echo 'zstd yes'; else echo 'zstd no'; fi",
  ].join("\n");
}

/** Reads the probe's output; throws when a line is missing (not a Docker host, or another program answered). */
export function parseProbe(stdout: string): HostProbe {
  const images = new Map<string, string[]>();
  const tags = new Map<string, string>();
  let platform: string | undefined;
  let zstd: boolean | undefined;
  for (const line of stdout.split("\n")) {
    const words = line.trim().split(" ");
    if (words[0] === "platform" && words.length === 2) platform = words[1];
    else if (words[0] === "zstd") zstd = words[1] === "yes";
    else if (words[0] === "image" && words.length === 3 && IMAGE_ID.test(words[1])) {
      const [, id, tag] = words;
      const held = images.get(id) ?? [];
      if (!tag.includes("<none>")) {
        held.push(tag);
        tags.set(tag, id);
      }
      images.set(id, held);
    }
  }
  if (platform === undefined || zstd === undefined)
    throw new Error(`the probe's answer is not a Docker host's: ${JSON.stringify(stdout.slice(0, 200))}`);
  return { platform, images, tags, zstd };
}

/** Exit codes of the receiving end, beside docker load's own and ssh's 255. */
export const RECEIVE_EXIT = { wrongImage: 4, tagMoved: 5 } as const;

/**
 * The receiving end: decompress (zstd only; docker load reads gzip and plain tars), load, and require
 * that exactly the expected image id was loaded before tagging it; the tag is read back after. A cut
 * stream fails docker load and loads nothing; anything else loaded is refused and left untagged.
 */
export function receiveCommand(id: string, tag: string, codec: Codec): string {
  const quotedId = shellQuote(checkId(id));
  const quotedTag = shellQuote(checkTag(tag));
  const load = codec === "zstd" ? "zstd -dcq | docker load -q" : "docker load -q";
  return [
    `loaded=$(${load}) || exit $?`,
    `if [ "$loaded" != ${shellQuote(`Loaded image ID: ${id}`)} ]; then`,
    `  printf 'expected %s, docker load said: %s\\n' ${quotedId} "$loaded" >&2`,
    `  exit ${RECEIVE_EXIT.wrongImage}`,
    "fi",
    ...tagLines(quotedId, quotedTag),
  ].join("\n");
}

/** Tags an image the host already holds, and reads the tag back. */
export function retagCommand(id: string, tag: string): string {
  return tagLines(shellQuote(checkId(id)), shellQuote(checkTag(tag))).join("\n");
}

function tagLines(quotedId: string, quotedTag: string): string[] {
  return [
    `docker tag ${quotedId} ${quotedTag} || exit $?`,
    `tagged=$(docker image inspect --format '{{.Id}}' ${quotedTag}) || exit $?`,
    `if [ "$tagged" != ${quotedId} ]; then`,
    `  printf '%s names %s, not %s\\n' ${quotedTag} "$tagged" ${quotedId} >&2`,
    `  exit ${RECEIVE_EXIT.tagMoved}`,
    "fi",
    `printf 'verified %s %s\\n' ${quotedTag} "$tagged"`,
  ];
}

/** The tag an image carries on the hosts: its own tag, or for a digest-pinned one `name:sha256-<hex>`. */
export function hostTag(ref: string): string {
  const pinned = /^(.+?)(?::[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?@sha256:([a-f0-9]{64})$/.exec(ref);
  if (pinned) return `${pinned[1]}:sha256-${pinned[2]}`;
  if (IMAGE_ID.test(ref)) return `greenlight-image:sha256-${ref.slice("sha256:".length)}`;
  // A name without a tag means :latest to Docker.
  const lastSegment = ref.split("/").pop() ?? ref;
  return lastSegment.includes(":") ? ref : `${ref}:latest`;
}
