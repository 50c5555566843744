import { strict as assert } from "assert";
import { COMPONENT, RESOURCE } from "../../../contract/resources";
import { WARM_IGNORED_PROPERTIES } from "../../../components/release/ColorSlot";
import {
  ONE_MACHINE,
  dependencyNames,
  fixture,
  named,
  ofType,
  program,
  validFixture,
  waitsFor,
} from "./support";

describe("BlueGreenService in the real program (mocks)", function () {
  this.timeout(120_000);

  it("builds both color slots under one service; the target color (activeColor) runs its release, the other stays warm", async () => {
    const { resources } = await program("local");
    const service = named(resources, "service");
    assert.equal(service.type, COMPONENT.blueGreenService);
    const slots = ofType(resources, COMPONENT.colorSlot);
    assert.deepEqual(
      slots.map((slot) => [slot.name, slot.parent]).sort(([a], [b]) => String(a).localeCompare(String(b))),
      [
        ["service-blue", service.urn],
        ["service-green", service.urn],
      ],
    );
    const blue = named(resources, "service-blue-0");
    const green = named(resources, "service-green-0");
    assert.equal(blue.inputs.image, "greenlight-sample:v1");
    assert.equal(green.inputs.image, "greenlight-sample:v2");
    assert.deepEqual(blue.ignoreChanges, [], "the target takes every change");
    assert.deepEqual(
      green.ignoreChanges,
      WARM_IGNORED_PROPERTIES,
      "the warm color is not replaced by app-wide changes",
    );
    assert.equal(named(resources, "service").outputs?.targetColor, "blue");
  });

  it("flipping activeColor makes the other color the target, with nothing else changed", async () => {
    const { resources } = await program("local", { "greenlight:activeColor": "green" });
    assert.deepEqual(named(resources, "service-green-0").ignoreChanges, []);
    assert.deepEqual(named(resources, "service-blue-0").ignoreChanges, WARM_IGNORED_PROPERTIES);
    const before = await program("local");
    for (const name of ["service-blue-0", "service-green-0"]) {
      assert.deepEqual(named(resources, name).inputs, named(before.resources, name).inputs, `${name} inputs`);
    }
  });

  it("is idempotent: the same config gives the same inputs, run after run", async () => {
    const first = await program("production", ONE_MACHINE);
    const second = await program("production", { ...ONE_MACHINE, "greenlight:appName": "shop" });
    const shape = (run: typeof first) =>
      run.resources.map((resource) => [
        resource.name,
        resource.type,
        resource.inputs,
        resource.dependencies.length,
      ]);
    assert.deepEqual(shape(second), shape(first));
  });

  it("creates one container per replica and, in bridge mode, a shared network", async () => {
    const { resources } = await program("production", ONE_MACHINE);
    const containers = ofType(resources, RESOURCE.container);
    assert.equal(containers.length, 6, "3 replicas × 2 colors");
    const network = named(resources, "service-network");
    assert.equal(network.inputs.name, "shop-production");
    for (const container of containers) {
      assert.deepEqual(container.inputs.networksAdvanced, [{ name: "shop-production" }]);
      assert.ok(dependencyNames(resources, container).includes("service-network"));
      assert.equal(container.deleteBeforeReplace, true, "fixed names and ports: delete before replace");
    }
  });

  it("the slots wait for the release record", async () => {
    const { resources } = await program("local");
    for (const name of ["service-blue-0", "service-green-0"]) {
      assert.ok(waitsFor(resources, named(resources, name)).has("release-record"), name);
    }
  });

  it("only the target color waits for targetDependsOn (the migration, wired by the lead)", async () => {
    const { resources } = await validFixture();
    assert.deepEqual(dependencyNames(resources, named(resources, "svc-green")), ["migration-run"]);
    assert.deepEqual(dependencyNames(resources, named(resources, "svc-blue")), []);
    assert.ok(waitsFor(resources, named(resources, "svc-green-1")).has("migration-run"));
    assert.ok(
      !waitsFor(resources, named(resources, "svc-blue-1")).has("migration-run"),
      "the warm color does not wait",
    );
  });

  it("refuses overlapping color ports and an unknown target color, naming the argument", async () => {
    const overlap = await fixture("overlap");
    assert.equal(overlap.ok, false);
    assert.match(
      overlap.ok ? "" : overlap.message,
      /BlueGreenService svc: args\.colors\.green\.hostPort 28082 is invalid: expected ports that do not overlap blue's 28081-28082/,
    );
    const color = await fixture("bad-color");
    assert.match(
      color.ok ? "" : color.message,
      /BlueGreenService svc: args\.targetColor "purple" is invalid: expected blue or green/,
    );
  });
});
