// The sending end of a delivery, on the machine that runs Pulumi: the image as its Docker engine holds
// it (pulled there first from a registry it can reach, when allowed), exported by id so the stream
// carries no tag, and compressed once for every host that receives it.
import { ChildProcess, execFile, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PassThrough, Readable, Writable } from "stream";
import * as zlib from "zlib";
import { IMAGE_DIGEST, IMAGE_ID, isImageRef } from "../../contract/patterns";
import { ensureImage } from "../image";
import { StepError } from "../lib/step";
import { Codec, hostTag } from "./remote";

/** An image to deliver, as the source engine holds it. */
export interface SourceImage {
  /** The reference as configured (name:tag, name@sha256:…, or an image id). */
  image: string;
  /** The image id (sha256 of its config): what every host must end up holding. */
  id: string;
  /** Uncompressed size, as docker reports it. */
  bytes: number;
  /** os/arch the image is built for. */
  platform: string;
  /** Its layers' diff ids, base first. */
  layers: string[];
  /** The tag it carries on the hosts (remote.ts hostTag). */
  tag: string;
  /** Named by content: a different image under its tag on a host is refused, not replaced. */
  pinned: boolean;
  /** Pulled onto this machine by this run. */
  pulled: boolean;
}

function docker(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile("docker", args, { env, timeout: 60_000, maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && (error as NodeJS.ErrnoException).code === "ENOENT") {
        reject(
          new StepError("the docker CLI is not installed on this machine (apt-get install docker.io)", 2),
        );
        return;
      }
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

async function inspect(
  ref: string,
  env: NodeJS.ProcessEnv,
): Promise<{ id: string; bytes: number; platform: string; layers: string[] } | undefined> {
  const result = await docker(
    [
      "image",
      "inspect",
      "--format",
      "{{.Id}} {{.Size}} {{.Os}}/{{.Architecture}} {{json .RootFS.Layers}}",
      ref,
    ],
    env,
  );
  if (result.code !== 0) {
    if (/no such image/i.test(result.stderr)) return undefined;
    throw new StepError(`docker image inspect ${ref} failed here: ${result.stderr.trim().split("\n")[0]}`);
  }
  const [id, bytes, platform, layers] = result.stdout.trim().split(" ");
  return { id, bytes: Number(bytes), platform, layers: (JSON.parse(layers) as string[] | null) ?? [] };
}

export interface SourceOptions {
  pull: boolean;
  env: NodeJS.ProcessEnv;
  /** The tag it gets on the hosts, instead of hostTag(image). */
  tag?: string;
  /** A digest-pinned reference must name the image id itself (what each host verifies), not a registry digest. */
  digestIsId?: boolean;
}

/**
 * The image in this machine's engine. A digest-pinned reference is found by its registry digest (the
 * image's RepoDigests, once pulled) or, for an image never pushed, by the digest as its image id.
 */
export async function resolveSource(image: string, options: SourceOptions): Promise<SourceImage> {
  if (!isImageRef(image))
    throw new StepError(`image ${JSON.stringify(image)} is not a Docker image reference`, 2);
  const digest = IMAGE_DIGEST.exec(image)?.[0].slice(1);
  let found = await inspect(image, options.env);
  if (!found && digest !== undefined) found = await inspect(digest, options.env);
  let pulled = false;
  if (!found) {
    // Pulls it here from a registry this machine reaches, or fails naming the image.
    pulled = (await ensureImage(image, { pull: options.pull, env: options.env })).pulled;
    found = await inspect(image, options.env);
    if (!found)
      throw new StepError(`image ${image} is still not in this machine's Docker engine after the pull`);
  }
  if (options.digestIsId && digest !== undefined && found.id !== digest) {
    throw new StepError(
      `${image} names ${digest}, which is a registry digest: the image's id is ${found.id}, and that is what each host holds and checks; name the release by it (${image.slice(0, image.indexOf("@"))}@${found.id})`,
    );
  }
  const pinned = digest !== undefined || IMAGE_ID.test(image);
  return { image, ...found, tag: options.tag ?? hostTag(image), pinned, pulled };
}

/** `docker save <id> > file`: the archive to send in parts, when some hosts hold some of its layers. */
export function exportImageToFile(id: string, file: string, env: NodeJS.ProcessEnv): ChildProcess {
  if (!IMAGE_ID.test(id)) throw new Error(`exportImageToFile: ${id} is not an image id`);
  return spawn("docker", ["save", "--output", file, id], { env, stdio: ["ignore", "ignore", "pipe"] });
}

/** `docker save <id>`: the image without any tag, so loading it moves no tag on the host. */
export function exportImage(id: string, env: NodeJS.ProcessEnv): ChildProcess {
  if (!IMAGE_ID.test(id)) throw new Error(`exportImage: ${id} is not an image id`);
  return spawn("docker", ["save", id], { env, stdio: ["ignore", "pipe", "pipe"] });
}

/** A compressor: bytes written to `input` come out compressed on `output`. */
export interface Compressor {
  codec: Codec;
  input: Writable;
  output: Readable;
  /** The zstd process, when the zstd program does the work (multi-threaded). */
  child?: ChildProcess;
}

function onPath(program: string, env: NodeJS.ProcessEnv): boolean {
  return (env.PATH ?? "")
    .split(path.delimiter)
    .some((dir) => dir !== "" && fs.existsSync(path.join(dir, program)));
}

/** Whether this machine can compress zstd: the zstd program, or Node's zlib (22.15 and later). */
export function canZstd(env: NodeJS.ProcessEnv): boolean {
  return onPath("zstd", env) || typeof zlib.createZstdCompress === "function";
}

/** Level 1 of either codec: the links are usually faster than a second pass of compression here. */
export function compressor(codec: Codec, env: NodeJS.ProcessEnv): Compressor {
  if (codec === "none") {
    const through = new PassThrough();
    return { codec, input: through, output: through };
  }
  if (codec === "gzip") {
    const gzip = zlib.createGzip({ level: 1 });
    return { codec, input: gzip, output: gzip };
  }
  if (onPath("zstd", env)) {
    const child = spawn("zstd", ["-1", "-T0", "-q", "-c"], { env, stdio: ["pipe", "pipe", "pipe"] });
    if (!child.stdin || !child.stdout) throw new Error("zstd: no pipes");
    return { codec, input: child.stdin, output: child.stdout, child };
  }
  const zstd = zlib.createZstdCompress({ params: { [zlib.constants.ZSTD_c_compressionLevel]: 1 } });
  return { codec, input: zstd, output: zstd };
}
