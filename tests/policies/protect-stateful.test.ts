import { strict as assert } from "assert";
import { RESOURCE } from "../../contract/resources";
import { protectStateful } from "../../policies/protect-stateful";
import { resourceArgs, resourceViolations } from "./support/args";

describe("policies/protect-stateful", () => {
  it("passes a protected bucket, role and grant", async () => {
    for (const type of [RESOURCE.bucket, RESOURCE.pgRole, RESOURCE.pgGrant]) {
      assert.deepEqual(
        await resourceViolations(protectStateful, resourceArgs(type, {}, { protect: true })),
        [],
        type,
      );
    }
  });

  it("fails an unprotected bucket, saying how to fix it", async () => {
    const messages = await resourceViolations(
      protectStateful,
      resourceArgs(RESOURCE.bucket, {}, { name: "backups-bucket" }),
    );
    assert.deepEqual(messages, [
      "backups-bucket (aws:s3/bucket:Bucket) holds state the release cannot recreate, but is not protected; pass { protect: true } so pulumi destroy or a rename cannot delete it (unprotect deliberately with pulumi state unprotect).",
    ]);
  });

  it("fails unprotected database roles and grants", async () => {
    assert.equal((await resourceViolations(protectStateful, resourceArgs(RESOURCE.pgRole, {}))).length, 1);
    assert.equal((await resourceViolations(protectStateful, resourceArgs(RESOURCE.pgGrant, {}))).length, 1);
  });

  it("leaves replaceable resources alone", async () => {
    assert.deepEqual(await resourceViolations(protectStateful, resourceArgs(RESOURCE.container, {})), []);
    assert.deepEqual(await resourceViolations(protectStateful, resourceArgs(RESOURCE.command, {})), []);
  });

  it("takes its list of stateful types from config", async () => {
    const config = { resourceTypes: [RESOURCE.kmsKey] };
    assert.equal(
      (await resourceViolations(protectStateful, resourceArgs(RESOURCE.kmsKey, {}), { config })).length,
      1,
    );
    assert.deepEqual(
      await resourceViolations(protectStateful, resourceArgs(RESOURCE.bucket, {}), { config }),
      [],
    );
  });
});
