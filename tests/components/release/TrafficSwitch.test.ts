import { strict as assert } from "assert";
import { COMPONENT, STEP, STEP_ENV } from "../../../contract/resources";
import {
  ONE_MACHINE,
  dependencyNames,
  fixture,
  flagsOf,
  named,
  program,
  validFixture,
  waitsFor,
} from "./support";

describe("TrafficSwitch (mocks)", function () {
  this.timeout(120_000);

  it("calls greenlight-ops switch with the proxy, ports, maintenance, warm-up and guard settings from config", async () => {
    const { resources } = await program("production", ONE_MACHINE);
    assert.equal(named(resources, "switch").type, COMPONENT.trafficSwitch);
    const create = String(named(resources, "switch-run").inputs.create);
    assert.match(create, /^node bin\/greenlight-ops\.js switch /);
    assert.deepEqual(flagsOf(create), {
      color: ["blue"],
      release: ["2026.11.20-2"],
      image: [
        "registry.example.com/shop@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
      ],
      "state-dir": ["/var/lib/greenlight/production"],
      "proxy-port": ["8080"],
      "blue-port": ["8081"],
      "green-port": ["8091"],
      replicas: ["3"],
      "upstream-host": ["127.0.0.1"],
      "health-path": ["/health"],
      maintenance: ["off"],
      warmup: ["/"],
      "guard-seconds": ["300"],
      "guard-error-rate": ["5"],
      "guard-p95-ms": ["2000"],
      "guard-min-requests": ["20"],
    });
    const { resources: fixtureResources } = await validFixture();
    const fixtureFlags = flagsOf(String(named(fixtureResources, "switch-run").inputs.create));
    assert.deepEqual(fixtureFlags.maintenance, ["read-only"]);
    assert.deepEqual(fixtureFlags.warmup, ["/", "/health"]);
  });

  it("a preview (promote false) and canary steps reach the switch's command line; the promotion is in its triggers", async () => {
    const previewed = await program("production", {
      ...ONE_MACHINE,
      "greenlight:promote": "false",
      "greenlight:previewPort": "8079",
      "greenlight:trafficSteps": [10, 50, 100],
      "greenlight:trafficStepSeconds": "30",
      "greenlight:canaryErrorRatePoints": "2",
      "greenlight:canaryP95MarginPercent": "30",
      "greenlight:canaryP95FloorMs": "40",
    });
    const run = named(previewed.resources, "switch-run");
    const flags = flagsOf(String(run.inputs.create));
    assert.deepEqual(
      [flags["canary-error-margin"], flags["canary-p95-margin"], flags["canary-p95-floor-ms"]],
      [["2"], ["30"], ["40"]],
      "the judge's margins reach the switch as the stack sets them",
    );
    assert.deepEqual(flags.preview, [""], "a flag without a value");
    assert.deepEqual(flags["preview-port"], ["8079"]);
    assert.deepEqual(flags["traffic-step"], ["10", "50", "100"]);
    assert.deepEqual(flags["traffic-step-seconds"], ["30"]);
    const promoted = await program("production", {
      ...ONE_MACHINE,
      "greenlight:previewPort": "8079",
      "greenlight:trafficSteps": [10, 50, 100],
      "greenlight:trafficStepSeconds": "30",
    });
    const promotedRun = named(promoted.resources, "switch-run");
    assert.equal(flagsOf(String(promotedRun.inputs.create)).preview, undefined);
    assert.deepEqual((run.inputs.triggers as unknown[]).slice(-1), [false]);
    assert.deepEqual((promotedRun.inputs.triggers as unknown[]).slice(-1), [true]);
  });

  it("depends on the gate of the color it activates, not the other's, and re-runs when the color, release, image or containers change", async () => {
    for (const color of ["blue", "green"] as const) {
      const { resources } = await program("production", { ...ONE_MACHINE, "greenlight:activeColor": color });
      const run = named(resources, "switch-run");
      const other = color === "blue" ? "green" : "blue";
      // The gate it waits for, and the containers whose ids are in its triggers (new containers: switch again).
      assert.deepEqual(dependencyNames(resources, run), [
        `gate-${color}-run`,
        `service-${color}-0`,
        `service-${color}-1`,
        `service-${color}-2`,
      ]);
      const everything = waitsFor(resources, run);
      assert.ok(everything.has(`service-${color}-0`), "after the target's containers");
      assert.ok(
        !everything.has(`gate-${other}-run`) &&
          !resources.some((resource) => resource.name === `gate-${other}`),
        `no gate of ${other}`,
      );
      const environment = run.inputs.environment as Record<string, unknown>;
      assert.deepEqual([environment[STEP_ENV.step], environment[STEP_ENV.color]], [STEP.switch, color]);
      const triggers = run.inputs.triggers as unknown[];
      assert.equal(triggers[0], color);
      assert.deepEqual(
        triggers[3],
        [0, 1, 2].map((replica) => `service-${color}-${replica}-id`),
      );
    }
  });

  it("exports the proxy URL and the gate report; the active color, release and image stay the config's", async () => {
    const { outputs } = await program("local");
    assert.equal(outputs.proxyUrl, "http://127.0.0.1:18080/");
    assert.deepEqual(outputs.gateReport, [], "empty under mocks: the gate prints it when it runs");
    assert.deepEqual(
      [outputs.activeColor, outputs.activeRelease, outputs.activeImage],
      ["blue", "v1", "greenlight-sample:v1"],
    );
  });

  it("refuses a gate of another color or release than the one it activates", async () => {
    const mismatch = await fixture("gate-other-color");
    assert.match(
      mismatch.ok ? "" : mismatch.message,
      /TrafficSwitch switch: args\.gate "blue\/r1" is invalid: expected the gate of green\/r2/,
    );
  });
});
