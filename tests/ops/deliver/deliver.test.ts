import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DeliveryReport } from "../../../ops/deliver";
import { buildSampleImage } from "../../fixtures/app/build";
import { ensureDocker } from "../../support/docker";
import { SimHost, SimHosts } from "../../support/hosts";
import {
  dockerAt,
  idsAt,
  loadAt,
  pinnedHostKey,
  removeAt,
  sshSessionPids,
  startIsolatedHosts,
  tagAt,
} from "../../support/isolated-hosts";
import { waitUntil } from "../support/load";
import { CliExit, spawnOps } from "../support/cli";

const hostArg = (host: SimHost) => `${host.name}=root@${host.address}:22`;

function report(run: CliExit): DeliveryReport {
  const line = run.stdout.trim().split("\n").pop() ?? "";
  return JSON.parse(line) as DeliveryReport;
}

function statuses(run: CliExit): Record<string, string[]> {
  return Object.fromEntries(
    report(run).hosts.map((host) => [host.host, host.deliveries.map((delivery) => delivery.status)]),
  );
}

describe("deliver: images over SSH to air-gapped hosts, checked by id (3 isolated hosts)", function () {
  this.timeout(300_000);
  let sim: SimHosts;
  const images: Record<string, { ref: string; id: string }> = {};
  let scratch: string;

  const deliver = (args: string[], env: NodeJS.ProcessEnv = sim.env) =>
    spawnOps(["deliver", "--progress-seconds", "1", ...args], env, 280_000);

  /** Every host back to holding none of the sample images. */
  const forget = () => {
    for (const host of sim.hosts)
      for (const image of Object.values(images)) {
        removeAt(sim, host, image.id);
        for (const tag of dockerAt(sim, host, ["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"]).split(
          "\n",
        ))
          if (tag.startsWith("greenlight-sample:")) removeAt(sim, host, tag);
      }
  };

  before(async function () {
    this.timeout(600_000);
    await ensureDocker();
    sim = await startIsolatedHosts(3);
    for (const name of ["v1", "v2"]) images[name] = buildSampleImage(name);
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "gl-deliver-"));
  });

  after(() => {
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
    sim?.stop();
  });

  beforeEach(forget);

  it("a host reaches nothing but its peers: no default route, and a pull fails at once naming the image", async () => {
    const host = sim.hosts[0];
    const routes = await sim.ssh(host, "ip route");
    assert.equal(routes.code, 0, routes.stderr);
    assert.doesNotMatch(routes.stdout, /^default/m);
    const reach = await sim.ssh(
      host,
      `bash -c 'exec 3<>/dev/tcp/${sim.hosts[1].address}/22 && echo peer; exec 4<>/dev/tcp/1.1.1.1/443 && echo outside'`,
    );
    assert.match(reach.stdout, /^peer$/m);
    assert.doesNotMatch(reach.stdout, /outside/);
    assert.match(reach.stderr, /Network is unreachable/);
    const ref = "registry.example.com/shop@sha256:" + "4f".repeat(32);
    // The image step in registry mode, against the host's engine over SSH, as a host's pull would go.
    const started = Date.now();
    const pulled = await spawnOps(
      ["image", "--image", ref],
      { ...sim.env, DOCKER_HOST: host.dockerHost },
      60_000,
    ).done;
    assert.equal(pulled.code, 1, pulled.stderr);
    assert.match(
      pulled.stderr,
      new RegExp(
        `^image: image ${ref.replace(/[.]/g, "\\.")} is not on this Docker host and docker pull failed \\(.*connection refused\\)`,
        "m",
      ),
    );
    assert.ok(Date.now() - started < 10_000, `the pull took ${Date.now() - started} ms`);
  });

  it("sends an image to three hosts at once; each holds the source's id under its tag; a second run sends nothing", async () => {
    const first = await deliver([
      "--image",
      images.v1.ref,
      ...sim.hosts.flatMap((host) => ["--host", hostArg(host)]),
    ]).done;
    assert.equal(first.code, 0, first.stderr);
    const sent = report(first);
    assert.deepEqual(statuses(first), { h2: ["sent"], h3: ["sent"], h4: ["sent"] });
    assert.equal(sent.images[0].id, images.v1.id);
    for (const host of sent.hosts) {
      assert.equal(host.deliveries[0].codec, "zstd");
      const bytes = host.deliveries[0].bytes ?? 0;
      assert.ok(bytes > 10e6 && bytes < sent.images[0].bytes, `${host.host}: ${bytes} bytes sent`);
    }
    for (const host of sim.hosts) assert.equal(tagAt(sim, host, images.v1.ref), images.v1.id, host.name);

    const again = await deliver([
      "--image",
      images.v1.ref,
      ...sim.hosts.flatMap((host) => ["--host", hostArg(host)]),
    ]).done;
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(statuses(again), { h2: ["present"], h3: ["present"], h4: ["present"] });
    assert.equal(report(again).sentBytes, 0);
  });

  it("a host holding the image untagged is only tagged; a different image under a plain tag is replaced, and said so", async () => {
    const [h2, h3] = sim.hosts;
    loadAt(sim, h2, images.v1.id);
    loadAt(sim, h3, images.v2.ref);
    dockerAt(sim, h3, ["tag", images.v2.id, images.v1.ref]);
    const run = await deliver(["--image", images.v1.ref, "--host", hostArg(h2), "--host", hostArg(h3)]).done;
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(statuses(run), { h2: ["retagged"], h3: ["sent"] });
    assert.equal(report(run).hosts[1].deliveries[0].replaced, images.v2.id);
    assert.match(
      run.stderr,
      new RegExp(`h3 held ${images.v1.ref} as ${images.v2.id}, not ${images.v1.id}: moving the tag`),
    );
    for (const host of [h2, h3]) assert.equal(tagAt(sim, host, images.v1.ref), images.v1.id);
  });

  it("an image pinned by digest whose tag names other content on a host is refused there, naming both ids; the others receive it", async () => {
    const pinned = `greenlight-sample@${images.v1.id}`;
    const tag = `greenlight-sample:sha256-${images.v1.id.slice(7)}`;
    const tampered = sim.hosts[1];
    loadAt(sim, tampered, images.v2.ref);
    dockerAt(sim, tampered, ["tag", images.v2.id, tag]);
    const run = await deliver(["--image", pinned, ...sim.hosts.flatMap((host) => ["--host", hostArg(host)])])
      .done;
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      new RegExp(
        `^deliver: h3 did not get every image: ${pinned}: h3 holds ${tag} as ${images.v2.id}, not ${images.v1.id}: .*; h2, h4 hold every image$`,
        "m",
      ),
    );
    assert.deepEqual(statuses(run), { h2: ["sent"], h3: ["failed"], h4: ["sent"] });
    assert.equal(report(run).hosts[1].deliveries[0].bytes, undefined, "nothing was sent to h3");
    assert.equal(tagAt(sim, tampered, tag), images.v2.id, "h3's tag is left for whoever looks into it");
    assert.ok(!idsAt(sim, tampered).includes(images.v1.id));
    for (const host of [sim.hosts[0], sim.hosts[2]]) assert.equal(tagAt(sim, host, tag), images.v1.id);
  });

  it("an image named by its id gets the tag asked for (--tag-as), and --digest-is-id takes a digest that is the id", async () => {
    const tag = "greenlight-ops:0123456789abcdef";
    const host = sim.hosts[0];
    const byId = await deliver(["--image", images.v2.id, "--tag-as", tag, "--host", hostArg(host)]).done;
    assert.equal(byId.code, 0, byId.stderr);
    assert.equal(report(byId).images[0].tag, tag);
    assert.equal(tagAt(sim, host, tag), images.v2.id);
    const pinned = `greenlight-sample@${images.v1.id}`;
    const checked = await deliver(["--image", pinned, "--digest-is-id", "--host", hostArg(host)]).done;
    assert.equal(checked.code, 0, checked.stderr);
    assert.equal(tagAt(sim, host, `greenlight-sample:sha256-${images.v1.id.slice(7)}`), images.v1.id);
    removeAt(sim, host, tag);
  });

  it("a host holding some of an image's layers gets only the others; a host holding none gets them all", async () => {
    // v1 and one small layer more: what a release built on the last one looks like.
    const context = fs.mkdtempSync(path.join(scratch, "plus-"));
    fs.writeFileSync(
      path.join(context, "Dockerfile"),
      `FROM ${images.v1.ref}\nCOPY note.txt /app/note.txt\n`,
    );
    fs.writeFileSync(path.join(context, "note.txt"), `built by the delivery test ${process.pid}\n`);
    const plus = `greenlight-delivery-test:plus-${process.pid}`;
    execFileSync("docker", ["build", "-q", "-t", plus, context], {
      env: { ...process.env, DOCKER_BUILDKIT: "0" },
      stdio: "pipe",
    });
    try {
      const plusId = execFileSync("docker", ["image", "inspect", "--format", "{{.Id}}", plus], {
        encoding: "utf8",
      }).trim();
      const [holder, empty] = sim.hosts;
      loadAt(sim, holder, images.v1.ref);
      const run = await deliver(["--image", plus, "--host", hostArg(holder), "--host", hostArg(empty)]).done;
      assert.equal(run.code, 0, run.stderr);
      const [partial, whole] = report(run).hosts.map((host) => host.deliveries[0]);
      assert.deepEqual([partial.status, partial.layers], ["sent", { held: 1, total: 2 }]);
      assert.deepEqual([whole.status, whole.layers], ["sent", { held: 0, total: 2 }]);
      assert.ok(
        (partial.bytes ?? Infinity) < 100_000,
        `only the new layer went to h2: ${partial.bytes} bytes`,
      );
      assert.ok((whole.bytes ?? 0) > 10e6, `h3 got every layer: ${whole.bytes} bytes`);
      for (const host of [holder, empty]) {
        assert.equal(tagAt(sim, host, plus), plusId);
        const note = await sim.ssh(
          host,
          `docker run --rm --entrypoint /usr/bin/node ${plus} -e "process.stdout.write(require('fs').readFileSync('/app/note.txt','utf8'))"`,
        );
        assert.equal(
          note.stdout,
          `built by the delivery test ${process.pid}\n`,
          `${host.name} runs the image`,
        );
      }
      removeAt(sim, holder, plus);
      removeAt(sim, empty, plus);
    } finally {
      execFileSync("docker", ["rmi", plus], { stdio: "ignore" });
    }
  });

  it("a stream that arrives altered is refused: the host loads another id, nothing is tagged, the step fails naming it", async () => {
    const target = sim.hosts[2];
    // An ssh that hands h4's docker load another image than the one sent (what a tampering path would do).
    const bin = path.join(scratch, "tamper-bin");
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(
      path.join(bin, "ssh"),
      [
        "#!/bin/sh",
        `case "$*" in *${target.address}*"docker load"*)`,
        // The runner's decision line goes through; the image after it is swapped for another.
        `  { IFS= read -r decision; echo "$decision"; cat >/dev/null & docker save ${images.v2.id} | zstd -1 -q -c; } | exec ${path.join(sim.dir, "bin", "ssh")} "$@" ;;`,
        `*) exec ${path.join(sim.dir, "bin", "ssh")} "$@" ;;`,
        "esac",
        "",
      ].join("\n"),
      { mode: 0o755 },
    );
    const env = { ...sim.env, PATH: `${bin}:${sim.env.PATH}` };
    const run = await deliver(
      ["--image", images.v1.ref, "--host", hostArg(sim.hosts[0]), "--host", hostArg(target)],
      env,
    ).done;
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      new RegExp(
        `^deliver: h4 did not get every image: ${images.v1.ref}: h4 refused what arrived: expected ${images.v1.id}, docker load said: Loaded image ID: ${images.v2.id} \\(not the image sent; nothing was tagged\\); h2 hold every image$`,
        "m",
      ),
    );
    assert.equal(tagAt(sim, target, images.v1.ref), undefined);
    assert.ok(!idsAt(sim, target).includes(images.v1.id));
    assert.equal(tagAt(sim, sim.hosts[0], images.v1.ref), images.v1.id);
  });

  it("a transfer cut mid-stream fails naming the host and leaves nothing loaded there; the next run completes it", async () => {
    const target = sim.hosts[1];
    const running = deliver(["--image", images.v1.ref, "--host", hostArg(target), "--compression", "none"]);
    await waitUntil(
      "10 MB on their way to h3",
      () => /h3 [1-9]\d+\.\d MB/.test(running.stderrSoFar()),
      60_000,
    );
    const sessions = sshSessionPids(sim, target);
    assert.ok(sessions.length > 0);
    for (const pid of sessions) process.kill(pid, "SIGKILL");
    const cut = await running.done;
    assert.equal(cut.code, 1);
    assert.match(
      cut.stderr,
      /^deliver: h3 did not get every image: greenlight-sample:v1: the transfer to h3 was cut after \d+\.\d MB \(.+\); nothing of it was tagged$/m,
    );
    assert.ok(!idsAt(sim, target).includes(images.v1.id), "no image with the id was left");
    assert.equal(tagAt(sim, target, images.v1.ref), undefined);

    const next = await deliver(["--image", images.v1.ref, "--host", hostArg(target)]).done;
    assert.equal(next.code, 0, next.stderr);
    assert.deepEqual(statuses(next), { h3: ["sent"] });
    assert.equal(tagAt(sim, target, images.v1.ref), images.v1.id);
  });

  it("SIGTERM mid-transfer: exit 143, the host holds nothing of it", async () => {
    const target = sim.hosts[0];
    const running = deliver(["--image", images.v2.ref, "--host", hostArg(target), "--compression", "none"]);
    await waitUntil(
      "bytes on their way to h2",
      () => /h2 [1-9][\d.]* MB/.test(running.stderrSoFar()),
      60_000,
    );
    assert.ok(running.pid !== undefined);
    process.kill(running.pid, "SIGTERM");
    const stopped = await running.done;
    assert.equal(stopped.code, 143, stopped.stderr);
    assert.match(stopped.stderr, /^deliver: stopped by SIGTERM/m);
    await waitUntil("h2's session ends", () => sshSessionPids(sim, target).length === 0, 30_000);
    assert.ok(!idsAt(sim, target).includes(images.v2.id));
  });

  it("a host presenting another key than the pinned one is refused before anything is sent; the others receive", async () => {
    const known = path.join(scratch, "known_hosts");
    const otherKey = path.join(scratch, "other_key");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", otherKey]);
    const forged = `${sim.hosts[1].address} ${fs.readFileSync(`${otherKey}.pub`, "utf8").split(" ").slice(0, 2).join(" ")}`;
    fs.writeFileSync(
      known,
      [pinnedHostKey(sim, sim.hosts[0]), forged, pinnedHostKey(sim, sim.hosts[2]), ""].join("\n"),
    );
    const run = await deliver([
      "--image",
      images.v1.ref,
      "--known-hosts",
      known,
      ...sim.hosts.flatMap((host) => ["--host", hostArg(host)]),
    ]).done;
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /^deliver: h3 did not get every image: greenlight-sample:v1: cannot reach h3 over SSH \(root@10\.253\.0\.3:22\): Host key verification failed\.; h2, h4 hold every image$/m,
    );
    assert.deepEqual(statuses(run), { h2: ["sent"], h3: ["failed"], h4: ["sent"] });
  });

  it("an unreachable host fails naming it; an image built for another platform is refused before anything moves", async () => {
    const down = sim.hosts[2];
    sim.stopSshd(down);
    try {
      const run = await deliver([
        "--image",
        images.v1.ref,
        "--host",
        hostArg(sim.hosts[0]),
        "--host",
        hostArg(down),
      ]).done;
      assert.equal(run.code, 1);
      assert.match(
        run.stderr,
        /^deliver: h4 did not get every image: greenlight-sample:v1: cannot reach h4 over SSH \(root@10\.253\.0\.4:22\): .*(refused|timed out).*; h2 hold every image$/m,
      );
    } finally {
      sim.startSshd(down);
    }
    const arm = await deliver([
      "--image",
      images.v2.ref,
      "--platform",
      "linux/arm64",
      "--host",
      hostArg(sim.hosts[0]),
    ]).done;
    assert.equal(arm.code, 1);
    assert.match(
      arm.stderr,
      /^deliver: greenlight-sample:v2 is built for linux\/amd64, the hosts run linux\/arm64: /m,
    );
    assert.ok(!idsAt(sim, sim.hosts[0]).includes(images.v2.id));
  });
});
