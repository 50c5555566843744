import { strict as assert } from "assert";
import { healthGateBeforeSwitch } from "../../policies/health-gate-before-switch";
import { STEP_ENV } from "../../contract/resources";
import type { RecordedResource } from "../../tools/harness/types";
import { violationsAfter } from "./support/args";
import { byName, releaseGraph, stepEnvironment } from "./support/release-graph";

const check = (change: (graph: RecordedResource[]) => void, config?: Record<string, unknown>) =>
  violationsAfter(healthGateBeforeSwitch, change, { graph: { color: "blue" }, config });

describe("policies/health-gate-before-switch", () => {
  it("passes a switch that waits for the readiness-checking gate of its color", async () => {
    assert.deepEqual(await check(() => undefined), []);
  });

  it("fails a switch that waits for no gate, on the switch's URN", async () => {
    const violations = await check((graph) => {
      byName(graph, "switch-run").dependencies = [];
      byName(graph, "switch").dependencies = [];
    });
    assert.deepEqual(violations, [
      {
        message:
          "traffic switch switch-run (command:local:Command) to blue does not depend on a readiness-checking health gate of blue: " +
          "it waits for no health gate at all; pass blue's HealthGate to the TrafficSwitch as a dependency.",
        urn: byName(releaseGraph(), "switch-run").urn,
      },
    ]);
  });

  it("fails when the gate does not check readiness", async () => {
    const violations = await check((graph) => {
      stepEnvironment(byName(graph, "gate-blue-run"))[STEP_ENV.readiness] = "false";
    });
    assert.match(
      violations[0].message,
      /it waits for gate gate-blue-run of blue, but that gate does not check readiness \(GREENLIGHT_CHECK_READINESS="false"\); turn the readiness check on/,
    );
  });

  it("passes a liveness-only gate when requireReadiness is off", async () => {
    const violations = await check(
      (graph) => {
        stepEnvironment(byName(graph, "gate-blue-run"))[STEP_ENV.readiness] = "false";
      },
      { requireReadiness: false },
    );
    assert.deepEqual(violations, []);
  });

  it("fails a switch to green that waits for blue's gate", async () => {
    const violations = await check((graph) => {
      stepEnvironment(byName(graph, "switch-run"))[STEP_ENV.color] = "green";
    });
    assert.match(
      violations[0].message,
      /switch-run .* to green does not depend .* it waits only for the gate of blue; make it depend on the gate of green, the color it activates/,
    );
  });

  it("follows a dependency on the HealthGate component", async () => {
    const violations = await check((graph) => {
      byName(graph, "switch-run").dependencies = [byName(graph, "gate-blue").urn];
      byName(graph, "switch").dependencies = [];
    });
    assert.deepEqual(violations, []);
  });

  it("fails a switch without a color", async () => {
    const violations = await check((graph) => {
      delete stepEnvironment(byName(graph, "switch-run"))[STEP_ENV.color];
    });
    assert.match(violations[0].message, /has no GREENLIGHT_COLOR in its environment/);
  });
});
