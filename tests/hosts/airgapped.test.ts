import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { DeliveryReport } from "../../ops/deliver";
import { buildSampleImage } from "../fixtures/app/build";
import { LoadResult, startLoad, waitUntil } from "../ops/support/load";
import { BUCKET, PREFIX, runOps, stepEnv } from "../ops/support/data";
import { freePortRange } from "../ops/support/release";
import { PROJECT_DIR, spawnOps } from "../ops/support/cli";
import { deliverFlags, deliveredImage } from "../../components/release/delivery";
import { knownHostsPath, stageKnownHosts } from "../../components/release/known-hosts";
import { HostSettings } from "../../schema/types";
import { ensureDocker } from "../support/docker";
import { SimHost, SimHosts } from "../support/hosts";
import {
  HOSTS_NETWORK,
  RUNNER_ADDRESS,
  buildOpsImageHere,
  dockerAt,
  idsAt,
  startIsolatedHosts,
} from "../support/isolated-hosts";
import { PgCluster, startPostgres } from "../support/postgres";
import { S3Server, startS3 } from "../support/s3";
import { needService } from "../support/service";
import { Fleet, opsLine, runHere } from "./support";

const STACK = "airgapped-test";

/** A release pinned by content, as production names it: name@sha256:<image id>. */
const pinned = (id: string) => `greenlight-sample@${id}`;

