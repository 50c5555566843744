import { strict as assert } from "assert";
import {
  COMMAND_LINE_CREDENTIALS,
  IMAGE_DIGEST,
  PINNED_IMAGE,
  SECRET_ENV_NAME,
} from "../../contract/patterns";

describe("contract/patterns", () => {
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
