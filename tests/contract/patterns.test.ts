import { strict as assert } from "assert";
import {
  BUCKET_NAME,
  COMMAND_LINE_CREDENTIALS,
  COMMAND_WORD,
  DOCKER_NETWORK,
  IMAGE_DIGEST,
  PINNED_IMAGE,
  SECRET_ENV_NAME,
  SQL_IDENTIFIER,
  STACK_NAME,
  isImageRef,
} from "../../contract/patterns";

/** Asserts which of the values a pattern accepts. */
function accepts(pattern: RegExp | ((value: string) => boolean), good: string[], bad: string[]): void {
  const test = typeof pattern === "function" ? pattern : (value: string) => pattern.test(value);
  for (const value of good) assert.equal(test(value), true, `accepts ${JSON.stringify(value)}`);
  for (const value of bad) assert.equal(test(value), false, `refuses ${JSON.stringify(value)}`);
}

describe("contract/patterns", () => {
  it("STACK_NAME: 1-64 letters, digits, '.', '_' or '-' (a backup key segment)", () => {
    accepts(
      STACK_NAME,
      ["production", "dev_2", "eu-west.1", "x".repeat(64)],
      ["", "a/b", "a b", "x".repeat(65), "prod;rm"],
    );
  });

  it("BUCKET_NAME: the DNS-compatible S3 bucket names", () => {
    accepts(
      BUCKET_NAME,
      ["shop-backups", "a.b.c", "abc"],
      ["ab", "Shop", "-shop", "shop-", "shop_backups", "a".repeat(64)],
    );
  });

  it("SQL_IDENTIFIER: lower-case names that need no quoting, at most 63 characters", () => {
    accepts(SQL_IDENTIFIER, ["shop", "_app", "app_2"], ["Shop", "2app", "app-role", 'a"b', "a".repeat(64)]);
  });

  it("isImageRef: a reference by tag or digest, or a bare image id", () => {
    const digest = "sha256:" + "ab".repeat(32);
    accepts(
      isImageRef,
      ["shop:1.2", `registry.example.com:5000/shop@${digest}`, digest],
      ["Shop", "shop:", "shop@sha256:abc", "shop;rm"],
    );
  });

  it("DOCKER_NETWORK and COMMAND_WORD refuse shell characters", () => {
    accepts(DOCKER_NETWORK, ["host", "bridge", "shop_net-1"], ["", "-net", "a b", "a;b"]);
    accepts(COMMAND_WORD, ["node", "migrate.js", "--to=v2", "a@b:c,d/e"], ["", "a b", "it's", "$(x)", "a|b"]);
  });

  it("SECRET_ENV_NAME names the variables whose values must be secrets", () => {
    for (const name of ["PGPASSWORD", "API_KEY", "DATABASE_URL", "STRIPE_SECRET", "SENTRY_DSN"])
      assert.ok(SECRET_ENV_NAME.test(name), name);
    for (const name of ["PORT", "FEATURE_NEW_CHECKOUT", "APP_COLOR"])
      assert.ok(!SECRET_ENV_NAME.test(name), name);
  });

  it("PINNED_IMAGE accepts what IMAGE_DIGEST accepts, and bare image ids", () => {
    const digest = "sha256:" + "0123456789abcdef".repeat(4);
    for (const image of [`shop@${digest}`, `registry.example.com:5000/team/shop:1.2@${digest}`]) {
      assert.equal(IMAGE_DIGEST.test(image), true, image);
      assert.equal(PINNED_IMAGE.test(image), true, image);
    }
    assert.equal(PINNED_IMAGE.test(digest), true);
    for (const image of ["shop:1.2", "shop", `shop@sha256:${"0".repeat(63)}`, `shop@${digest}x`]) {
      assert.equal(IMAGE_DIGEST.test(image), false, image);
      assert.equal(PINNED_IMAGE.test(image), false, image);
    }
  });

  it("every command-line credential pattern has a description", () => {
    assert.ok(COMMAND_LINE_CREDENTIALS.length >= 5);
    for (const { what } of COMMAND_LINE_CREDENTIALS) assert.ok(what.length > 5);
  });
});
