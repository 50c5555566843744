import { strict as assert } from "assert";
import { COMPONENT, RESOURCE, STEP, STEP_ENV } from "../../../contract/resources";
import { ONE_MACHINE, fixture, named, program, waitsFor } from "./support";

describe("ReleaseRecord (mocks)", function () {
  this.timeout(120_000);

  it("is the first step of the release layer: every container, image check, gate and switch waits for it", async () => {
    const { resources } = await program("production", ONE_MACHINE);
    const record = named(resources, "release-record");
    assert.equal(named(resources, "release").type, COMPONENT.releaseRecord);
    assert.deepEqual(record.dependencies, [], "it waits for nothing");
    const releaseLayer = new Set(
      resources
        .filter(
          (resource) =>
            resource.type === COMPONENT.blueGreenService ||
            resource.type === COMPONENT.healthGate ||
            resource.type === COMPONENT.trafficSwitch,
        )
        .map((resource) => resource.urn),
    );
    const inLayer = (resource: (typeof resources)[number]): boolean => {
      const parent = resources.find((candidate) => candidate.urn === resource.parent);
      return releaseLayer.has(resource.urn) || (parent !== undefined && inLayer(parent));
    };
    const steps = resources.filter(
      (resource) =>
        resource.custom &&
        (resource.type === RESOURCE.command || resource.type === RESOURCE.container) &&
        inLayer(resource),
    );
    assert.equal(steps.length, 10, "6 containers, 2 image checks, the gate, the switch");
    for (const step of steps)
      assert.ok(waitsFor(resources, step).has("release-record"), `${step.name} waits for the record`);
  });

  it("carries release, color, image and schema flag in plain env, and no override keys without an override", async () => {
    const { resources } = await program("production", ONE_MACHINE);
    const environment = named(resources, "release-record").inputs.environment as Record<string, unknown>;
    assert.deepEqual(environment, {
      [STEP_ENV.step]: STEP.record,
      [STEP_ENV.release]: "2026.11.20-2",
      [STEP_ENV.color]: "blue",
      GREENLIGHT_IMAGE:
        "registry.example.com/shop@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
      GREENLIGHT_STACK: "production",
      GREENLIGHT_SCHEMA_BREAKING: "false",
      // Both colors and the latest one: the step refuses a release that would skip its data steps.
      GREENLIGHT_LATEST_COLOR: "blue",
      GREENLIGHT_BLUE_RELEASE: "2026.11.20-2",
      GREENLIGHT_BLUE_IMAGE:
        "registry.example.com/shop@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
      GREENLIGHT_GREEN_RELEASE: "2026.11.18-1",
      GREENLIGHT_GREEN_IMAGE:
        "registry.example.com/shop@sha256:9b2e3f1c7a8d4e5f60718293a4b5c6d7e8f9012a3b4c5d6e7f8091a2b3c4d5e6",
    });
    const record = named(resources, "release-record").inputs;
    assert.equal(record.create, "node bin/greenlight-ops.js record");
    // Updated, not replaced, so the step gets the previous record (PULUMI_COMMAND_STDOUT) to judge against.
    assert.equal(record.update, record.create);
    assert.equal(record.addPreviousOutputInEnv, true);
    assert.equal(record.triggers, undefined);
  });

  it("carries all four override fields when the stack has an emergency override", async () => {
    const { resources } = await program("production", {
      ...ONE_MACHINE,
      "greenlight:overrideReason": "checkout answers 500 for EU cards",
      "greenlight:overrideApprover": "oncall.maria",
      "greenlight:overrideTicket": "INC-2041",
      "greenlight:overrideExpiresAt": new Date(Date.now() + 3 * 3_600_000).toISOString(),
    });
    const environment = named(resources, "release-record").inputs.environment as Record<string, string>;
    assert.equal(environment[STEP_ENV.overrideReason], "checkout answers 500 for EU cards");
    assert.equal(environment[STEP_ENV.overrideApprover], "oncall.maria");
    assert.equal(environment[STEP_ENV.overrideTicket], "INC-2041");
    assert.match(environment[STEP_ENV.overrideExpiresAt], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it("refuses an override that lacks a field, naming it", async () => {
    const partial = await fixture("partial-override");
    assert.match(
      partial.ok ? "" : partial.message,
      /ReleaseRecord release: args\.override\.approver "" is invalid: expected a value: an override needs all four fields/,
    );
  });
});
