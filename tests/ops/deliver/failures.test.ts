import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { idsAt, pinnedHostKey, sshSessionPids, tagAt } from "../../support/isolated-hosts";
import { waitUntil } from "../support/load";
import { deliveryHosts, hostArg, statuses } from "./support";

describe("deliver: what is refused, cut or unreachable leaves nothing a later run would trust (3 isolated hosts)", function () {
  this.timeout(300_000);
  const hosts = deliveryHosts(8);
  const deliver = (args: string[], env?: NodeJS.ProcessEnv) => hosts.deliver(args, env);

  it("a stream that arrives altered is refused: the host loads another id, nothing is tagged, the step fails naming it", async () => {
    const target = hosts.sim.hosts[2];
    // An ssh that hands h10's docker load another image than the one sent (what a tampering path would do).
    const bin = path.join(hosts.scratch, "tamper-bin");
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(
      path.join(bin, "ssh"),
      [
        "#!/bin/sh",
        `case "$*" in *${target.address}*"docker load"*)`,
        // The runner's decision line goes through; the image after it is swapped for another.
        `  { IFS= read -r decision; echo "$decision"; cat >/dev/null & docker save ${hosts.images.v2.id} | zstd -1 -q -c; } | exec ${path.join(hosts.sim.dir, "bin", "ssh")} "$@" ;;`,
        `*) exec ${path.join(hosts.sim.dir, "bin", "ssh")} "$@" ;;`,
        "esac",
        "",
      ].join("\n"),
      { mode: 0o755 },
    );
    const env = { ...hosts.sim.env, PATH: `${bin}:${hosts.sim.env.PATH}` };
    const run = await deliver(
      ["--image", hosts.images.v1.ref, "--host", hostArg(hosts.sim.hosts[0]), "--host", hostArg(target)],
      env,
    ).done;
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      new RegExp(
        `^deliver: h10 did not get every image: ${hosts.images.v1.ref}: h10 refused what arrived: expected ${hosts.images.v1.id}, docker load said: Loaded image ID: ${hosts.images.v2.id} \\(not the image sent; nothing was tagged\\); h8 hold every image$`,
        "m",
      ),
    );
    assert.equal(tagAt(hosts.sim, target, hosts.images.v1.ref), undefined);
    assert.ok(!idsAt(hosts.sim, target).includes(hosts.images.v1.id));
    assert.equal(tagAt(hosts.sim, hosts.sim.hosts[0], hosts.images.v1.ref), hosts.images.v1.id);
  });

  it("a transfer cut mid-stream fails naming the host and leaves nothing loaded there; the next run completes it", async () => {
    const target = hosts.sim.hosts[1];
    const running = deliver([
      "--image",
      hosts.images.v1.ref,
      "--host",
      hostArg(target),
      "--compression",
      "none",
    ]);
    await waitUntil(
      "10 MB on their way to h9",
      () => /h9 [1-9]\d+\.\d MB/.test(running.stderrSoFar()),
      60_000,
    );
    const sessions = sshSessionPids(hosts.sim, target);
    assert.ok(sessions.length > 0);
    for (const pid of sessions) process.kill(pid, "SIGKILL");
    const cut = await running.done;
    assert.equal(cut.code, 1);
    assert.match(
      cut.stderr,
      /^deliver: h9 did not get every image: greenlight-sample:v1: the transfer to h9 was cut after \d+\.\d MB \(.+\); nothing of it was tagged$/m,
    );
    assert.ok(!idsAt(hosts.sim, target).includes(hosts.images.v1.id), "no image with the id was left");
    assert.equal(tagAt(hosts.sim, target, hosts.images.v1.ref), undefined);

    const next = await deliver(["--image", hosts.images.v1.ref, "--host", hostArg(target)]).done;
    assert.equal(next.code, 0, next.stderr);
    assert.deepEqual(statuses(next), { h9: ["sent"] });
    assert.equal(tagAt(hosts.sim, target, hosts.images.v1.ref), hosts.images.v1.id);
  });

  it("SIGTERM mid-transfer: exit 143, the host holds nothing of it", async () => {
    const target = hosts.sim.hosts[0];
    const running = deliver([
      "--image",
      hosts.images.v2.ref,
      "--host",
      hostArg(target),
      "--compression",
      "none",
    ]);
    await waitUntil(
      "bytes on their way to h8",
      () => /h8 [1-9][\d.]* MB/.test(running.stderrSoFar()),
      60_000,
    );
    assert.ok(running.pid !== undefined);
    process.kill(running.pid, "SIGTERM");
    const stopped = await running.done;
    assert.equal(stopped.code, 143, stopped.stderr);
    assert.match(stopped.stderr, /^deliver: stopped by SIGTERM/m);
    await waitUntil("h8's session ends", () => sshSessionPids(hosts.sim, target).length === 0, 30_000);
    assert.ok(!idsAt(hosts.sim, target).includes(hosts.images.v2.id));
  });

  it("a host presenting another key than the pinned one is refused before anything is sent; the others receive", async () => {
    const known = path.join(hosts.scratch, "known_hosts");
    const otherKey = path.join(hosts.scratch, "other_key");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", otherKey]);
    const forged = `${hosts.sim.hosts[1].address} ${fs.readFileSync(`${otherKey}.pub`, "utf8").split(" ").slice(0, 2).join(" ")}`;
    fs.writeFileSync(
      known,
      [
        pinnedHostKey(hosts.sim, hosts.sim.hosts[0]),
        forged,
        pinnedHostKey(hosts.sim, hosts.sim.hosts[2]),
        "",
      ].join("\n"),
    );
    const run = await deliver([
      "--image",
      hosts.images.v1.ref,
      "--known-hosts",
      known,
      ...hosts.sim.hosts.flatMap((host) => ["--host", hostArg(host)]),
    ]).done;
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /^deliver: h9 did not get every image: greenlight-sample:v1: cannot reach h9 over SSH \(root@10\.253\.0\.9:22\): Host key verification failed\.; h8, h10 hold every image$/m,
    );
    assert.deepEqual(statuses(run), { h8: ["sent"], h9: ["failed"], h10: ["sent"] });
  });

  it("an unreachable host fails naming it; an image built for another platform is refused before anything moves", async () => {
    const down = hosts.sim.hosts[2];
    hosts.sim.stopSshd(down);
    try {
      const run = await deliver([
        "--image",
        hosts.images.v1.ref,
        "--host",
        hostArg(hosts.sim.hosts[0]),
        "--host",
        hostArg(down),
      ]).done;
      assert.equal(run.code, 1);
      assert.match(
        run.stderr,
        /^deliver: h10 did not get every image: greenlight-sample:v1: cannot reach h10 over SSH \(root@10\.253\.0\.10:22\): .*(refused|timed out).*; h8 hold every image$/m,
      );
    } finally {
      hosts.sim.startSshd(down);
    }
    const arm = await deliver([
      "--image",
      hosts.images.v2.ref,
      "--platform",
      "linux/arm64",
      "--host",
      hostArg(hosts.sim.hosts[0]),
    ]).done;
    assert.equal(arm.code, 1);
    assert.match(
      arm.stderr,
      /^deliver: greenlight-sample:v2 is built for linux\/amd64, the hosts run linux\/arm64: /m,
    );
    assert.ok(!idsAt(hosts.sim, hosts.sim.hosts[0]).includes(hosts.images.v2.id));
  });
});
