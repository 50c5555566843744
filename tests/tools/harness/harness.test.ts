import { strict as assert } from "assert";
import * as path from "path";
import { RecordedResource, isSecretMarker, runProgram } from "../../../tools/harness/run";
import { readStackConfig } from "../../../tools/harness/stack-file";

const FIXTURE = path.join(__dirname, "..", "..", "fixtures", "program");

describe("mock-runtime harness", function () {
  this.timeout(60_000);

  it("reads a stack file as the engine would: scalars as strings, lists as JSON, secure: as placeholders", () => {
    const local = readStackConfig(path.join(__dirname, "..", "..", ".."), "local");
    // Not in the stack file: the CLI merges Pulumi.yaml's declared default, as a string.
    assert.equal(local.config["greenlight:appPort"], "3000");
    assert.equal(local.stackValues["greenlight:appPort"], undefined);
    assert.equal(local.config["greenlight:bluePort"], "18081");
    assert.equal(local.config["greenlight:restoreDrill"], "true");
    assert.equal(local.config["greenlight:migrationCommand"], JSON.stringify(["node", "/app/migrate.js"]));
    assert.equal(local.config["greenlight:appPassword"], "[secret]");
    assert.ok(local.secretKeys.includes("greenlight:appPassword"));
    assert.ok(local.secretKeys.includes("greenlight-env:SESSION_SECRET"));
    assert.ok(!local.secretKeys.includes("greenlight:appName"));
  });

  describe("on a fixture program", () => {
    let resources: RecordedResource[];
    let outputs: Record<string, unknown>;
    const byName = (name: string) => {
      const found = resources.find((resource) => resource.name === name);
      assert.ok(found, `resource ${name} was not registered`);
      return found;
    };

    before(async () => {
      const run = await runProgram({ stack: "dev", projectDir: FIXTURE });
      assert.ok(run.ok, run.ok ? "" : run.message);
      resources = run.resources;
      outputs = run.outputs;
    });

    it("records every resource with its type and parent, but not the root stack", () => {
      assert.deepEqual(
        resources.map((resource) => [resource.name, resource.type, resource.custom]),
        [
          ["pair", "fixture:test:Pair", false],
          ["pair-first", "command:local:Command", true],
          ["pair-second", "command:local:Command", true],
          ["after", "command:local:Command", true],
        ],
      );
      assert.equal(byName("pair-first").parent, byName("pair").urn);
      assert.match(byName("after").parent ?? "", /pulumi:pulumi:Stack::harness-fixture-dev$/);
    });

    it("captures dependsOn edges, expanding a component into its children", () => {
      assert.deepEqual(byName("pair-second").dependencies, [byName("pair-first").urn]);
      assert.deepEqual(
        [...byName("after").dependencies].sort(),
        [byName("pair-first").urn, byName("pair-second").urn].sort(),
      );
    });

    it("marks secret inputs and outputs without revealing them", () => {
      const environment = byName("after").inputs.environment as Record<string, unknown>;
      assert.ok(isSecretMarker(environment.TOKEN));
      assert.equal(environment.PLAIN, "visible");
      assert.equal(byName("after").inputs.create, "echo hello");
      assert.ok(isSecretMarker(outputs.token));
      assert.equal(outputs.greeting, "hello");
      assert.ok(!JSON.stringify(resources).includes("not-a-real-ciphertext"));
    });

    it("records resource options", () => {
      assert.equal(byName("after").protect, true);
      assert.equal(byName("after").retainOnDelete, true);
      assert.equal(byName("pair-first").protect, false);
    });
  });

  it("applies overrides and reports a config problem of the real program without registering resources", async () => {
    const run = await runProgram({
      stack: "local",
      // Both pass the CLI's own rule (activeColor is a string; dbAdminPassword is not declared): the
      // program's parser, told which values are encrypted, names both.
      overrides: { "greenlight:activeColor": "purple", "greenlight:dbAdminPassword": "hunter2-in-the-clear" },
    });
    assert.equal(run.ok, false);
    if (run.ok) return;
    assert.equal(run.kind, "config");
    assert.deepEqual(run.problems.map((problem) => problem.key).sort(), [
      "greenlight:activeColor",
      "greenlight:dbAdminPassword",
    ]);
    assert.equal(run.resources.length, 0);
    assert.ok(!run.message.includes("hunter2"), "a plaintext password must not be echoed");
  });
});
