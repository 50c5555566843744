import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { dockerAt, idsAt, loadAt, removeAt, tagAt } from "../../support/isolated-hosts";
import { spawnOps } from "../support/cli";
import { deliveryHosts, hostArg, report, statuses } from "./support";

describe("deliver: images over SSH to air-gapped hosts, checked by id (3 isolated hosts)", function () {
  this.timeout(300_000);
  const hosts = deliveryHosts(2);
  const deliver = (args: string[], env?: NodeJS.ProcessEnv) => hosts.deliver(args, env);

  it("a host reaches nothing but its peers: no default route, and a pull fails at once naming the image", async () => {
    const host = hosts.sim.hosts[0];
    const routes = await hosts.sim.ssh(host, "ip route");
    assert.equal(routes.code, 0, routes.stderr);
    assert.doesNotMatch(routes.stdout, /^default/m);
    const reach = await hosts.sim.ssh(
      host,
      `bash -c 'exec 3<>/dev/tcp/${hosts.sim.hosts[1].address}/22 && echo peer; exec 4<>/dev/tcp/1.1.1.1/443 && echo outside'`,
    );
    assert.match(reach.stdout, /^peer$/m);
    assert.doesNotMatch(reach.stdout, /outside/);
    assert.match(reach.stderr, /Network is unreachable/);
    const ref = "registry.example.com/shop@sha256:" + "4f".repeat(32);
    // The image step in registry mode, against the host's engine over SSH, as a host's pull would go.
    const started = Date.now();
    const pulled = await spawnOps(
      ["image", "--image", ref],
      { ...hosts.sim.env, DOCKER_HOST: host.dockerHost },
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
      hosts.images.v1.ref,
      ...hosts.sim.hosts.flatMap((host) => ["--host", hostArg(host)]),
    ]).done;
    assert.equal(first.code, 0, first.stderr);
    const sent = report(first);
    assert.deepEqual(statuses(first), { h2: ["sent"], h3: ["sent"], h4: ["sent"] });
    assert.equal(sent.images[0].id, hosts.images.v1.id);
    for (const host of sent.hosts) {
      assert.equal(host.deliveries[0].codec, "zstd");
      const bytes = host.deliveries[0].bytes ?? 0;
      assert.ok(bytes > 10e6 && bytes < sent.images[0].bytes, `${host.host}: ${bytes} bytes sent`);
    }
    for (const host of hosts.sim.hosts)
      assert.equal(tagAt(hosts.sim, host, hosts.images.v1.ref), hosts.images.v1.id, host.name);

    const again = await deliver([
      "--image",
      hosts.images.v1.ref,
      ...hosts.sim.hosts.flatMap((host) => ["--host", hostArg(host)]),
    ]).done;
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(statuses(again), { h2: ["present"], h3: ["present"], h4: ["present"] });
    assert.equal(report(again).sentBytes, 0);
  });

  it("a host holding the image untagged is only tagged; a different image under a plain tag is replaced, and said so", async () => {
    const [h2, h3] = hosts.sim.hosts;
    loadAt(hosts.sim, h2, hosts.images.v1.id);
    loadAt(hosts.sim, h3, hosts.images.v2.ref);
    dockerAt(hosts.sim, h3, ["tag", hosts.images.v2.id, hosts.images.v1.ref]);
    const run = await deliver(["--image", hosts.images.v1.ref, "--host", hostArg(h2), "--host", hostArg(h3)])
      .done;
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(statuses(run), { h2: ["retagged"], h3: ["sent"] });
    assert.equal(report(run).hosts[1].deliveries[0].replaced, hosts.images.v2.id);
    assert.match(
      run.stderr,
      new RegExp(
        `h3 held ${hosts.images.v1.ref} as ${hosts.images.v2.id}, not ${hosts.images.v1.id}: moving the tag`,
      ),
    );
    for (const host of [h2, h3])
      assert.equal(tagAt(hosts.sim, host, hosts.images.v1.ref), hosts.images.v1.id);
  });

  it("an image pinned by digest whose tag names other content on a host is refused there, naming both ids; the others receive it", async () => {
    const pinned = `greenlight-sample@${hosts.images.v1.id}`;
    const tag = `greenlight-sample:sha256-${hosts.images.v1.id.slice(7)}`;
    const tampered = hosts.sim.hosts[1];
    loadAt(hosts.sim, tampered, hosts.images.v2.ref);
    dockerAt(hosts.sim, tampered, ["tag", hosts.images.v2.id, tag]);
    const run = await deliver([
      "--image",
      pinned,
      ...hosts.sim.hosts.flatMap((host) => ["--host", hostArg(host)]),
    ]).done;
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      new RegExp(
        `^deliver: h3 did not get every image: ${pinned}: h3 holds ${tag} as ${hosts.images.v2.id}, not ${hosts.images.v1.id}: .*; h2, h4 hold every image$`,
        "m",
      ),
    );
    assert.deepEqual(statuses(run), { h2: ["sent"], h3: ["failed"], h4: ["sent"] });
    assert.equal(report(run).hosts[1].deliveries[0].bytes, undefined, "nothing was sent to h3");
    assert.equal(
      tagAt(hosts.sim, tampered, tag),
      hosts.images.v2.id,
      "h3's tag is left for whoever looks into it",
    );
    assert.ok(!idsAt(hosts.sim, tampered).includes(hosts.images.v1.id));
    for (const host of [hosts.sim.hosts[0], hosts.sim.hosts[2]])
      assert.equal(tagAt(hosts.sim, host, tag), hosts.images.v1.id);
  });

  it("an image named by its id gets the tag asked for (--tag-as), and --digest-is-id takes a digest that is the id", async () => {
    const tag = "greenlight-ops:0123456789abcdef";
    const host = hosts.sim.hosts[0];
    const byId = await deliver(["--image", hosts.images.v2.id, "--tag-as", tag, "--host", hostArg(host)])
      .done;
    assert.equal(byId.code, 0, byId.stderr);
    assert.equal(report(byId).images[0].tag, tag);
    assert.equal(tagAt(hosts.sim, host, tag), hosts.images.v2.id);
    const pinned = `greenlight-sample@${hosts.images.v1.id}`;
    const checked = await deliver(["--image", pinned, "--digest-is-id", "--host", hostArg(host)]).done;
    assert.equal(checked.code, 0, checked.stderr);
    assert.equal(
      tagAt(hosts.sim, host, `greenlight-sample:sha256-${hosts.images.v1.id.slice(7)}`),
      hosts.images.v1.id,
    );
    removeAt(hosts.sim, host, tag);
  });

  it("a host holding some of an image's layers gets only the others; a host holding none gets them all", async () => {
    // v1 and one small layer more: what a release built on the last one looks like.
    const context = fs.mkdtempSync(path.join(hosts.scratch, "plus-"));
    fs.writeFileSync(
      path.join(context, "Dockerfile"),
      `FROM ${hosts.images.v1.ref}\nCOPY note.txt /app/note.txt\n`,
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
      const [holder, empty] = hosts.sim.hosts;
      loadAt(hosts.sim, holder, hosts.images.v1.ref);
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
        assert.equal(tagAt(hosts.sim, host, plus), plusId);
        const note = await hosts.sim.ssh(
          host,
          `docker run --rm --entrypoint /usr/bin/node ${plus} -e "process.stdout.write(require('fs').readFileSync('/app/note.txt','utf8'))"`,
        );
        assert.equal(
          note.stdout,
          `built by the delivery test ${process.pid}\n`,
          `${host.name} runs the image`,
        );
      }
      removeAt(hosts.sim, holder, plus);
      removeAt(hosts.sim, empty, plus);
    } finally {
      execFileSync("docker", ["rmi", plus], { stdio: "ignore" });
    }
  });
});
