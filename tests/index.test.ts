// The composition root's wiring, on the real program of each stack: what waits for what (the release
// record, the bucket's hardening, the roles, the data host's image), what a destroy deletes first, how a
// container is stopped when it is deleted, the ops image's platform and the hosts' registry credentials.
import { strict as assert } from "assert";
import fs from "fs";
import path from "path";
import YAML from "yaml";
import { RESOURCE, STEP, STEP_ENV } from "../contract/resources";
import { childrenIndex, dependencyClosure } from "../policies/lib/graph";
import { destroyOrder } from "../tools/harness/destroy";
import { ConfigOverride, RecordedResource, isSecretMarker, runProgram } from "../tools/harness/run";
import { policyResources } from "./policies/support/args";

const AT = "2026-12-02T11:00:00Z";

const PRODUCTION_HOSTS = (
  YAML.parse(fs.readFileSync(path.join(__dirname, "..", "Pulumi.production.yaml"), "utf8")) as {
    config: Record<string, unknown>;
  }
).config["greenlight:hosts"] as Record<string, unknown>[];

async function program(stack: string, overrides: Record<string, ConfigOverride> = {}) {
  const run = await runProgram({ stack, at: AT, overrides });
  assert.ok(run.ok, run.ok ? "" : run.message);
  const nodes = policyResources(run.resources);
  const children = childrenIndex(nodes);
  const byName = new Map(nodes.map((node) => [node.name, node]));
  /** The names of everything `name` waits for (dependencies, components whole, ancestors' dependsOn). */
  const waitsFor = (name: string) => {
    const node = byName.get(name);
    assert.ok(node, `resource ${name}`);
    return new Set([...dependencyClosure(node, children)].map((dependency) => dependency.name));
  };
  const named = (name: string): RecordedResource => {
    const found = run.resources.find((resource) => resource.name === name);
    assert.ok(found, `resource ${name}`);
    return found;
  };
  return { resources: run.resources, waitsFor, named };
}

const env = (resource: RecordedResource) => (resource.inputs.environment ?? {}) as Record<string, unknown>;