describe("an air-gapped release: three hosts that reach nothing, images over SSH", function () {
  this.timeout(600_000);
  let sim: SimHosts;
  let pg: PgCluster;
  let s3: S3Server;
  let fleet: Fleet;
  let ops: { image: string; id: string; created: boolean } | undefined;
  const images: Record<string, { ref: string; id: string }> = {};

  let knownHosts: string;
  const settings = (host: SimHost): HostSettings => ({
    name: host.name,
    address: host.address,
    user: "root",
    port: host.sshPort,
    hostKey: sim.hostKey(host),
    replicaAddress: host.address,
    platform: "linux/amd64",
  });
  /**
   * Every host's delivery step of one image as the program runs it (DockerHost: one local command per
   * host, run at once): the line deliverFlags makes, `sh -c` in the project folder, the stack's key in
   * GREENLIGHT_SSH_PRIVATE_KEY, the host keys pinned by the stack's known_hosts file the program writes.
   */
  const deliver = async (image: string, options: { tagAs?: string } = {}) => {
    const runs = await Promise.all(
      sim.hosts.map((host) =>
        runHere(
          opsLine("deliver", deliverFlags(image, settings(host), knownHosts, options)),
          { GREENLIGHT_SSH_PRIVATE_KEY: sim.privateKey() },
          500_000,
        ),
      ),
    );
    const failed = runs.find((run) => run.code !== 0);
    return {
      code: failed?.code ?? 0,
      stderr: runs.map((run) => run.stderr).join("\n"),
      reports: runs.map((run) => (run.code === 0 ? (run.json[0] as unknown as DeliveryReport) : undefined)),
    };
  };
  const dataEnv = () => stepEnv(pg, s3, "shop");

  before(async function () {
    this.timeout(900_000);
    await needService(this, "Docker", ensureDocker);
    sim = await needService(this, "isolated hosts (network namespaces, sshd, dockerd)", () =>
      startIsolatedHosts(3, 5),
    );
    pg = await needService(this, "PostgreSQL 15", () =>
      startPostgres({ listen: [RUNNER_ADDRESS], clients: [HOSTS_NETWORK] }),
    );
    await pg.query("CREATE DATABASE shop");
    s3 = await needService(this, "S3-compatible server", () => startS3());
    await s3.createBucket(BUCKET);
    for (const name of ["v1", "v2"]) images[name] = buildSampleImage(name);
    ops = await needService(this, "the ops image, built here", async () => buildOpsImageHere());
    knownHosts = stageKnownHosts(STACK, sim.hosts.map(settings), PROJECT_DIR);
    const base = await freePortRange(6);
    const appDatabase = `postgresql://${pg.adminUser}:${encodeURIComponent(pg.adminPassword)}@${RUNNER_ADDRESS}:${pg.port}/shop`;
    fleet = new Fleet(sim, ops.image, { proxy: base, blue: base + 3, green: base + 4 }, appDatabase);
  });

  after(async () => {
    fs.rmSync(path.join(PROJECT_DIR, knownHostsPath(STACK)), { force: true });
    sim?.stop();
    await pg?.stop();
    await s3?.stop();
    if (ops?.created) execFileSync("docker", ["rmi", ops.image], { stdio: "ignore" });
  });

  it("registry delivery fails on every host, refused rather than timed out, naming the image it could not have, and nothing has moved", async () => {
    for (const host of sim.hosts) {
      const started = Date.now();
      const pulled = await spawnOps(
        ["image", "--image", pinned(images.v2.id)],
        { ...sim.env, DOCKER_HOST: host.dockerHost },
        60_000,
      ).done;
      assert.equal(pulled.code, 1, pulled.stderr);
      assert.match(
        pulled.stderr,
        new RegExp(
          `^image: image greenlight-sample@${images.v2.id} is not on this Docker host and docker pull failed \\(`,
          "m",
        ),
      );
      // Refused, not timed out: the host's dockerd reaches nothing (a time bound would flake on a loaded machine).
      assert.match(pulled.stderr, /connection refused/, `${host.name}: ${pulled.stderr}`);
      assert.ok(Date.now() - started < 60_000, `${host.name}: the pull took ${Date.now() - started} ms`);
      assert.equal(dockerAt(sim, host, ["ps", "-aq"]).trim(), "", `${host.name} runs nothing`);
      assert.deepEqual(idsAt(sim, host), [], `${host.name} holds no image`);
    }
    assert.deepEqual(await pg.query("SELECT to_regclass('public.orders') AS orders", [], "shop"), [
      { orders: null },
    ]);
  });

  it("ssh delivery: the ops image (built here once) and both releases reach every host in one pass each, checked by id", async () => {
    if (!ops) throw new Error("no ops image");
    const opsRun = await deliver(ops.id, { tagAs: ops.image });
    assert.equal(opsRun.code, 0, opsRun.stderr);
    for (const name of ["v1", "v2"]) {
      const run = await deliver(pinned(images[name].id));
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(
        run.reports.map((report) => [
          report?.hosts[0].host,
          report?.hosts[0].deliveries[0].status,
          report?.hosts[0].deliveries[0].id,
        ]),
        sim.hosts.map((host) => [host.name, "sent", images[name].id]),
      );
    }
    for (const host of sim.hosts) {
      assert.deepEqual(
        idsAt(sim, host).sort(),
        [ops.id, images.v1.id, images.v2.id].sort(),
        `${host.name} holds exactly what was sent`,
      );
      assert.equal(
        dockerAt(sim, host, ["image", "inspect", "--format", "{{.Id}}", ops.image]).trim(),
        ops.id,
      );
    }
  });

  it("a full release there: backup, restore drill, migration, both colors on every host, gates, and the switch under load with 0 failed requests", async () => {
    const release = async (color: "blue" | "green", name: "v1" | "v2") => {
      const backup = await runOps(
        ["backup", "--bucket", BUCKET, "--prefix", PREFIX, "--stack", "airgapped", "--release", name],
        dataEnv(),
      );
      assert.equal(backup.code, 0, backup.stderr);
      const drill = await runOps(
        [
          "restore",
          "--bucket",
          BUCKET,
          "--prefix",
          PREFIX,
          "--stack",
          "airgapped",
          "--release",
          name,
          "--drill",
        ],
        dataEnv(),
      );
      assert.equal(drill.code, 0, drill.stderr);
      // The migration runs here, in the release's image by id: the engine that built or loaded it has that id.
      const migrate = await runOps(
        [
          "migrate",
          "--bucket",
          BUCKET,
          "--prefix",
          PREFIX,
          "--stack",
          "airgapped",
          "--release",
          name,
          "--image",
          deliveredImage(pinned(images[name].id)),
          "--command-json",
          '["node","/app/migrate.js"]',
          "--network",
          "host",
        ],
        { ...dataEnv(), DATABASE_URL: pg.url("shop") },
      );
      assert.equal(migrate.code, 0, migrate.stderr);
      // The replicas run what the program names on a host after an ssh delivery: the checked id.
      await fleet.startColor(color, name, deliveredImage(pinned(images[name].id)));
    };

    await release("blue", "v1");
    await fleet.startProxies();
    const first = await fleet.release("blue", "v1");
    for (const gate of first.gates) assert.equal(gate.code, 0, gate.stderr);
    assert.equal(first.switched?.code, 0, first.switched?.stderr);

    const loads = fleet.hosts.map((host) =>
      startLoad({ url: fleet.frontUrl(host), clients: 4, maxRequests: 400_000, maxMs: 300_000 }),
    );
    await waitUntil(
      "v1 answers on every front",
      () => loads.every((load) => load.served("v1") >= 200),
      60_000,
    );
    await release("green", "v2");
    const second = await fleet.release("green", "v2", { warmup: "/" });
    for (const gate of second.gates) assert.equal(gate.code, 0, gate.stderr);
    assert.equal(second.switched?.code, 0, second.switched?.stderr);
    assert.equal(second.switched?.json[0].method, "flip");
    const now = loads.map((load) => load.count());
    await waitUntil(
      "200 more requests on every front",
      () => loads.every((load, index) => load.count() >= now[index] + 200),
      60_000,
    );
    const results: LoadResult[] = await Promise.all(loads.map((load) => load.stop()));
    const failed = results.reduce((sum, result) => sum + result.failed, 0);
    const total = results.reduce((sum, result) => sum + result.total, 0);
    assert.equal(failed, 0, `failed requests: ${JSON.stringify(results.map((result) => result.failures))}`);
    for (const result of results) assert.ok(result.byRelease.v1 > 0 && result.byRelease.v2 > 0);
    for (const host of fleet.hosts) assert.match((await fleet.get(host)).body, /^release v2 \(green\)/);
    const applied = await pg.query<{ version: string }>(
      "SELECT version FROM schema_migrations ORDER BY version",
      [],
      "shop",
    );
    assert.ok(applied.length >= 2, `both releases' migrations applied: ${JSON.stringify(applied)}`);
    console.log(`      load: ${total} requests through 3 air-gapped fronts, ${failed} failed`);
  });

  it("a flip back sends nothing: every host holds every image already", async () => {
    if (!ops) throw new Error("no ops image");
    for (const image of [pinned(images.v1.id), pinned(images.v2.id)]) {
      const run = await deliver(image);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(
        run.reports.map((report) => [report?.sentBytes, report?.hosts[0].deliveries[0].status]),
        [
          [0, "present"],
          [0, "present"],
          [0, "present"],
        ],
      );
    }
    const switched = await fleet.switch("blue", "v1");
    assert.equal(switched.code, 0, switched.stderr);
    for (const host of fleet.hosts) assert.match((await fleet.get(host)).body, /^release v1 \(blue\)/);
  });
});
