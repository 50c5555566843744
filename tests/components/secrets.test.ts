// Secrets stay secrets on the program's own graph: the engine hands policies every secret unwrapped, so
// this is proven here, where the mock runtime still marks them (tools/harness/secret-inputs.ts).
import { strict as assert } from "assert";
import { plaintextSecrets } from "../../tools/harness/secret-inputs";
import { isSecretMarker } from "../../tools/harness/types";
import { ONE_MACHINE, named, program } from "./support";

describe("secret inputs of the program's graph", function () {
  this.timeout(120_000);

  for (const stack of ["local", "staging", "production"] as const) {
    it(`${stack}: every password, key, connection string and secret app variable is a Pulumi secret`, async () => {
      const { resources } = await program(stack);
      assert.deepEqual(plaintextSecrets(resources), []);
      // And the check would see one: the secret entries it passes are really marked.
      const migration = named(resources, "migration-run").inputs.environment as Record<string, unknown>;
      assert.ok(isSecretMarker(migration.DATABASE_URL));
      if (stack !== "local") assert.ok(isSecretMarker(migration.PGPASSWORD));
    });
  }

  it("finds a plaintext secret-looking entry and a URL with a password, naming resource and entry", async () => {
    const { resources } = await program("production", ONE_MACHINE);
    const backup = structuredClone(named(resources, "backup-run"));
    (backup.inputs.environment as Record<string, unknown>).PGPASSWORD = "hunter2";
    (backup.inputs.environment as Record<string, unknown>).PRIMARY = "postgres://a:b@db/shop";
    const container = structuredClone(named(resources, "service-blue-0"));
    (container.inputs.envs as unknown[]).push("SESSION_SECRET=abc", "FEATURE=on");
    assert.deepEqual(plaintextSecrets([backup, container]), [
      { urn: backup.urn, where: "environment.PGPASSWORD" },
      { urn: backup.urn, where: "environment.PRIMARY" },
      {
        urn: container.urn,
        where: `envs[${(container.inputs.envs as unknown[]).length - 2}] (SESSION_SECRET)`,
      },
    ]);
  });
});
