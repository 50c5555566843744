import { strict as assert } from "assert";
import { execFile } from "child_process";
import * as http from "http";
import { AddressInfo } from "net";
import { nodeProbe } from "../../../components/release/ColorSlot";
import { LABEL, RESOURCE } from "../../../contract/resources";
import { isSecretMarker } from "../../../tools/harness/run";
import {
  ONE_MACHINE,
  dependencyNames,
  fixture,
  flagsOf,
  named,
  ofType,
  program,
  validFixture,
} from "./support";

describe("ColorSlot (mocks)", function () {
  this.timeout(120_000);

  it("every app container carries memory and CPU limits, a node healthcheck, labels, log rotation, a restart policy and waits for healthy", async () => {
    const { resources } = await program("production", ONE_MACHINE);
    for (const container of ofType(resources, RESOURCE.container)) {
      const { inputs } = container;
      const [, color, replica] = /^service-(blue|green)-(\d)$/.exec(container.name) ?? [];
      assert.equal(inputs.memory, 1024);
      // In the form the docker provider reads back (config "2" is stored as "2.0"), and Docker's own swap.
      assert.equal(inputs.cpus, "2.0");
      assert.equal(inputs.memorySwap, 2048);
      // Deleted with time to drain, and replaced when its healthcheck changes (the provider never applies one).
      assert.equal(inputs.destroyGraceSeconds, 30);
      assert.deepEqual(container.replaceOnChanges, ["healthcheck"]);
      assert.equal(inputs.name, `shop-production-${color}-${replica}`);
      const healthcheck = inputs.healthcheck as Record<string, unknown>;
      const tests = healthcheck.tests as string[];
      assert.deepEqual(tests.slice(0, 3), ["CMD", "/usr/bin/node", "-e"]);
      assert.match(tests[3], /http:\/\/127\.0\.0\.1:3000\/health/);
      assert.ok(!tests.join(" ").includes("curl"), "no curl in a FROM-scratch image");
      assert.deepEqual(
        { interval: healthcheck.interval, timeout: healthcheck.timeout, retries: healthcheck.retries },
        { interval: "5s", timeout: "3s", retries: 5 },
        "the blue-green deployment procedures' 5 s / 3 s / 5",
      );
      assert.equal(inputs.wait, true);
      assert.equal(inputs.waitTimeout, 120);
      assert.equal(inputs.restart, "unless-stopped");
      assert.equal(inputs.logDriver, "json-file");
      assert.deepEqual(inputs.logOpts, { "max-file": "3", "max-size": "10m" });
      const release = color === "blue" ? "2026.11.20-2" : "2026.11.18-1";
      assert.deepEqual(inputs.labels, [
        { label: LABEL.app, value: "shop" },
        { label: LABEL.color, value: color },
        { label: LABEL.release, value: release },
        { label: LABEL.stack, value: "production" },
      ]);
      assert.match(String(inputs.image), /^registry\.example\.com\/shop@sha256:[a-f0-9]{64}$/);
    }
  });

  it("bridge mode publishes replica i on 127.0.0.1:hostPort+i; host mode gives each replica PORT=hostPort+i", async () => {
    const production = await program("production", ONE_MACHINE);
    assert.deepEqual(
      [0, 1, 2].map((replica) => named(production.resources, `service-green-${replica}`).inputs.ports),
      [8091, 8092, 8093].map((external) => [{ external, internal: 3000, ip: "127.0.0.1" }]),
    );
    const local = await program("local");
    const blue = named(local.resources, "service-blue-0").inputs;
    assert.equal(blue.networkMode, "host");
    assert.equal(blue.ports, undefined, "nothing to publish on the host network");
    assert.match((blue.healthcheck as { tests: string[] }).tests[3], /127\.0\.0\.1:18081\/health/);
  });

  it("secrets stay secret: DATABASE_URL and secret env only as secret markers, plain env and feature toggles readable", async () => {
    const { resources } = await validFixture();
    const envs = named(resources, "svc-green-1").inputs.envs as unknown[];
    const plain = envs.filter((entry): entry is string => typeof entry === "string");
    assert.deepEqual(plain, [
      "PORT=3000",
      "APP_COLOR=green",
      "RELEASE_ID=r2",
      "CORS_ORIGIN=https://shop.example.com",
      "FEATURE_NEW_CHECKOUT=true",
    ]);
    assert.equal(envs.filter(isSecretMarker).length, 3, "DATABASE_URL, API_TOKEN, SESSION_SECRET");
    assert.ok(!JSON.stringify(envs).includes("p@ss"), "the password never appears");
    assert.ok(!JSON.stringify(envs).includes("DATABASE_URL"), "DATABASE_URL exists only inside a secret");
    // The real program passes each secret env entry as its own secret: plain settings stay readable.
    const { resources: real } = await program("production", ONE_MACHINE);
    const realEnvs = named(real, "service-blue-0").inputs.envs as unknown[];
    assert.ok(realEnvs.includes("FEATURE_NEW_CHECKOUT=false"));
    assert.ok(realEnvs.includes("CORS_ORIGIN=https://shop.example.com"));
    assert.equal(realEnvs.filter(isSecretMarker).length, 2, "DATABASE_URL and SESSION_SECRET");
    assert.ok(
      !JSON.stringify(realEnvs).includes("SESSION_SECRET="),
      "the secret's name=value pair is inside the secret",
    );
  });

  it("checks the image is on the Docker host before creating containers", async () => {
    const { resources } = await validFixture();
    const imageCheck = named(resources, "svc-green-image");
    assert.equal(imageCheck.type, RESOURCE.command);
    assert.deepEqual(flagsOf(String(imageCheck.inputs.create)), { image: ["shop:r2"], "no-pull": [""] });
    assert.deepEqual(imageCheck.inputs.triggers, ["shop:r2"]);
    for (const replica of [0, 1]) {
      assert.ok(
        dependencyNames(resources, named(resources, `svc-green-${replica}`)).includes("svc-green-image"),
      );
    }
    const local = await program("local");
    assert.equal(
      flagsOf(String(named(local.resources, "service-blue-image").inputs.create))["no-pull"],
      undefined,
    );
  });

  it("refuses an env name greenlight sets itself, naming the slot and the value", async () => {
    const clash = await fixture("env-clash");
    assert.match(
      clash.ok ? "" : clash.message,
      /ColorSlot svc-blue: args\.env "PORT" is invalid: expected a name greenlight does not set itself/,
    );
  });

  it("the healthcheck probe exits 0 on a 200 and 1 otherwise, in node alone (no shell, no curl)", async () => {
    let status = 200;
    const server = http.createServer((request, response) => {
      response.statusCode = request.url === "/health" ? status : 404;
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    const [binary, flag, script] = nodeProbe(port, "/health");
    assert.deepEqual([binary, flag], ["/usr/bin/node", "-e"]);
    const exitCode = () =>
      new Promise<number>((resolve) =>
        execFile(process.execPath, ["-e", script], { timeout: 5000 }, (error) =>
          resolve(error ? Number((error as { code?: number }).code ?? 1) : 0),
        ),
      );
    try {
      assert.equal(await exitCode(), 0);
      status = 503;
      assert.equal(await exitCode(), 1);
    } finally {
      server.close();
    }
    assert.equal(await exitCode(), 1, "nothing listening: exit 1");
  });
});