describe("index.ts: the order everything runs in, on each stack's real program", function () {
  this.timeout(300_000);

  for (const stack of ["local", "staging", "production"]) {
    it(`${stack}: every resource the release creates or changes waits for the release record`, async () => {
      const { resources, waitsFor } = await program(stack);
      const record = resources.find((resource) => env(resource)[STEP_ENV.step] === STEP.record);
      assert.ok(record);
      const late = resources.filter(
        (resource) =>
          resource.custom &&
          !resource.type.startsWith("pulumi:providers:") &&
          resource !== record &&
          !waitsFor(resource.name).has(record.name),
      );
      assert.deepEqual(
        late.map((resource) => `${resource.name} (${resource.type})`),
        [],
        "outside the window the record stops the update; these would already have run",
      );
    });
  }

  it("the backup waits for every hardening resource of the bucket, not only its name", async () => {
    for (const stack of ["staging", "production"]) {
      const { resources, waitsFor } = await program(stack);
      const hardening = resources
        .filter((resource) => resource.type.startsWith("aws:s3/bucket") || resource.type === RESOURCE.kmsKey)
        .map((resource) => resource.name);
      assert.ok(hardening.includes("backups-encryption") && hardening.includes("backups-public-access"));
      if (stack === "production") assert.ok(hardening.includes("backups-object-lock"));
      const awaited = waitsFor("backup-run");
      assert.deepEqual(
        hardening.filter((name) => !awaited.has(name)),
        [],
        `${stack}: the first backup could be written before these apply`,
      );
    }
  });

  it("both colors wait for the database roles they connect as, the warm one too", async () => {
    const { resources, waitsFor } = await program("production");
    const containers = resources.filter(
      (resource) => resource.type === RESOURCE.container && resource.name.startsWith("service-"),
    );
    assert.equal(containers.length, 6);
    for (const container of containers) {
      const awaited = waitsFor(container.name);
      for (const role of ["roles-app", "roles-migrator", "roles-app-tables"])
        assert.ok(awaited.has(role), `${container.name} waits for ${role}`);
    }
  });

  it("a destroy of an unprotected stack deletes the bucket before its KMS key, so a failed bucket delete never schedules the key's deletion", async () => {
    const { resources } = await program("staging");
    const order = destroyOrder(resources);
    const position = (name: string) => {
      const urn = resources.find((resource) => resource.name === name)?.urn;
      return order.findIndex((antichain) => antichain.includes(urn as string));
    };
    assert.ok(position("backups-bucket") >= 0 && position("backups-key") >= 0);
    assert.ok(
      position("backups-key") > position("backups-bucket"),
      `the key is deleted in antichain ${position("backups-key")}, the bucket in ${position("backups-bucket")}`,
    );
    const key = resources.find((resource) => resource.name === "backups-key") as RecordedResource;
    assert.equal(key.retainOnDelete, false, "staging is not protected: the order is what keeps the key");
  });

  it("deletes containers with time to drain: the proxy its soft-stop time, the app more than Docker's 10 s", async () => {
    const { resources } = await program("production");
    for (const container of resources.filter((resource) => resource.type === RESOURCE.container)) {
      const grace = container.inputs.destroyGraceSeconds as number;
      if (container.name.endsWith("-proxy")) {
        assert.equal(grace, container.inputs.stopTimeout, `${container.name}: HAProxy's soft stop`);
        assert.ok(grace >= 30);
      } else {
        assert.ok(grace >= 30, `${container.name}: ${grace} s`);
      }
    }
  });

  it("builds the ops image once here per hosts' platform (no host builds it) and sends each host its platform's image by id", async () => {
    // The production stack's own hosts (their pinned keys), web-2 declared arm64.
    const hosts = PRODUCTION_HOSTS.map((host) =>
      host.name === "web-2" ? { ...host, platform: "linux/arm64" } : host,
    );
    const { resources, named, waitsFor } = await program("production", {
      "greenlight:hosts": JSON.stringify(hosts),
    });
    const builds = resources.filter((resource) => resource.type === RESOURCE.image);
    assert.deepEqual(
      builds.map((build) => [build.name, (build.inputs.build as Record<string, unknown>).platform]),
      [
        ["ops-image-amd64-build", "linux/amd64"],
        ["ops-image-arm64-build", "linux/arm64"],
      ],
    );
    // The default provider: this machine's engine, not a host's.
    for (const build of builds) assert.equal(build.provider, undefined, build.name);
    assert.ok(waitsFor("ops-image-arm64-build").has("ops-image-amd64-build"), "one build at a time");
    const builtId = (name: string) => String(named(name).outputs?.repoDigest);
    for (const [host, build, platform] of [
      ["web-1", "ops-image-amd64-build", "linux/amd64"],
      ["web-2", "ops-image-arm64-build", "linux/arm64"],
      ["web-3", "ops-image-amd64-build", "linux/amd64"],
    ]) {
      const delivery = named(`host-${host}-deliver-ops`);
      assert.equal(delivery.type, RESOURCE.command, "a step run here, on the runner");
      const line = String(delivery.inputs.create);
      assert.match(line, /^node bin\/greenlight-ops\.js deliver --image sha256:[a-f0-9]{64} /);
      assert.ok(line.includes(`--image ${builtId(build)} `), `${host} gets ${build}'s id: ${line}`);
      assert.ok(line.includes(`--platform ${platform} `), line);
      assert.match(line, /--known-hosts \.greenlight\/known_hosts\/production /);
      assert.match(line, /--tag-as greenlight-ops:[a-f0-9]{16}$/);
      assert.equal(env(delivery)[STEP_ENV.step], STEP.deliver);
      assert.ok(
        isSecretMarker(env(delivery).GREENLIGHT_SSH_PRIVATE_KEY),
        "the key a secret, in the environment",
      );
      assert.ok(waitsFor(`host-${host}-deliver-ops`).has(`host-${host}-host-key`));
      // The proxy runs exactly the delivered id, after its delivery.
      assert.equal(named(`host-${host}-proxy`).inputs.image, builtId(build));
      assert.ok(waitsFor(`host-${host}-proxy`).has(`host-${host}-deliver-ops`));
    }
    // The steps that run the ops image on a host wait for its delivery there (the gate; the data steps on web-1).
    for (const host of ["web-1", "web-2", "web-3"])
      assert.ok(waitsFor(`gate-blue-${host}-run`).has(`host-${host}-deliver-ops`), host);
    assert.ok(waitsFor("backup-run").has("host-web-1-deliver-ops"));
    // Hosts receive in parallel: no delivery waits for another host.
    assert.ok(!waitsFor("host-web-2-deliver-ops").has("host-web-1-deliver-ops"));
  });

  it("ssh delivery: no host pulls; each color's release goes from here to every host by digest (its image id), and everything on a host waits for that host's delivery", async () => {
    const { resources, named, waitsFor } = await program("production", {
      "greenlight:imageDelivery": "ssh",
    });
    assert.deepEqual(
      resources.filter((resource) => resource.type === RESOURCE.remoteImage).map((resource) => resource.name),
      [],
      "no RemoteImage: no host pulls from a registry",
    );
    const images = {
      blue: "registry.example.com/shop@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
      green:
        "registry.example.com/shop@sha256:9b2e3f1c7a8d4e5f60718293a4b5c6d7e8f9012a3b4c5d6e7f8091a2b3c4d5e6",
    };
    for (const host of ["web-1", "web-2", "web-3"]) {
      for (const color of ["blue", "green"] as const) {
        const delivery = named(`host-${host}-deliver-${color}`);
        assert.equal(
          delivery.inputs.create,
          `node bin/greenlight-ops.js deliver --image ${images[color]} --host ${host}=deploy@${host}.prod.internal:22 --known-hosts .greenlight/known_hosts/production --platform linux/amd64 --digest-is-id`,
        );
        const id = images[color].split("@")[1];
        // The replicas run the id the delivery checked on arrival (docker load keeps no registry digest).
        const container = named(`service-${color}-${host}-0`);
        assert.equal(container.inputs.image, id);
        assert.ok(waitsFor(container.name).has(delivery.name));
      }
    }
    // web-1 is the data host and blue the latest color: the migration runs there, after that delivery.
    const migration = named("migration-run");
    assert.equal(env(migration).GREENLIGHT_IMAGE, images.blue.split("@")[1]);
    assert.ok(waitsFor("migration-run").has("host-web-1-deliver-blue"));
    assert.ok(!JSON.stringify(resources.map((resource) => resource.inputs.create)).includes("PRIVATE KEY"));
  });

  it("pulls with the stack's registry credentials on every host, the password a secret, and the migration waits for its image on the data host", async () => {
    const { resources, named, waitsFor } = await program("production", {
      "greenlight:registryServer": "registry.example.com",
      "greenlight:registryUser": "greenlight-deploy",
      "greenlight:registryPassword": { secret: "registry-token-for-tests" },
    });
    const providers = resources.filter((resource) => resource.type === RESOURCE.dockerProvider);
    assert.equal(providers.length, 3);
    for (const provider of providers) {
      // The engine passes provider inputs as text; the block holds the password, so all of it is a secret.
      assert.ok(
        isSecretMarker(provider.inputs.registryAuth),
        `${provider.name}: registryAuth set, as a secret`,
      );
      assert.ok(
        !JSON.stringify(provider.inputs).includes("registry-token-for-tests"),
        "the password never in plain text",
      );
    }
    const without = await program("production");
    assert.ok(
      without.resources.every((resource) => resource.inputs.registryAuth === undefined),
      "no credentials unless the stack has them",
    );
    // web-1 is the data host; blue is the latest color.
    const pull = named("host-web-1-pull-blue");
    assert.equal(pull.type, RESOURCE.remoteImage);
    assert.equal(pull.inputs.name, String(env(named("migration-run")).GREENLIGHT_IMAGE));
    assert.ok(waitsFor("migration-run").has("host-web-1-pull-blue"));
    for (const color of ["blue", "green"])
      for (const host of ["web-1", "web-2", "web-3"])
        assert.ok(waitsFor(`service-${color}-${host}-0`).has(`host-${host}-pull-${color}`));
  });
});
