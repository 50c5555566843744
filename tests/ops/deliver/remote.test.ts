import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as zlib from "zlib";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { planDelivery } from "../../../ops/deliver";
import {
  HostProbe,
  RECEIVE_EXIT,
  chainIds,
  deliveryScript,
  hostTag,
  parseProbe,
} from "../../../ops/deliver/remote";
import { SourceImage } from "../../../ops/deliver/source";
import { parseDeliveryHost, sshArgs } from "../../../ops/deliver/ssh";
import { spawnOps } from "../support/cli";

const ID = `sha256:${"a1".repeat(32)}`;
const OTHER = `sha256:${"b2".repeat(32)}`;
const DIGEST = "c3".repeat(32);
const LAYER = `sha256:${"d4".repeat(32)}`;

function source(overrides: Partial<SourceImage> = {}): SourceImage {
  return {
    image: "shop:v1",
    id: ID,
    bytes: 100e6,
    platform: "linux/amd64",
    layers: [],
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

interface FakeDocker {
  /** What `docker load` prints. */
  said?: string;
  /** The id `docker image inspect <tag>` answers after the tag. */
  tagged?: string;
  /** `docker version` fails (the engine does not answer). */
  down?: boolean;
}

/**
 * Runs the host's script with a stand-in `docker` (what it was asked to tag, and the bytes `docker load`
 * received, are kept), feeding `stdin` as the runner's session would: a decision line, then a stream.
 */
function onHost(
  fake: FakeDocker,
  stdin: Buffer | string,
): { code: number; stdout: string; stderr: string; loaded?: Buffer; tags: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gl-fake-docker-"));
  try {
    const docker = [
      "#!/bin/sh",
      'case "$1" in',
      `  version) ${fake.down ? "echo 'Cannot connect to the Docker daemon' >&2; exit 1" : "echo 'platform linux/amd64'"} ;;`,
      '  image) case "$2 $3 $4" in',
      `    "ls -aq"*) echo '${OTHER}' ;;`,
      `    ls*) echo 'image ${OTHER} shop:v0' ;;`,
      `    "inspect --format layers"*) echo 'layers ${OTHER} ${LAYER},' ;;`,
      `    *) echo '${fake.tagged ?? ID}' ;;`,
      "  esac ;;",
      `  info) echo '[["Backing Filesystem","extfs"]]' ;;`,
      `  load) cat > "$DIR/loaded"; printf '%s\\n' '${fake.said ?? `Loaded image ID: ${ID}`}' ;;`,
      '  tag) echo "$2 $3" >> "$DIR/tags" ;;',
      "esac",
      "",
    ].join("\n");
    fs.writeFileSync(path.join(dir, "docker"), docker, { mode: 0o755 });
    const read = (name: string) =>
      fs.existsSync(path.join(dir, name)) ? fs.readFileSync(path.join(dir, name)) : undefined;
    const env = { PATH: `${dir}:/usr/bin:/bin`, DIR: dir };
    let result: { code: number; stdout: string; stderr: string };
    try {
      const stdout = execFileSync("sh", ["-c", deliveryScript(ID, "shop:v1")], {
        env,
        input: stdin,
        encoding: "utf8",
        stdio: "pipe",
      });
      result = { code: 0, stdout, stderr: "" };
    } catch (error) {
      const failed = error as { status: number; stdout: string; stderr: string };
      result = { code: failed.status, stdout: failed.stdout, stderr: failed.stderr };
    }
    return { ...result, loaded: read("loaded"), tags: read("tags")?.toString() ?? "" };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const PROBE = `platform linux/amd64\nimage ${OTHER} shop:v0\nzstd ${fs.existsSync("/usr/bin/zstd") ? "yes" : "no"}\nlayers ${OTHER} ${LAYER},\nstore layers\nready\n`;

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

  it("layers: a host on the classic layer store tells its layer stacks (chain ids as moby makes them); the plan sends only what lies above them", () => {
    const [a, b, c] = ["a", "b", "c"].map((letter) => `sha256:${letter.repeat(64)}`);
    const ab = `sha256:${execFileSync("sh", ["-c", `printf '%s' '${a} ${b}' | sha256sum`], { encoding: "utf8" }).slice(0, 64)}`;
    assert.deepEqual(chainIds([a, b]), [a, ab]);
    const said = (store: string) =>
      `platform linux/amd64\nimage ${OTHER} shop:v0\nzstd yes\nlayers ${OTHER} ${a},${b}\nstore ${store}\n`;
    const layered = parseProbe(said("layers"));
    assert.deepEqual([...(layered.chains ?? [])], [a, ab]);
    assert.equal(
      parseProbe(said("containerd")).chains,
      undefined,
      "the containerd store wants every blob: no layer skipped",
    );
    assert.deepEqual(planDelivery("h2", source({ layers: [a, b, c] }), layered), { send: true, held: 2 });
    assert.deepEqual(
      planDelivery("h2", source({ layers: [b, c] }), layered),
      { send: true, held: 0 },
      "b alone is another stack than a+b",
    );
  });

  it("one session per host: it tells what it holds, says ready, then does what the runner decides", () => {
    const skip = onHost({}, "skip\n");
    assert.deepEqual([skip.code, skip.stdout, skip.tags, skip.loaded], [0, PROBE, "", undefined]);
    const gone = onHost({}, "");
    assert.deepEqual(
      [gone.code, gone.tags, gone.loaded],
      [0, "", undefined],
      "the runner went away: nothing",
    );
    const retag = onHost({}, "retag\n");
    assert.equal(retag.code, 0, retag.stderr);
    assert.equal(retag.stdout, `${PROBE}verified shop:v1 ${ID}\n`);
    assert.equal(retag.tags, `${ID} shop:v1\n`);
    const down = onHost({ down: true }, "skip\n");
    assert.equal(down.code, RECEIVE_EXIT.noDocker);
    assert.equal(down.stdout, "", "no ready: the runner sends nothing");
    assert.equal(onHost({}, "tarball\n").code, RECEIVE_EXIT.badDecision);
  });

  it("receiving: docker load gets every byte after the decision line, and only the expected id is tagged", () => {
    const stream = Buffer.concat([
      Buffer.from("tar\nwith\nlines\n"),
      Buffer.alloc(70_000, 7),
      Buffer.from([0, 10, 255]),
    ]);
    const good = onHost({}, Buffer.concat([Buffer.from("plain\n"), stream]));
    assert.equal(good.code, 0, good.stderr);
    assert.ok(good.loaded?.equals(stream), "the stream reached docker load intact");
    assert.equal(good.stdout, `${PROBE}verified shop:v1 ${ID}\n`);
    assert.equal(good.tags, `${ID} shop:v1\n`);

    const wrong = onHost(
      { said: `Loaded image ID: ${OTHER}` },
      Buffer.concat([Buffer.from("plain\n"), stream]),
    );
    assert.equal(wrong.code, RECEIVE_EXIT.wrongImage);
    assert.equal(wrong.stderr, `expected ${ID}, docker load said: Loaded image ID: ${OTHER}\n`);
    assert.equal(wrong.tags, "", "nothing tagged");
    const withTags = onHost({ said: `Loaded image: shop:v1\nLoaded image ID: ${ID}` }, "plain\nx");
    assert.equal(withTags.code, RECEIVE_EXIT.wrongImage, "a stream carrying tags is not the one sent");
    const moved = onHost({ tagged: OTHER }, "retag\n");
    assert.equal(moved.code, RECEIVE_EXIT.tagMoved);
    assert.equal(moved.stderr, `shop:v1 names ${OTHER}, not ${ID}\n`);

    if (fs.existsSync("/usr/bin/zstd")) {
      const zstd = onHost({}, Buffer.concat([Buffer.from("zstd\n"), zlib.zstdCompressSync(stream)]));
      assert.equal(zstd.code, 0, zstd.stderr);
      assert.ok(zstd.loaded?.equals(stream), "decompressed before docker load");
    }
  });

  it("refuses what is not an id or a tag before it reaches a shell", () => {
    assert.throws(() => deliveryScript("sha256:abc", "shop:v1"), /is not an image id/);
    assert.throws(() => deliveryScript(ID, "shop:v1'; rm -rf /;'"), /is not an image tag/);
    assert.throws(() => deliveryScript(ID, `shop@sha256:${DIGEST}`), /is not an image tag/);
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
    assert.ok(!args.includes("-i"), "no key file unless the stack's key is given");
    // The stack's key (GREENLIGHT_SSH_PRIVATE_KEY, written to a private file): that key and no other.
    const keyed = sshArgs(parseDeliveryHost("web-1=deploy@10.0.0.11"), "true", {
      connectTimeoutSeconds: 10,
      identityFile: "/tmp/gl-deliver-x/key",
    });
    assert.deepEqual(keyed.slice(keyed.indexOf("-i"), keyed.indexOf("-i") + 4), [
      "-i",
      "/tmp/gl-deliver-x/key",
      "-o",
      "IdentitiesOnly=yes",
    ]);
  });

  it("the command line: a bad host, a host named twice, no image: one line, exit 2", async function () {
    this.timeout(60_000);
    const env = { PATH: process.env.PATH ?? "" };
    const [badHost, twice, noImage, tagOfTwo] = await Promise.all([
      spawnOps(["deliver", "--image", "shop:v1", "--host", "web-1"], env, 30_000).done,
      spawnOps(["deliver", "--image", "shop:v1", "--host", "a=root@h1", "--host", "a=root@h2"], env, 30_000)
        .done,
      spawnOps(["deliver", "--host", "a=root@h1"], env, 30_000).done,
      spawnOps(
        ["deliver", "--image", "a:1", "--image", "b:1", "--tag-as", "c:1", "--host", "a=root@h1"],
        env,
        30_000,
      ).done,
    ]);
    for (const run of [badHost, twice, noImage, tagOfTwo]) {
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
    assert.match(tagOfTwo.stderr, /--tag-as names the tag of one image; 2 --image given/);
  });
});
