// What the release tool refuses before it reads a file: release ids and images that must never reach a
// stack file (shell characters, moving tags, an image not pinned by digest where the stack requires it). Bad input:
// the tool exits 2 and writes nothing.
import { IMAGE_DIGEST, IMAGE_REF, RELEASE_ID } from "../../contract/patterns";
import { BadInput } from "../lib/io";

/**
 * A release the stack's state does not allow (the id is live already, the idle color is the only healthy
 * one, the tag exists), with what to do instead; the tool then exits 1 and writes nothing.
 */
export class ReleaseRefusal extends Error {}

/** Refuses release ids and images that must never reach a stack file. */
export function checkReleaseInputs(input: {
  stack: string;
  release: string;
  image: string;
  /** The stack's greenlight:requireDigest. */
  requireDigest: boolean;
}): void {
  const { stack, release, image } = input;
  if (!RELEASE_ID.test(release)) {
    throw new BadInput(
      `--release ${JSON.stringify(release)}: use 1-64 letters, digits, '.', '_' or '-' (no spaces or shell characters)`,
    );
  }
  if (release.toLowerCase() === "latest") {
    throw new BadInput(
      `--release latest: name the release (e.g. ${new Date().toISOString().slice(0, 10).replace(/-/g, ".")}-1); "latest" moves`,
    );
  }
  if (!IMAGE_REF.test(image)) {
    throw new BadInput(
      `--image ${JSON.stringify(image)}: expected a Docker image reference such as registry.example.com/shop@sha256:<64 hex digits>`,
    );
  }
  const withoutDigest = image.replace(IMAGE_DIGEST, "");
  const lastSegment = withoutDigest.split("/").pop() ?? withoutDigest;
  const tag = lastSegment.includes(":") ? lastSegment.split(":").pop() : undefined;
  const pinned = IMAGE_DIGEST.test(image);
  if (tag === "latest" || (tag === undefined && !pinned)) {
    throw new BadInput(
      `--image ${image}: ${tag === "latest" ? "the latest tag" : "no tag means latest, which"} moves under a running release; ` +
        "give a release tag, or better a digest (name@sha256:…)",
    );
  }
  if (input.requireDigest && !pinned) {
    throw new BadInput(
      `--image ${image}: ${stack} runs images pinned by digest (greenlight:requireDigest), a tag can be moved; ` +
        "use name@sha256:<digest> (docker buildx imagetools inspect <ref> prints it)",
    );
  }
}
