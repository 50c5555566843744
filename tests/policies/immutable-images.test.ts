import { strict as assert } from "assert";
import { imageProblem, immutableImages } from "../../policies/immutable-images";
import { RESOURCE, STEP, STEP_ENV } from "../../contract/resources";
import { resourceArgs, resourceViolations } from "./support/args";
import { DIGEST_IMAGE } from "./support/release-graph";

const PRODUCTION = { requireDigest: true, forbidLatest: true };
const STAGING = { requireDigest: false, forbidLatest: true };

const container = (image: string) => resourceArgs(RESOURCE.container, { image }, { name: "service-blue-0" });

describe("policies/immutable-images", () => {
  it("passes an image pinned by digest, and a bare image id", async () => {
    assert.deepEqual(
      await resourceViolations(immutableImages, container(DIGEST_IMAGE), { config: PRODUCTION }),
      [],
    );
    assert.deepEqual(
      await resourceViolations(immutableImages, container(`sha256:${"a".repeat(64)}`), {
        config: PRODUCTION,
      }),
      [],
    );
    assert.deepEqual(
      await resourceViolations(immutableImages, container(`shop:2026.11.20-2@sha256:${"b".repeat(64)}`), {
        config: PRODUCTION,
      }),
      [],
    );
  });

  it("fails a release tag in production: a tag can move", async () => {
    const messages = await resourceViolations(
      immutableImages,
      container("registry.example.com/shop:2026.11.20-2"),
      { config: PRODUCTION },
    );
    assert.deepEqual(messages, [
      'container service-blue-0 (docker:index/container:Container) runs image "registry.example.com/shop:2026.11.20-2", which is not pinned by digest; ' +
        "a tag can be moved to other content; pin it by digest (registry/name@sha256:<64 hex digits>, see docker buildx imagetools inspect) in greenlight:blueImage / greenlight:greenImage.",
    ]);
  });

  it("passes a release tag where digests are not required (staging)", async () => {
    assert.deepEqual(
      await resourceViolations(immutableImages, container("registry.example.com/shop:2026.11.20-2"), {
        config: STAGING,
      }),
      [],
    );
  });

  it("fails latest everywhere, spelled out or implied", async () => {
    const spelled = await resourceViolations(immutableImages, container("shop:latest"), { config: STAGING });
    assert.match(
      spelled[0],
      /runs image "shop:latest", which uses the latest tag; latest changes under a running release; use a release tag or a digest/,
    );
    const implied = await resourceViolations(
      immutableImages,
      container("registry.example.com:5000/team/shop"),
      { config: STAGING },
    );
    assert.match(
      implied[0],
      /"registry\.example\.com:5000\/team\/shop", which has no tag, which means latest/,
    );
  });

  it("allows latest only when told to", async () => {
    assert.deepEqual(
      await resourceViolations(immutableImages, container("shop:latest"), {
        config: { requireDigest: false, forbidLatest: false },
      }),
      [],
    );
  });

  it("checks images named in greenlight step commands", async () => {
    const migrate = resourceArgs(
      RESOURCE.command,
      {
        environment: {
          [STEP_ENV.step]: STEP.migrate,
          GREENLIGHT_IMAGE: "shop:2026.11.20-2",
          MIGRATION_IMAGE: DIGEST_IMAGE,
        },
      },
      { name: "migration-run" },
    );
    const messages = await resourceViolations(immutableImages, migrate, { config: PRODUCTION });
    assert.deepEqual(messages.length, 1);
    assert.match(
      messages[0],
      /^step migrate migration-run \(command:local:Command\) uses image GREENLIGHT_IMAGE="shop:2026\.11\.20-2", which is not pinned by digest/,
    );
  });

  it("checks --image arguments of command lines", async () => {
    const check = resourceArgs(
      RESOURCE.command,
      { create: "node bin/greenlight-ops.js image --image shop:latest --port 8081" },
      { name: "service-blue-image" },
    );
    const messages = await resourceViolations(immutableImages, check, { config: STAGING });
    assert.deepEqual(messages.length, 1);
    assert.match(
      messages[0],
      /^command service-blue-image \(command:local:Command\) passes --image "shop:latest", which uses the latest tag/,
    );
    const pinned = resourceArgs(RESOURCE.command, {
      create: `node bin/greenlight-ops.js switch --image=${DIGEST_IMAGE}`,
    });
    assert.deepEqual(await resourceViolations(immutableImages, pinned, { config: PRODUCTION }), []);
  });

  it("leaves the environment of commands that are not greenlight steps alone", async () => {
    const other = resourceArgs(RESOURCE.command, { environment: { BASE_IMAGE: "shop:latest" } });
    assert.deepEqual(await resourceViolations(immutableImages, other, { config: PRODUCTION }), []);
  });

  it("checks the base the ops image is built from (every host builds it; it receives the admin secrets)", async () => {
    const opsImage = (base: string) =>
      resourceArgs(
        RESOURCE.image,
        { imageName: "greenlight-ops:0123456789abcdef", build: { context: "ctx", args: { BASE: base } } },
        { name: "host-web-1-ops-image" },
      );
    const pinned = `node:22-bookworm-slim@sha256:${"c".repeat(64)}`;
    assert.deepEqual(await resourceViolations(immutableImages, opsImage(pinned), { config: PRODUCTION }), []);
    assert.deepEqual(
      await resourceViolations(immutableImages, opsImage("node:22-bookworm-slim"), { config: PRODUCTION }),
      [
        'image host-web-1-ops-image (docker:index/image:Image) is built on base "node:22-bookworm-slim", which is not pinned by digest; a tag can be moved to other content; pin greenlight:opsBaseImage by digest (node:22-bookworm-slim@sha256:<64 hex digits>, see docker buildx imagetools inspect).',
      ],
    );
    assert.deepEqual(
      await resourceViolations(immutableImages, opsImage("node:22-bookworm-slim"), { config: STAGING }),
      [],
    );
    assert.match(
      (await resourceViolations(immutableImages, opsImage("node"), { config: STAGING }))[0],
      /is built on base "node", which has no tag, which means latest/,
    );
  });

  it("imageProblem: digest first, then latest, then tags", () => {
    assert.equal(imageProblem(DIGEST_IMAGE, PRODUCTION), undefined);
    assert.match(imageProblem("shop", PRODUCTION) ?? "", /no tag/);
    assert.match(imageProblem("shop:v1", PRODUCTION) ?? "", /not pinned by digest/);
    assert.equal(imageProblem("shop:v1", STAGING), undefined);
  });
});
