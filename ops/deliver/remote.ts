// What the delivery runs on a host over SSH, as pure functions: one script per image and host that
// tells what the host holds, then does what the runner decides (nothing, a tag, or receive the image:
// decompress, load, check the loaded id, only then tag). POSIX sh: whatever login shell the user has.
import * as crypto from "crypto";
import { IMAGE_ID, IMAGE_REF } from "../../contract/patterns";
import { shellQuote } from "../../contract/shell";

/** How a transfer is compressed: zstd when the host can decompress it, gzip (docker load reads it itself), or none. */
export type Codec = "zstd" | "gzip" | "none";

/** What a host holds and can do, as it tells before anything is sent. */
export interface HostProbe {
  /** The host's Docker engine, as os/arch (linux/amd64). */
  platform: string;
  /** Image id → the tags it carries there. */
  images: Map<string, string[]>;
  /** Tag → image id there. */
  tags: Map<string, string>;
  zstd: boolean;
  /**
   * Chain ids of every layer stack the host's images are made of, when its docker load skips the layers
   * it holds (the classic layer store; not the containerd image store, which wants every blob).
   */
  chains?: Set<string>;
}

/** A layer stack's chain id, as moby's layer.CreateChainID computes it from the layers' diff ids. */
export function chainIds(diffIds: readonly string[]): string[] {
  const chains: string[] = [];
  for (const diffId of diffIds) {
    const parent = chains[chains.length - 1];
    chains.push(
      parent === undefined
        ? diffId
        : `sha256:${crypto.createHash("sha256").update(`${parent} ${diffId}`).digest("hex")}`,
    );
  }
  return chains;
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

/** Reads the probe's output; throws when a line is missing (not a Docker host, or another program answered). */
export function parseProbe(stdout: string): HostProbe {
  const images = new Map<string, string[]>();
  const tags = new Map<string, string>();
  let platform: string | undefined;
  let zstd: boolean | undefined;
  const stacks: string[][] = [];
  let layered = false;
  for (const line of stdout.split("\n")) {
    const words = line.trim().split(" ");
    if (words[0] === "platform" && words.length === 2) platform = words[1];
    else if (words[0] === "zstd") zstd = words[1] === "yes";
    else if (words[0] === "store") layered = words[1] === "layers";
    else if (words[0] === "layers" && IMAGE_ID.test(words[1] ?? ""))
      stacks.push((words[2] ?? "").split(",").filter((layer) => IMAGE_ID.test(layer)));
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
  const chains = layered ? new Set(stacks.flatMap((stack) => chainIds(stack))) : undefined;
  return { platform, images, tags, zstd, ...(chains ? { chains } : {}) };
}

/** The line the host prints once it has told what it holds; it then waits for the runner's decision. */
export const READY = "ready";

/** The runner's decision, one line on the session's stdin; a stream follows `zstd` and `plain`. */
export type Decision = "skip" | "retag" | "zstd" | "plain";

/** Exit codes of the host's end, beside docker's own, 3 (Docker does not answer) and ssh's 255. */
export const RECEIVE_EXIT = { noDocker: 3, wrongImage: 4, tagMoved: 5, badDecision: 6 } as const;

/**
 * Everything one image needs on one host, in one SSH session (a session costs a handshake and a login
 * shell): first the probe (the engine's platform, every image id with its tags, whether zstd is there),
 * then `ready`; then one line from the runner says what to do. To receive, it decompresses (zstd only:
 * docker load reads gzip and plain tars itself), loads, and requires that exactly the expected image id
 * was loaded before tagging it; the tag is read back. A cut stream fails docker load and loads nothing;
 * anything else loaded is refused and left untagged. `read` takes one line and no byte more of the stream.
 */
export function deliveryScript(id: string, tag: string): string {
  const quotedId = shellQuote(checkId(id));
  const quotedTag = shellQuote(checkTag(tag));
  const receive = (load: string) => [
    `    loaded=$(${load}) || exit $?`,
    `    if [ "$loaded" != ${shellQuote(`Loaded image ID: ${id}`)} ]; then`,
    `      printf 'expected %s, docker load said: %s\\n' ${quotedId} "$loaded" >&2`,
    `      exit ${RECEIVE_EXIT.wrongImage}`,
    "    fi",
  ];
  return [
    `docker version --format 'platform {{.Server.Os}}/{{.Server.Arch}}' || exit ${RECEIVE_EXIT.noDocker}`,
    `docker image ls -a --no-trunc --format 'image {{.ID}} {{.Repository}}:{{.Tag}}' || exit ${RECEIVE_EXIT.noDocker}`,
    "if command -v zstd >/dev/null 2>&1; then echo 'zstd yes'; else echo 'zstd no'; fi",
    // The layers each image is made of, so a host receives only those it lacks.
    "ids=$(docker image ls -aq --no-trunc | sort -u)",
    `if [ -n "$ids" ]; then docker image inspect --format 'layers {{.Id}} {{range .RootFS.Layers}}{{.}},{{end}}' $ids || exit ${RECEIVE_EXIT.noDocker}; fi`,
    "if docker info --format '{{json .DriverStatus}}' | grep -q containerd.snapshotter; then echo 'store containerd'; else echo 'store layers'; fi",
    `echo ${READY}`,
    "IFS= read -r decision || exit 0",
    'case "$decision" in',
    "  skip) exit 0 ;;",
    "  retag) ;;",
    "  zstd)",
    ...receive("zstd -dcq | docker load -q"),
    "    ;;",
    "  plain)",
    ...receive("docker load -q"),
    "    ;;",
    `  *) echo 'not a decision: expected skip, retag, zstd or plain' >&2; exit ${RECEIVE_EXIT.badDecision} ;;`,
    "esac",
    `docker tag ${quotedId} ${quotedTag} || exit $?`,
    `tagged=$(docker image inspect --format '{{.Id}}' ${quotedTag}) || exit $?`,
    `if [ "$tagged" != ${quotedId} ]; then`,
    `  printf '%s names %s, not %s\\n' ${quotedTag} "$tagged" ${quotedId} >&2`,
    `  exit ${RECEIVE_EXIT.tagMoved}`,
    "fi",
    `printf 'verified %s %s\\n' ${quotedTag} "$tagged"`,
  ].join("\n");
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
