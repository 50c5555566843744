// Makes sure a color's image is on the Docker host before its containers are created: present, or
// pulled, or a clear failure naming the image — instead of a provider error halfway through a release.
import { execFile } from "child_process";
import { isImageRef } from "../../contract/patterns";
import { StepError, progress } from "../lib/step";

export interface ImageReport {
  step: "image";
  image: string;
  /** Local image id (sha256:…). */
  id: string;
  repoDigests: string[];
  pulled: boolean;
}

function docker(
  args: string[],
  timeoutMs: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      "docker",
      args,
      { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && (error as NodeJS.ErrnoException).code === "ENOENT") {
          reject(
            new StepError("the docker CLI is not installed on this machine (apt-get install docker.io)", 2),
          );
          return;
        }
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

async function inspect(
  image: string,
  env?: NodeJS.ProcessEnv,
): Promise<{ id: string; repoDigests: string[] } | undefined> {
  const result = await docker(
    ["image", "inspect", "--format", "{{json .Id}} {{json .RepoDigests}}", image],
    30_000,
    env,
  );
  if (result.code !== 0) {
    if (/no such image/i.test(result.stderr)) return undefined;
    throw new StepError(`docker image inspect ${image} failed: ${result.stderr.trim().split("\n")[0]}`);
  }
  const [id, digests] = result.stdout.trim().split(" ");
  return { id: JSON.parse(id) as string, repoDigests: (JSON.parse(digests) as string[] | null) ?? [] };
}

/**
 * Resolves with the local image, pulling it when `pull` allows; throws StepError naming the image otherwise.
 * `env` is the docker CLI's (DOCKER_HOST names the engine), this process's by default.
 */
export async function ensureImage(
  image: string,
  options: { pull: boolean; env?: NodeJS.ProcessEnv },
): Promise<ImageReport> {
  if (!isImageRef(image)) {
    throw new StepError(`image ${JSON.stringify(image)} is not a Docker image reference`, 2);
  }
  let found = await inspect(image, options.env);
  let pulled = false;
  if (!found && options.pull && !image.startsWith("sha256:")) {
    progress("image", `${image} is not on this Docker host; pulling it`);
    const result = await docker(["pull", "--quiet", image], 15 * 60_000, options.env);
    if (result.code !== 0) {
      throw new StepError(
        `image ${image} is not on this Docker host and docker pull failed (${result.stderr.trim().split("\n").pop()}): ` +
          `load or build it there (docker load / docker build -t ${image}) or check the registry and its credentials`,
      );
    }
    pulled = true;
    found = await inspect(image, options.env);
  }
  if (!found) {
    throw new StepError(
      `image ${image} is not on this Docker host${options.pull ? "" : " (pulling is off)"}: load or build it there first (docker load / docker build -t ${image})`,
    );
  }
  return { step: "image", image, id: found.id, repoDigests: found.repoDigests, pulled };
}
