import { strict as assert } from "assert";
import { COMPONENT, RESOURCE, STEP, STEP_ENV } from "../../../contract/resources";
import { isSecretMarker } from "../../../tools/harness/run";
import { ONE_MACHINE, dependencyNames, fixture, flagsOf, named, program, validFixture } from "./support";

describe("HealthGate (mocks)", function () {
  this.timeout(120_000);

  it("probes the target color's replicas directly with the configured timing, then runs its smoke checks", async () => {
    const { resources } = await program("production", ONE_MACHINE);
    const gate = named(resources, "gate-blue");
    assert.equal(gate.type, COMPONENT.healthGate);
    const run = named(resources, "gate-blue-run");
    assert.equal(run.type, RESOURCE.command);
    assert.equal(run.parent, gate.urn);
    const [gateLine, smokeLine, ...rest] = String(run.inputs.create).split(" && ");
    assert.equal(rest.length, 0);
    assert.match(gateLine, /^node bin\/greenlight-ops\.js health-gate /);
    assert.deepEqual(flagsOf(gateLine), {
      color: ["blue"],
      release: ["2026.11.20-2"],
      port: ["8081"],
      replicas: ["3"],
      host: ["127.0.0.1"],
      "health-path": ["/health"],
      "readiness-path": ["/health/ready"],
      interval: ["5"],
      timeout: ["3"],
      attempts: ["5"],
      deadline: ["120"],
    });
    assert.match(smokeLine, /^node bin\/greenlight-ops\.js smoke /);
    assert.deepEqual(flagsOf(smokeLine).check, [
      `'/ 200 text="release" maxMs=2000'`,
      `'/health 200 maxMs=500'`,
      `'/health/ready 200 maxMs=1000'`,
    ]);
    assert.ok(!gateLine.includes(":8080"), "never through the proxy port");
  });

  it("carries the step contract in plain env, the webhook only as a secret, and re-runs on the target's release, image and containers", async () => {
    const { resources } = await program("production", ONE_MACHINE);
    const { environment, triggers } = named(resources, "gate-blue-run").inputs as {
      environment: Record<string, unknown>;
      triggers: unknown[];
    };
    assert.equal(environment[STEP_ENV.step], STEP.healthGate);
    assert.equal(environment[STEP_ENV.color], "blue");
    assert.equal(environment[STEP_ENV.release], "2026.11.20-2");
    assert.equal(environment[STEP_ENV.readiness], "true");
    assert.ok(isSecretMarker(environment.GREENLIGHT_WEBHOOK_URL));
    assert.deepEqual(triggers, [
      "blue",
      "2026.11.20-2",
      "registry.example.com/shop@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
      // The containers' ids: a replaced container (a setting, a limit) runs the gate again.
      ["service-blue-0-id", "service-blue-1-id", "service-blue-2-id"],
    ]);
    const local = await program("local");
    assert.equal(
      (named(local.resources, "gate-blue-run").inputs.environment as Record<string, unknown>)
        .GREENLIGHT_WEBHOOK_URL,
      undefined,
    );
  });

  it("depends on every container of the target slot and on nothing of the warm one", async () => {
    const { resources } = await program("production", ONE_MACHINE);
    const dependencies = dependencyNames(resources, named(resources, "gate-blue-run"));
    for (const replica of [0, 1, 2])
      assert.ok(dependencies.includes(`service-blue-${replica}`), `service-blue-${replica}`);
    assert.ok(!dependencies.some((name) => name.startsWith("service-green")), dependencies.join(", "));
    const flipped = await program("production", { ...ONE_MACHINE, "greenlight:activeColor": "green" });
    const greenGate = named(flipped.resources, "gate-green-run");
    assert.match(
      String(greenGate.inputs.create),
      /--color green --release 2026\.11\.18-1 --port 8091 --replicas 3/,
    );
    assert.ok(dependencyNames(flipped.resources, greenGate).includes("service-green-2"));
  });

  it("shell-quotes smoke text so a quote in it cannot end the argument, and refuses a double quote", async () => {
    const { resources } = await validFixture();
    assert.match(
      String(named(resources, "gate-green-run").inputs.create),
      / --check '\/ 200 text="it'\\''s release r2" maxMs=500'$/,
    );
    const quoted = await fixture("quoted-smoke");
    assert.match(
      quoted.ok ? "" : quoted.message,
      /HealthGate gate-green: args\.smokeChecks\[0\]\.text "say \\"hi\\"" is invalid: expected text without double quotes/,
    );
  });
});
