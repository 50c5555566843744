import { strict as assert } from "assert";
import { COMMAND_LINE_CREDENTIALS, PINNED_IMAGE, SECRET_ENV_NAME } from "../../../policies/lib/patterns";
import * as schema from "../../../contract/patterns";

describe("policies/lib/patterns", () => {
  it("SECRET_ENV_NAME is the same pattern as schema/patterns.ts (policies may not import it)", () => {
    assert.equal(SECRET_ENV_NAME.source, schema.SECRET_ENV_NAME.source);
    assert.equal(SECRET_ENV_NAME.flags, schema.SECRET_ENV_NAME.flags);
  });

  it("PINNED_IMAGE accepts what schema IMAGE_DIGEST accepts, and bare image ids", () => {
    const digest = "sha256:" + "0123456789abcdef".repeat(4);
    for (const image of [`shop@${digest}`, `registry.example.com:5000/team/shop:1.2@${digest}`]) {
      assert.equal(schema.IMAGE_DIGEST.test(image), true, image);
      assert.equal(PINNED_IMAGE.test(image), true, image);
    }
    assert.equal(PINNED_IMAGE.test(digest), true);
    for (const image of ["shop:1.2", "shop", `shop@sha256:${"0".repeat(63)}`, `shop@${digest}x`]) {
      assert.equal(schema.IMAGE_DIGEST.test(image), false, image);
      assert.equal(PINNED_IMAGE.test(image), false, image);
    }
  });

  it("every command-line credential pattern has a description", () => {
    assert.ok(COMMAND_LINE_CREDENTIALS.length >= 5);
    for (const { what } of COMMAND_LINE_CREDENTIALS) assert.ok(what.length > 5);
  });
});
