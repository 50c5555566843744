// The ops image on this machine's Docker engine, as a host builds it: the CLI compiled from the current
// sources, the context staged by ops/hosts/image.ts, the base made offline by scripts/ops-base-image.sh.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { opsImageFiles, writeOpsImageContext } from "../../ops/hosts/image";

const PROJECT_DIR = path.join(__dirname, "..", "..");

function imageExists(name: string): boolean {
  try {
    execFileSync("docker", ["image", "inspect", name], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Builds `greenlight-ops:<tag>`; `remove` takes it away again unless it was there before. */
export function buildLocalOpsImage(): { name: string; remove(): void } {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "gl-ops-image-local-"));
  try {
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
    const name = writeOpsImageContext(opsImageFiles(PROJECT_DIR, build), context);
    const existed = imageExists(name);
    if (!existed) {
      const base = execFileSync(path.join(PROJECT_DIR, "scripts", "ops-base-image.sh"), [], {
        encoding: "utf8",
      }).trim();
      execFileSync("docker", ["build", "-q", "--build-arg", `BASE=${base}`, "-t", name, context], {
        stdio: "pipe",
        timeout: 600_000,
      });
    }
    return {
      name,
      remove: () => {
        if (!existed) execFileSync("docker", ["rmi", "-f", name], { stdio: "ignore" });
      },
    };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
