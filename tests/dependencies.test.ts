// The Pulumi packages the lockfiles pin are on their supported release lines. A provider SDK names the
// plugin version the engine downloads (its package.json `pulumi.version`, which `pulumi plugin install`
// and the engine read), so a deprecated stray publish such as @pulumi/command 4.5.0 (its `latest` is
// 1.x; no v4.5.0 plugin exists upstream) breaks a real `pulumi up`. The registry is asked live: the
// lockfile does not keep registry metadata, and CI reaches the npm registry to install anyway.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

const PROJECT_DIR = path.join(__dirname, "..");
const PROVIDERS = ["@pulumi/aws", "@pulumi/command", "@pulumi/docker", "@pulumi/postgresql"];
const SDKS = ["@pulumi/pulumi", "@pulumi/policy"];

interface Lock {
  packages: Record<string, { version?: string }>;
}

/** Every version of `name` a lockfile pins (top level and nested). */
function lockedVersions(lockFile: string, name: string): string[] {
  const lock = JSON.parse(fs.readFileSync(lockFile, "utf8")) as Lock;
  return Object.entries(lock.packages)
    .filter(([where]) => where === `node_modules/${name}` || where.endsWith(`/node_modules/${name}`))
    .map(([, entry]) => entry.version)
    .filter((version): version is string => version !== undefined);
}

/** `npm view` against the registry CI installs from. */
function npmView(spec: string, field: string): string {
  const result = spawnSync("npm", ["view", spec, field, "--json"], { encoding: "utf8", timeout: 60_000 });
  assert.equal(result.status, 0, `npm view ${spec} ${field}: ${result.stderr}`);
  return result.stdout.trim();
}

const major = (version: string) => Number(version.split(".")[0]);

describe("Pulumi packages on their supported release lines", function () {
  this.timeout(180_000);

  const locks = [
    path.join(PROJECT_DIR, "package-lock.json"),
    path.join(PROJECT_DIR, "policies", "package-lock.json"),
  ];
  const pinned = [...PROVIDERS, ...SDKS].flatMap((name) =>
    locks.flatMap((lock) =>
      lockedVersions(lock, name).map((version) => ({
        name,
        version,
        lock: path.basename(path.dirname(lock)),
      })),
    ),
  );

  it("the lockfiles pin every provider the program uses, @pulumi/command on 1.x", () => {
    for (const name of PROVIDERS)
      assert.ok(
        pinned.some((entry) => entry.name === name),
        `${name} is locked`,
      );
    for (const entry of pinned.filter((entry) => entry.name === "@pulumi/command"))
      assert.equal(major(entry.version), 1);
  });

  it("each provider SDK installed names its own version as the plugin the engine downloads", () => {
    for (const name of PROVIDERS) {
      const manifest = JSON.parse(
        fs.readFileSync(path.join(PROJECT_DIR, "node_modules", name, "package.json"), "utf8"),
      ) as {
        version: string;
        pulumi?: { resource?: boolean; version?: string };
      };
      assert.equal(manifest.pulumi?.resource, true, name);
      assert.equal(manifest.pulumi?.version, manifest.version, `${name}: plugin ${manifest.pulumi?.version}`);
    }
  });

  it("no pinned version is deprecated, and each is on the major line of the package's latest tag", () => {
    const seen = new Set<string>();
    for (const { name, version, lock } of pinned) {
      if (seen.has(`${name}@${version}`)) continue;
      seen.add(`${name}@${version}`);
      const deprecated = npmView(`${name}@${version}`, "deprecated");
      assert.equal(deprecated, "", `${name}@${version} (${lock} lock) is deprecated: ${deprecated}`);
      const latest = JSON.parse(npmView(name, "dist-tags.latest")) as string;
      assert.equal(major(version), major(latest), `${name}@${version} (${lock} lock): latest is ${latest}`);
    }
  });
});
