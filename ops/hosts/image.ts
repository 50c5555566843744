// The ops image every host runs its steps and its proxy from (`greenlight-ops:<tag>`): the compiled ops
// CLI (`npm run build`), the packages it loads at run time, and images/ops/Dockerfile, staged as a small
// build context. The tag is a hash of exactly those files, so the image a host builds is at the version
// of the program that asked for it, and an unchanged CLI keeps its tag (nothing is rebuilt or replaced).
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

export const OPS_IMAGE_REPOSITORY = "greenlight-ops";

/** Packages the compiled CLI requires at run time (checked against its requires by a test). */
export const OPS_RUNTIME_PACKAGES = [
  "@aws-sdk/client-s3",
  "@aws-sdk/lib-storage",
  "commander",
  "pg",
  "ssh2",
  "zod",
] as const;

/** Folders of the `npm run build` output the CLI runs from (relative to bin/build). */
const BUILD_FOLDERS = ["ops", "schema", "contract"];

/** One file of the build context: where it goes in the context, and its bytes. */
export interface ContextFile {
  path: string;
  content: Buffer;
}

/** The image tag of a build context: 16 hex digits of a sha256 over every path and content, in path order. */
export function opsImageTag(files: readonly ContextFile[]): string {
  const hash = crypto.createHash("sha256");
  for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    hash.update(`${file.path}\0${file.content.length}\0`);
    hash.update(file.content);
  }
  return hash.digest("hex").slice(0, 16);
}

/** `greenlight-ops:<tag>`. */
export function opsImageName(files: readonly ContextFile[]): string {
  return `${OPS_IMAGE_REPOSITORY}:${opsImageTag(files)}`;
}

function filesUnder(dir: string, keep: (file: string) => boolean): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(full, keep));
    else if (entry.isFile() && keep(full)) out.push(full);
  }
  return out;
}

/**
 * Whether a package file can be loaded by the compiled (CommonJS) CLI: not types, source maps, TypeScript
 * sources or docs, nor the ES-module builds (dist-es) a require() never reaches. Two thirds of the files.
 */
export function loadedAtRunTime(file: string): boolean {
  const parts = file.split(/[\\/]/);
  if (parts.includes("dist-es") || parts.includes("dist-types")) return false;
  return !/\.(d\.[cm]?ts|[cm]?ts|map|md)$/.test(file);
}

/** The folder of an installed package, as Node would find it from `from`. */
function packageDir(name: string, from: string, root: string): string | undefined {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "node_modules", name);
    if (fs.existsSync(path.join(candidate, "package.json"))) return candidate;
    if (dir === root || path.dirname(dir) === dir) return undefined;
  }
}

/** Every installed package the CLI may load: the runtime packages and their dependencies. */
function packageClosure(projectDir: string): string[] {
  const seen = new Set<string>();
  const visit = (name: string, from: string, required: boolean) => {
    const dir = packageDir(name, from, projectDir);
    if (dir === undefined) {
      if (required) throw new Error(`package ${name} is not installed under ${projectDir}: run npm ci`);
      return;
    }
    if (seen.has(dir)) return;
    seen.add(dir);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    for (const dependency of Object.keys(manifest.dependencies ?? {})) visit(dependency, dir, true);
    for (const dependency of Object.keys(manifest.optionalDependencies ?? {})) visit(dependency, dir, false);
  };
  for (const name of OPS_RUNTIME_PACKAGES) visit(name, projectDir, true);
  return [...seen].sort();
}

/**
 * The build context of the ops image, read from a project whose `npm run build` ran: the Dockerfile and
 * launcher from images/ops, the compiled CLI under app/bin/build, its packages under app/node_modules.
 * `build` is where `npm run build` wrote (default <project>/bin/build).
 */
export function opsImageFiles(
  projectDir: string,
  build = path.join(projectDir, "bin", "build"),
): ContextFile[] {
  if (!fs.existsSync(path.join(build, "ops", "cli.js"))) {
    throw new Error(`${build}/ops/cli.js is missing: run npm run build before building the ops image`);
  }
  const files: ContextFile[] = [];
  const add = (target: string, source: string) =>
    files.push({ path: target.split(path.sep).join("/"), content: fs.readFileSync(source) });
  for (const name of ["Dockerfile", "greenlight-ops"])
    add(name, path.join(projectDir, "images", "ops", name));
  for (const folder of BUILD_FOLDERS) {
    for (const file of filesUnder(path.join(build, folder), (candidate) => candidate.endsWith(".js"))) {
      add(path.join("app", "bin", "build", path.relative(build, file)), file);
    }
  }
  for (const dir of packageClosure(projectDir)) {
    // A package's own node_modules holds packages the closure lists by themselves.
    const own = (candidate: string) =>
      !path.relative(dir, candidate).split(path.sep).includes("node_modules") && loadedAtRunTime(candidate);
    for (const file of filesUnder(dir, own)) {
      add(path.join("app", path.relative(projectDir, file)), file);
    }
  }
  return files;
}

/** Writes the context into `dir` (emptied first); returns the image name it builds. */
export function writeOpsImageContext(files: readonly ContextFile[], dir: string): string {
  fs.rmSync(dir, { recursive: true, force: true });
  for (const file of files) {
    const target = path.join(dir, file.path);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, file.content, { mode: file.path === "greenlight-ops" ? 0o755 : 0o644 });
  }
  return opsImageName(files);
}

if (require.main === module) {
  // node bin/build/ops/hosts/image.js <project dir> <context dir>: stages the context, prints the image name.
  const [projectDir, contextDir] = process.argv.slice(2);
  if (!projectDir || !contextDir) {
    process.stderr.write("usage: node image.js <project dir> <context dir>\n");
    process.exit(2);
  }
  process.stdout.write(
    `${writeOpsImageContext(opsImageFiles(path.resolve(projectDir)), path.resolve(contextDir))}\n`,
  );
}
