// Makes sure a Docker engine answers; starts dockerd when it is installed but not running.
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

function dockerAnswers(): boolean {
  try {
    execFileSync("docker", ["info", "--format", "{{.ServerVersion}}"], { stdio: "pipe", timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

let started: Promise<void> | undefined;

/** Resolves once `docker info` answers; starts dockerd (as root) when needed. */
export function ensureDocker(): Promise<void> {
  started ??= (async () => {
    if (dockerAnswers()) return;
    const dockerd = ["/usr/sbin/dockerd", "/usr/bin/dockerd"].find((candidate) => fs.existsSync(candidate));
    if (!dockerd)
      throw new Error("no Docker engine answers and dockerd is not installed (apt-get install docker.io)");
    if (process.getuid?.() !== 0) throw new Error("no Docker engine answers and starting dockerd needs root");
    const log = fs.openSync(path.join(os.tmpdir(), "greenlight-dockerd.log"), "a");
    spawn(dockerd, [], { detached: true, stdio: ["ignore", log, log] }).unref();
    const deadline = Date.now() + 60_000;
    while (!dockerAnswers()) {
      if (Date.now() > deadline)
        throw new Error(
          `dockerd did not answer within 60 s; see ${path.join(os.tmpdir(), "greenlight-dockerd.log")}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  })();
  return started;
}

/** Removes containers by name, ignoring the ones that do not exist. */
export function removeContainers(...names: string[]): void {
  for (const name of names) {
    try {
      execFileSync("docker", ["rm", "-f", name], { stdio: "ignore" });
    } catch {
      // Not there: nothing to remove.
    }
  }
}
