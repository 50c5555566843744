import { strict as assert } from "assert";
import { containerLimits } from "../../policies/container-limits";
import { LABEL, RESOURCE } from "../../contract/resources";
import { omit, resourceArgs, resourceViolations } from "./support/args";

const APP = {
  image: "shop@sha256:" + "a".repeat(64),
  memory: 512,
  cpus: "1",
  labels: [{ label: LABEL.app, value: "shop" }],
  healthcheck: { tests: ["CMD", "/usr/bin/node", "-e", "probe"], interval: "5s" },
};
const app = (props: Record<string, unknown>) =>
  resourceArgs(RESOURCE.container, props, { name: "service-blue-0" });

describe("policies/container-limits", () => {
  it("passes an app container with memory, CPU and a healthcheck", async () => {
    assert.deepEqual(await resourceViolations(containerLimits, app(APP)), []);
  });

  it("fails each missing limit, naming the config key that sets it", async () => {
    const bare = omit(APP, "memory", "cpus", "healthcheck");
    assert.deepEqual(await resourceViolations(containerLimits, app(bare)), [
      "app container service-blue-0 (docker:index/container:Container) has no memory limit; set memory (MB) from greenlight:memoryMb.",
      "app container service-blue-0 (docker:index/container:Container) has no CPU limit; set cpus from greenlight:cpus.",
      'app container service-blue-0 (docker:index/container:Container) has no healthcheck; give it one (["CMD", …] probing the health path) so Docker and the health gate can judge it.',
    ]);
  });

  it("fails memory below the configured minimum", async () => {
    const messages = await resourceViolations(containerLimits, app({ ...APP, memory: 32 }), {
      config: { minMemoryMb: 64 },
    });
    assert.deepEqual(messages, [
      "app container service-blue-0 (docker:index/container:Container) has a memory limit of 32 MB, below 64 MB; raise greenlight:memoryMb.",
    ]);
  });

  it("accepts a CPU quota instead of cpus", async () => {
    const withoutCpus = omit(APP, "cpus");
    assert.deepEqual(
      await resourceViolations(containerLimits, app({ ...withoutCpus, cpuQuota: 50000, cpuPeriod: 100000 })),
      [],
    );
  });

  it("fails a healthcheck of NONE, unless healthchecks are not required", async () => {
    const none = app({ ...APP, healthcheck: { tests: ["NONE"] } });
    assert.match((await resourceViolations(containerLimits, none))[0], /has no healthcheck/);
    assert.deepEqual(
      await resourceViolations(containerLimits, none, { config: { requireHealthcheck: false } }),
      [],
    );
  });

  it("reads labels given as a map too", async () => {
    const noMemory = omit(APP, "memory");
    const messages = await resourceViolations(
      containerLimits,
      app({ ...noMemory, labels: { [LABEL.app]: "shop" } }),
    );
    assert.match(messages[0], /has no memory limit/);
  });

  it("leaves containers that are not the app's alone", async () => {
    assert.deepEqual(
      await resourceViolations(
        containerLimits,
        app({ image: "postgres:15", labels: [{ label: "other", value: "x" }] }),
      ),
      [],
    );
    assert.deepEqual(
      await resourceViolations(
        containerLimits,
        resourceArgs(RESOURCE.command, { labels: [{ label: LABEL.app }] }),
      ),
      [],
    );
  });
});
