// Air-gapped Docker hosts for the delivery tests, the air-gapped release and the delivery bench
// (scripts/isolated-hosts.sh): host N is the network namespace glaN at 10.253.0.N with its own sshd
// (port 22, host key pinned in the script's known_hosts) and dockerd; the hosts reach each other and
// the runner (10.253.0.1), nothing else, and any pull fails at once. Reached as a real host is:
// `ssh root@10.253.0.N '<command>'` and `DOCKER_HOST=ssh://root@10.253.0.N docker …` through the
// script's ssh config. The same SimHosts object drives them as the loopback hosts of tests/support/hosts.
import { execFile, execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { HostLayout, SimHost, SimHosts, opsBaseImage, stageOpsImage } from "./hosts";

const SCRIPT = path.resolve(__dirname, "..", "..", "scripts", "isolated-hosts.sh");

/** The runner's own address on the hosts' network: the only machine besides the hosts they reach. */
export const RUNNER_ADDRESS = "10.253.0.1";

/** The hosts' network, for a service on the runner that they must reach (the database). */
export const HOSTS_NETWORK = "10.253.0.0/24";

export const ISOLATED_LAYOUT: HostLayout = {
  script: SCRIPT,
  address: (number) => `10.253.0.${number}`,
  sshPort: 22,
  leftovers: (dir, number) => {
    const folder = path.join(dir, `h${number}`);
    const namespace = `/var/run/netns/gla${number}`;
    return [
      ...(fs.existsSync(folder) ? [folder] : []),
      ...(fs.existsSync(namespace) ? [`network namespace gla${number}`] : []),
    ];
  },
};

export function isolatedDir(): string {
  return process.env.GREENLIGHT_ISOLATED_DIR ?? "/var/tmp/greenlight-isolated";
}

/**
 * Starts `count` isolated hosts from number `first` (10.253.0.<first> …), idempotently; throws with the
 * script's reason. Test files that run at once (mocha --parallel) each take their own numbers.
 */
export async function startIsolatedHosts(count = 3, first = 2): Promise<SimHosts> {
  await new Promise<void>((resolve, reject) =>
    execFile(
      SCRIPT,
      ["start", String(count), String(first)],
      { timeout: 180_000 },
      (error, _stdout, stderr) => (error ? reject(new Error(stderr.trim() || error.message)) : resolve()),
    ),
  );
  return new SimHosts(isolatedDir(), count, ISOLATED_LAYOUT, first);
}

/** A host's engine through its socket on this machine: for setting up a case, never for the step under test. */
export function hostSocket(sim: SimHosts, host: SimHost): string {
  return `unix://${path.join(sim.dir, `h${host.number}`, "docker.sock")}`;
}

/** `docker <args>` straight at a host's socket (no SSH): arranging a host's state before a case. */
export function dockerAt(sim: SimHosts, host: SimHost, args: string[], input?: Buffer): string {
  return execFileSync("docker", args, {
    env: { ...process.env, DOCKER_HOST: hostSocket(sim, host) },
    encoding: "utf8",
    input,
    maxBuffer: 512 * 1024 * 1024,
    stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
}

/** Copies an image from this machine's engine to a host's, without SSH (case setup). */
export function loadAt(sim: SimHosts, host: SimHost, image: string): void {
  execFileSync(
    "sh",
    [
      "-c",
      'docker save "$1" | DOCKER_HOST="$2" docker load -q >/dev/null',
      "sh",
      image,
      hostSocket(sim, host),
    ],
    {
      stdio: "pipe",
      timeout: 300_000,
    },
  );
}

/** Every image id a host holds (tagged or not). */
export function idsAt(sim: SimHosts, host: SimHost): string[] {
  return dockerAt(sim, host, ["image", "ls", "-a", "--no-trunc", "--format", "{{.ID}}"])
    .split("\n")
    .filter(Boolean);
}

/** The image id a tag names on a host, if any. */
export function tagAt(sim: SimHosts, host: SimHost, tag: string): string | undefined {
  try {
    return dockerAt(sim, host, ["image", "inspect", "--format", "{{.Id}}", tag]).trim();
  } catch {
    return undefined;
  }
}

/** Removes images from a host (by id or tag), ignoring those it does not hold. */
export function removeAt(sim: SimHosts, host: SimHost, ...images: string[]): void {
  for (const image of images) {
    try {
      dockerAt(sim, host, ["rmi", "-f", image]);
    } catch {
      // Not there.
    }
  }
}

/** The pids of a host's open SSH sessions (children of its sshd): cutting one cuts a transfer. */
export function sshSessionPids(sim: SimHosts, host: SimHost): number[] {
  const listener = fs.readFileSync(path.join(sim.dir, `h${host.number}`, "sshd.pid"), "utf8").trim();
  try {
    return execFileSync("pgrep", ["-P", listener], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** The known_hosts line the script pinned for a host. */
export function pinnedHostKey(sim: SimHosts, host: SimHost): string {
  const line = fs
    .readFileSync(path.join(sim.dir, "known_hosts"), "utf8")
    .split("\n")
    .find((entry) => entry.startsWith(`${host.address} `));
  if (!line) throw new Error(`no pinned key for ${host.address}`);
  return line;
}

/**
 * The ops image built once on this machine's engine (where Pulumi runs), from the current sources on
 * the offline base: what every host then receives. `created` is false when the engine had it already.
 */
export function buildOpsImageHere(): { image: string; id: string; created: boolean } {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "gl-ops-here-"));
  try {
    const { context, image } = stageOpsImage(work);
    const had = imageIdHere(image) !== undefined;
    execFileSync("docker", ["build", "-q", "--build-arg", `BASE=${opsBaseImage()}`, "-t", image, context], {
      env: { ...process.env, DOCKER_BUILDKIT: "0" },
      stdio: "pipe",
      timeout: 600_000,
    });
    const id = imageIdHere(image);
    if (id === undefined) throw new Error(`${image} is not in this machine's engine after its build`);
    return { image, id, created: !had };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** The id of an image in this machine's engine, if it has it. */
export function imageIdHere(ref: string): string | undefined {
  try {
    return execFileSync("docker", ["image", "inspect", "--format", "{{.Id}}", ref], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return undefined;
  }
}
