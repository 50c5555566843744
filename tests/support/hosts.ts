// Simulated Docker hosts for the multi-host tests and the bench (scripts/sim-hosts.sh): host N is
// 127.0.0.N with its own sshd (port 2222) and its own dockerd, reached exactly as a program's ssh://
// docker provider or remote.Command reaches a real host: `DOCKER_HOST=ssh://root@127.0.0.N docker …`
// and `ssh root@127.0.0.N '<command>'`, through the ssh config the script writes.
import { ChildProcess, execFile, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { opsImageFiles, writeOpsImageContext } from "../../ops/hosts/image";
import { waitForPort } from "./ports";

const PROJECT_DIR = path.resolve(__dirname, "..", "..");
const SCRIPT = path.join(PROJECT_DIR, "scripts", "sim-hosts.sh");
const BASE_SCRIPT = path.join(PROJECT_DIR, "scripts", "ops-base-image.sh");

export interface SimHost {
  /** h2, h3, …: the name the switch and its failures use. */
  name: string;
  number: number;
  /** 127.0.0.N: the host's own (private and public) address. */
  address: string;
  dockerHost: string;
  /** Its sshd's port (2222). */
  sshPort: number;
}

/** What a host's sshd logged about one connection attempt, as an attacker's view of what reached it. */
export interface SshdLog {
  /** Lines of the sshd log since the impostor started. */
  lines: string[];
  /** Whether any user authenticated (publickey accepted), i.e. whether any session could have been opened. */
  authenticated: boolean;
}

export interface CommandRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The JSON objects printed on stdout, one per line. */
  json: Record<string, unknown>[];
  ms: number;
}

