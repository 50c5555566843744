import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { planDelivery } from "../../../ops/deliver";
import {
  HostProbe,
  RECEIVE_EXIT,
  hostTag,
  parseProbe,
  probeCommand,
  receiveCommand,
  retagCommand,
} from "../../../ops/deliver/remote";
import { SourceImage } from "../../../ops/deliver/source";
import { parseDeliveryHost, sshArgs } from "../../../ops/deliver/ssh";
import { spawnOps } from "../support/cli";

const ID = `sha256:${"a1".repeat(32)}`;
const OTHER = `sha256:${"b2".repeat(32)}`;
const DIGEST = "c3".repeat(32);

function source(overrides: Partial<SourceImage> = {}): SourceImage {
  return {
    image: "shop:v1",
    id: ID,
    bytes: 100e6,
    platform: "linux/amd64",
    tag: "shop:v1",
    pinned: false,
    pulled: false,
    ...overrides,
  };
}

function probe(images: Record<string, string[]>, platform = "linux/amd64"): HostProbe {
  const tags = new Map<string, string>();
  for (const [id, names] of Object.entries(images)) for (const name of names) tags.set(name, id);
  return { platform, images: new Map(Object.entries(images)), tags, zstd: true };
}

/** Runs a host-side script with a stand-in `docker` that answers as the case needs. */
function runWithDocker(
  script: string,
  docker: string,
  input = "",
): { code: number; stdout: string; stderr: string } {
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), "gl-fake-docker-"));
  try {
    fs.writeFileSync(path.join(bin, "docker"), `#!/bin/sh\n${docker}\n`, { mode: 0o755 });
    try {
      const stdout = execFileSync("sh", ["-c", script], {
        env: { PATH: `${bin}:/usr/bin:/bin`, LOG: path.join(bin, "log") },
        input,
        encoding: "utf8",
        stdio: ["pipe", "pipe", "pipe"],
      });
      return { code: 0, stdout, stderr: "" };
    } catch (error) {
      const failed = error as { status: number; stdout: string; stderr: string };
      return { code: failed.status, stdout: failed.stdout, stderr: failed.stderr };
    }
  } finally {
    fs.rmSync(bin, { recursive: true, force: true });
  }
}