function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split("\n")
    .filter((line) => line.trim().startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Where a kind of simulated host comes from: its script, its addresses, what stopping it must remove. */
export interface HostLayout {
  script: string;
  address(number: number): string;
  /** Its sshd's port. */
  sshPort: number;
  /** What is left of host `number` under `dir` after a stop (nothing, when it stopped cleanly). */
  leftovers(dir: string, number: number): string[];
}

/** scripts/sim-hosts.sh: 127.0.0.N, a data folder and a bridge glhN per host. */
export const SIM_LAYOUT: HostLayout = {
  script: SCRIPT,
  address: (number) => `127.0.0.${number}`,
  sshPort: 2222,
  leftovers: (dir, number) => {
    const folder = path.join(dir, `h${number}`);
    const bridge = `glh${number}`;
    return [
      ...(fs.existsSync(folder) ? [folder] : []),
      ...(fs.existsSync(`/sys/class/net/${bridge}`) ? [`bridge ${bridge}`] : []),
    ];
  },
};

/**
 * The ops image's build context staged in `work` from the current sources (compiled there, as `npm run
 * build` would), with the image name it builds: `greenlight-ops:<tag>`.
 */
export function stageOpsImage(work: string): { context: string; image: string } {
  const build = path.join(work, "build");
  execFileSync(
    process.execPath,
    [
      require.resolve("typescript/bin/tsc"),
      "-p",
      path.join(PROJECT_DIR, "tsconfig.build.json"),
      "--outDir",
      build,
    ],
    { stdio: "pipe" },
  );
  const context = path.join(work, "context");
  return { context, image: writeOpsImageContext(opsImageFiles(PROJECT_DIR, build), context) };
}

/** The offline base of the ops image (scripts/ops-base-image.sh) in the engine `env` names. */
export function opsBaseImage(env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync(BASE_SCRIPT, [], { encoding: "utf8", env }).trim();
}

export class SimHosts {
  readonly hosts: SimHost[];
  /** This process's environment with `ssh` reading the hosts' ssh config. */
  readonly env: NodeJS.ProcessEnv;

  constructor(
    readonly dir: string,
    count: number,
    readonly layout: HostLayout = SIM_LAYOUT,
    /** The first host's number (the rest follow): two sets of hosts can run side by side. */
    readonly first = 2,
  ) {
    this.hosts = Array.from({ length: count }, (_, index) => {
      const number = index + first;
      const address = layout.address(number);
      return {
        name: `h${number}`,
        number,
        address,
        dockerHost: `ssh://root@${address}`,
        sshPort: layout.sshPort,
      };
    });
    this.env = { ...process.env, PATH: `${path.join(dir, "bin")}:${process.env.PATH ?? ""}` };
  }

  /** A host's own SSH key, "<type> <base64>": what greenlight:hosts[].hostKey pins. */
  hostKey(host: SimHost): string {
    const text = fs.readFileSync(path.join(this.dir, `h${host.number}`, "ssh_host_ed25519_key.pub"), "utf8");
    return text.trim().split(/\s+/).slice(0, 2).join(" ");
  }

  /** The hosts' SSH private key (what greenlight:sshPrivateKey holds). */
  privateKey(): string {
    return fs.readFileSync(path.join(this.dir, "id_ed25519"), "utf8");
  }

  /**
   * Replaces a host's sshd with an impostor on the same address and port: the same users and keys
   * accepted, but ANOTHER host key (what a man in the middle presents), logging every connection
   * verbosely. Returns its host key and a stop function that starts the real sshd again.
   */
  async startImpostor(host: SimHost): Promise<{ hostKey: string; log: () => SshdLog; stop: () => void }> {
    const hostDir = path.join(this.dir, `h${host.number}`);
    const impostorDir = fs.mkdtempSync(path.join(os.tmpdir(), "gl-impostor-"));
    const key = path.join(impostorDir, "ssh_host_ed25519_key");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
    const config = fs
      .readFileSync(path.join(hostDir, "sshd_config"), "utf8")
      .replace(/^HostKey .*$/m, `HostKey ${key}`)
      .replace(/^PidFile .*$/m, `PidFile ${impostorDir}/sshd.pid`)
      .replace(/^LogLevel .*$/m, "LogLevel DEBUG1");
    fs.writeFileSync(path.join(impostorDir, "sshd_config"), config);
    this.stopSshd(host);
    const logFile = path.join(impostorDir, "sshd.log");
    const sshd = fs.existsSync("/usr/sbin/sshd") ? "/usr/sbin/sshd" : "sshd";
    execFileSync(sshd, ["-f", path.join(impostorDir, "sshd_config"), "-E", logFile], { stdio: "pipe" });
    // sshd goes to the background before it binds its port (OpenSSH sshd.c: daemon() comes before
    // server_listen()), so its exit says nothing about whether it accepts connections yet.
    await waitForPort(host.sshPort, 30_000, host.address);
    const read = (): SshdLog => {
      const lines = fs.existsSync(logFile)
        ? fs.readFileSync(logFile, "utf8").split("\n").filter(Boolean)
        : [];
      return { lines, authenticated: lines.some((line) => /Accepted (publickey|password)/.test(line)) };
    };
    return {
      hostKey: fs.readFileSync(`${key}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" "),
      log: read,
      stop: () => {
        const pid = Number(fs.readFileSync(path.join(impostorDir, "sshd.pid"), "utf8"));
        process.kill(pid, "SIGTERM");
        fs.rmSync(impostorDir, { recursive: true, force: true });
        this.startSshd(host);
      },
    };
  }

  /**
   * A second sshd for a host on another port of its address: its own host key and users, with `extra`
   * config lines (e.g. AllowStreamLocalForwarding no), logging verbosely. Returns its log and a stop.
   */
  async startSshdVariant(
    host: SimHost,
    port: number,
    extra: string[],
  ): Promise<{ log: () => string[]; stop: () => void }> {
    const hostDir = path.join(this.dir, `h${host.number}`);
    const variantDir = fs.mkdtempSync(path.join(os.tmpdir(), "gl-sshd-variant-"));
    const config = fs
      .readFileSync(path.join(hostDir, "sshd_config"), "utf8")
      .replace(/^ListenAddress .*$/m, `ListenAddress ${host.address}:${port}`)
      .replace(/^PidFile .*$/m, `PidFile ${variantDir}/sshd.pid`)
      .replace(/^LogLevel .*$/m, "LogLevel DEBUG1");
    fs.writeFileSync(path.join(variantDir, "sshd_config"), `${config}\n${extra.join("\n")}\n`);
    const logFile = path.join(variantDir, "sshd.log");
    const sshd = fs.existsSync("/usr/sbin/sshd") ? "/usr/sbin/sshd" : "sshd";
    execFileSync(sshd, ["-f", path.join(variantDir, "sshd_config"), "-E", logFile], { stdio: "pipe" });
    await waitForPort(port, 30_000, host.address); // as in startImpostor: sshd listens after it forks
    return {
      log: () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8").split("\n").filter(Boolean) : []),
      stop: () => {
        const pid = Number(fs.readFileSync(path.join(variantDir, "sshd.pid"), "utf8"));
        process.kill(pid, "SIGTERM");
        fs.rmSync(variantDir, { recursive: true, force: true });
      },
    };
  }

  /** `docker <args>` against a host's engine over SSH; throws with docker's stderr on failure. */
  docker(host: SimHost, args: string[], timeoutMs = 120_000): string {
    return execFileSync("docker", args, {
      env: { ...this.env, DOCKER_HOST: host.dockerHost, DOCKER_BUILDKIT: "0" },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: timeoutMs,
    });
  }

  /** The same, without blocking the event loop (for loads running meanwhile). */
  dockerAsync(host: SimHost, args: string[], timeoutMs = 120_000): Promise<CommandRun> {
    return this.run("docker", args, { DOCKER_HOST: host.dockerHost, DOCKER_BUILDKIT: "0" }, timeoutMs);
  }

  /**
   * Runs a command string on a host over SSH, as remote.Command does; `env` reaches the session as SSH
   * "env" requests (the ssh config's SendEnv), which the host's sshd accepts only for AcceptEnv names.
   */
  ssh(
    host: SimHost,
    command: string,
    env: Record<string, string> = {},
    timeoutMs = 180_000,
  ): Promise<CommandRun> {
    return this.run("ssh", [`root@${host.address}`, command], env, timeoutMs);
  }

  private run(
    binary: string,
    args: string[],
    env: Record<string, string>,
    timeoutMs: number,
  ): Promise<CommandRun> {
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const child = spawn(binary, args, { env: { ...this.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      child.once("error", reject);
      child.once("close", (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, stdout, stderr, json: jsonLines(stdout), ms: Date.now() - started });
      });
    });
  }

  /** The image id a host has for a reference, if any. */
  imageId(host: SimHost, ref: string): string | undefined {
    try {
      return this.docker(host, ["image", "inspect", "--format", "{{.Id}}", ref]).trim();
    } catch {
      return undefined;
    }
  }

  /** Copies images from the main engine to every host (`docker save | docker load`), skipping those a host has. */
  async loadImages(refs: string[]): Promise<void> {
    await Promise.all(
      this.hosts.map(async (host) => {
        for (const ref of refs) {
          const id = execFileSync("docker", ["image", "inspect", "--format", "{{.Id}}", ref], {
            encoding: "utf8",
          }).trim();
          if (this.imageId(host, ref) === id) continue;
          await new Promise<void>((resolve, reject) => {
            execFile(
              "sh",
              ["-c", `docker save "$1" | DOCKER_HOST="$2" docker load -q`, "sh", ref, host.dockerHost],
              { env: this.env, timeout: 300_000 },
              (error, _stdout, stderr) =>
                error
                  ? reject(new Error(`loading ${ref} on ${host.name}: ${stderr || error.message}`))
                  : resolve(),
            );
          });
        }
      }),
    );
  }

  private base?: Promise<string>;

  /** The offline base of the ops image (scripts/ops-base-image.sh), made once and loaded on every host. */
  opsBase(): Promise<string> {
    this.base ??= (async () => {
      const base = opsBaseImage(this.env);
      await this.loadImages([base]);
      return base;
    })();
    return this.base;
  }

  /** Builds a context dir as `tag` on every host, through each host's own engine. */
  private async buildOnEveryHost(context: string, tag: string, args: string[] = []): Promise<void> {
    await Promise.all(
      this.hosts.map(async (host) => {
        const built = await this.dockerAsync(host, ["build", "-q", ...args, "-t", tag, context], 600_000);
        if (built.code !== 0) throw new Error(`building ${tag} on ${host.name}: ${built.stderr.trim()}`);
      }),
    );
  }

  /**
   * Builds the ops image on every host through its own engine, as the program's docker.Image per host
   * does: the CLI compiled from the current sources, the context staged by ops/hosts/image.ts, the base
   * made offline by scripts/ops-base-image.sh. Returns `greenlight-ops:<tag>`.
   */
  async buildOpsImage(): Promise<string> {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "gl-ops-image-"));
    try {
      const { context, image } = stageOpsImage(work);
      await this.buildOnEveryHost(context, image, ["--build-arg", `BASE=${await this.opsBase()}`]);
      return image;
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }

  /**
   * The sample app's images on every host, under the same names: the app folder of each image built on
   * the main engine, on top of the ops base (node 22) already there, so a few MB travel per host instead
   * of a whole rootfs per release.
   */
  async buildAppImages(refs: string[]): Promise<void> {
    const base = await this.opsBase();
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "gl-app-images-"));
    try {
      for (const ref of refs) {
        const context = path.join(work, ref.replace(/[^A-Za-z0-9]/g, "-"));
        fs.mkdirSync(context);
        const container = execFileSync("docker", ["create", ref], { encoding: "utf8" }).trim();
        try {
          execFileSync("docker", ["cp", `${container}:/app`, path.join(context, "app")], { stdio: "pipe" });
        } finally {
          execFileSync("docker", ["rm", container], { stdio: "pipe" });
        }
        fs.writeFileSync(
          path.join(context, "Dockerfile"),
          [
            `FROM ${base}`,
            "COPY app/ /app/",
            "ENV NODE_ENV=production",
            "WORKDIR /app",
            'ENTRYPOINT ["/usr/local/bin/node"]',
            'CMD ["/app/app.js"]',
            "",
          ].join("\n"),
        );
        await this.buildOnEveryHost(context, ref);
      }
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }

  stopSshd(host: SimHost): void {
    execFileSync(this.layout.script, ["sshd-stop", String(host.number)], { stdio: "pipe", env: this.env });
  }

  startSshd(host: SimHost): void {
    execFileSync(this.layout.script, ["sshd-start", String(host.number)], {
      stdio: "pipe",
      env: this.env,
      timeout: 90_000,
    });
  }

  /** Released by stop(): the suite's hold on the simulated hosts. */
  lock?: ChildProcess;

  /** Stops every host's sshd and dockerd and removes what they made. */
  stop(): void {
    try {
      execFileSync(this.layout.script, ["stop", String(this.hosts.length), String(this.first)], {
        stdio: "pipe",
        env: this.env,
        timeout: 180_000,
      });
    } finally {
      this.lock?.stdin?.end();
    }
    const left = this.hosts.flatMap((host) => this.layout.leftovers(this.dir, host.number));
    if (left.length > 0) throw new Error(`simulated hosts left behind: ${left.join(", ")}`);
  }
}

/** The hosts are machine-wide: test files that use them (in two mocha workers) take turns on this lock. */
const SUITE_LOCK = "/tmp/gl-simhosts-suite.lock";

/** Holds SUITE_LOCK in a `flock` child until its stdin closes (or this process dies). */
async function holdSuiteLock(): Promise<ChildProcess> {
  const child = spawn("flock", [SUITE_LOCK, "-c", "echo held; cat >/dev/null"], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    child.once("error", reject);
    child.stdout?.once("data", () => resolve());
    child.once("exit", (code) => reject(new Error(`flock ${SUITE_LOCK} exited with ${code}`)));
  });
  return child;
}

/**
 * Starts `count` simulated hosts (127.0.0.2 …), idempotently, once no other test file of this suite
 * holds them; throws with the script's reason. stop() lets the next file have them.
 */
export async function startSimHosts(count = 3): Promise<SimHosts> {
  const dir = process.env.GREENLIGHT_HOSTS_DIR ?? "/var/tmp/greenlight-hosts";
  const lock = await holdSuiteLock();
  try {
    await new Promise<void>((resolve, reject) =>
      execFile(SCRIPT, ["start", String(count)], { timeout: 180_000 }, (error, _stdout, stderr) =>
        error ? reject(new Error(stderr.trim() || error.message)) : resolve(),
      ),
    );
  } catch (error) {
    lock.stdin?.end();
    throw error;
  }
  const hosts = new SimHosts(dir, count);
  hosts.lock = lock;
  return hosts;
}