describe("deliver: what runs on a host, and what each host needs", () => {
  it("the tag an image carries on the hosts: its own, or name:sha256-<hex> for one pinned by content", () => {
    assert.equal(hostTag("shop:v1"), "shop:v1");
    assert.equal(hostTag("shop"), "shop:latest");
    assert.equal(hostTag("registry:5000/team/shop"), "registry:5000/team/shop:latest");
    assert.equal(
      hostTag(`registry:5000/team/shop@sha256:${DIGEST}`),
      `registry:5000/team/shop:sha256-${DIGEST}`,
    );
    assert.equal(hostTag(`shop:v1@sha256:${DIGEST}`), `shop:sha256-${DIGEST}`);
    assert.equal(hostTag(ID), `greenlight-image:sha256-${"a1".repeat(32)}`);
  });

  it("the probe's answer: the platform, every id with its tags, zstd; another program's answer is refused", () => {
    const parsed = parseProbe(
      [
        "platform linux/amd64",
        `image ${ID} shop:v1`,
        `image ${ID} shop:sha256-${DIGEST}`,
        `image ${OTHER} <none>:<none>`,
        "zstd no",
        "",
      ].join("\n"),
    );
    assert.equal(parsed.platform, "linux/amd64");
    assert.deepEqual(
      [...parsed.images.entries()],
      [
        [ID, ["shop:v1", `shop:sha256-${DIGEST}`]],
        [OTHER, []],
      ],
    );
    assert.equal(parsed.tags.get("shop:v1"), ID);
    assert.equal(parsed.zstd, false);
    assert.throws(() => parseProbe("Welcome to the bastion\n"), /the probe's answer is not a Docker host's/);
    assert.match(probeCommand(), /docker image ls -a --no-trunc/);
  });

  it("plans per host: nothing when held and tagged, a tag when held untagged, the image when missing, a refusal on a tag naming other content when pinned", () => {
    assert.deepEqual(planDelivery("h2", source(), probe({ [ID]: ["shop:v1"] })), { send: false });
    assert.deepEqual(planDelivery("h2", source(), probe({ [ID]: [] })), { send: false });
    assert.deepEqual(planDelivery("h2", source(), probe({})), { send: true });
    assert.deepEqual(planDelivery("h2", source(), probe({ [OTHER]: ["shop:v1"] })), {
      send: true,
      replaced: OTHER,
    });
    const pinned = source({ image: `shop@sha256:${DIGEST}`, tag: `shop:sha256-${DIGEST}`, pinned: true });
    const refused = planDelivery("h3", pinned, probe({ [OTHER]: [`shop:sha256-${DIGEST}`] }));
    assert.ok("failed" in refused);
    assert.match(refused.failed, new RegExp(`^h3 holds shop:sha256-${DIGEST} as ${OTHER}, not ${ID}: `));
    const arm = planDelivery("h4", source(), probe({}, "linux/arm64"));
    assert.deepEqual(arm, { failed: "h4 runs linux/arm64 but shop:v1 is built for linux/amd64" });
  });

  it("the receiving end tags only the expected id, and reads the tag back", () => {
    const loads = (said: string) =>
      `case "$1" in load) cat >/dev/null; echo '${said}';; tag) echo "tag $2 $3" >>"$LOG";; image) echo ${ID};; esac`;
    const good = runWithDocker(
      receiveCommand(ID, "shop:v1", "none"),
      loads(`Loaded image ID: ${ID}`),
      "tar bytes",
    );
    assert.equal(good.code, 0, good.stderr);
    assert.equal(good.stdout, `verified shop:v1 ${ID}\n`);
    const wrong = runWithDocker(
      receiveCommand(ID, "shop:v1", "none"),
      loads(`Loaded image ID: ${OTHER}`),
      "tar bytes",
    );
    assert.equal(wrong.code, RECEIVE_EXIT.wrongImage);
    assert.equal(wrong.stderr, `expected ${ID}, docker load said: Loaded image ID: ${OTHER}\n`);
    assert.equal(wrong.stdout, "");
    const tagged = runWithDocker(
      receiveCommand(ID, "shop:v1", "none"),
      loads(`Loaded image: shop:v1\nLoaded image ID: ${ID}`),
    );
    assert.equal(tagged.code, RECEIVE_EXIT.wrongImage, "a stream carrying tags is not the one sent");
    const failing = runWithDocker(receiveCommand(ID, "shop:v1", "none"), "echo 'unexpected EOF' >&2; exit 1");
    assert.equal(failing.code, 1);
    assert.match(
      receiveCommand(ID, "shop:v1", "zstd"),
      /^loaded=\$\(zstd -dcq \| docker load -q\) \|\| exit \$\?$/m,
    );
    const moved = runWithDocker(retagCommand(ID, "shop:v1"), `case "$1" in image) echo ${OTHER};; esac`);
    assert.equal(moved.code, RECEIVE_EXIT.tagMoved);
  });

  it("refuses what is not an id or a tag before it reaches a shell", () => {
    assert.throws(() => receiveCommand("sha256:abc", "shop:v1", "none"), /is not an image id/);
    assert.throws(() => receiveCommand(ID, "shop:v1'; rm -rf /;'", "none"), /is not an image tag/);
    assert.throws(() => retagCommand(ID, `shop@sha256:${DIGEST}`), /is not an image tag/);
  });

  it("hosts on the command line: name=user@address[:port]; ssh never prompts and pins keys when given a file", () => {
    assert.deepEqual(parseDeliveryHost("web-1=deploy@10.0.0.11"), {
      name: "web-1",
      user: "deploy",
      address: "10.0.0.11",
      port: 22,
    });
    assert.equal(parseDeliveryHost("web-2=deploy@web-2.internal:2222").port, 2222);
    for (const bad of ["web-1=10.0.0.11", "Web=deploy@h", "web-1=deploy@h:70000", "web-1=-oProxyCommand=x@h"])
      assert.throws(() => parseDeliveryHost(bad), /expected <name>=<user>@<address>\[:<port>\]/, bad);
    const args = sshArgs(parseDeliveryHost("web-1=deploy@10.0.0.11:2222"), "true", {
      connectTimeoutSeconds: 10,
      knownHosts: "/etc/greenlight/known_hosts",
    });
    assert.deepEqual(args.slice(-4), ["-p", "2222", "deploy@10.0.0.11", "true"]);
    assert.ok(args.includes("BatchMode=yes") && args.includes("StrictHostKeyChecking=yes"));
    assert.ok(args.includes("UserKnownHostsFile=/etc/greenlight/known_hosts"));
  });

  it("the command line: a bad host, a host named twice, no image: one line, exit 2", async function () {
    this.timeout(60_000);
    const env = { PATH: process.env.PATH ?? "" };
    const [badHost, twice, noImage] = await Promise.all([
      spawnOps(["deliver", "--image", "shop:v1", "--host", "web-1"], env, 30_000).done,
      spawnOps(["deliver", "--image", "shop:v1", "--host", "a=root@h1", "--host", "a=root@h2"], env, 30_000)
        .done,
      spawnOps(["deliver", "--host", "a=root@h1"], env, 30_000).done,
    ]);
    for (const run of [badHost, twice, noImage]) {
      assert.equal(run.code, 2, run.stderr);
      assert.equal(run.stdout, "");
      assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
    }
    assert.match(
      badHost.stderr,
      /^greenlight-ops deliver: option '--host <name=user@address\[:port\]>' argument 'web-1' is invalid/,
    );
    assert.match(twice.stderr, /host a is named twice/);
    assert.match(noImage.stderr, /required option '--image <ref>' not specified/);
  });
});
