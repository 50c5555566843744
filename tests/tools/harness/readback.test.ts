// The providers' read-back rules (tools/harness/readback): every type the program registers has them,
// each with its source; they catch a value the provider stores differently from the config (the cpus
// "2" → "2.0" replacement on every update); and, against a real Docker engine, the docker provider's
// Read mapping (resource_docker_container_funcs.go:750-981) of what Docker stores gives what the rules say.
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { dockerCpusReadBack, goDuration } from "../../../contract/docker";
import { RESOURCE } from "../../../contract/resources";
import { READBACK_RULES, readBack, rulesFor } from "../../../tools/harness/readback";
import { TABLE_END, TABLE_START, readbackTable } from "../../../tools/harness/readback/table";
import { RecordedResource, runProgram } from "../../../tools/harness/run";
import { updateDiff } from "../../../tools/plan/steps";
import { ensureDocker } from "../../support/docker";
import { needService } from "../../support/service";

const AT = "2026-12-02T11:00:00Z";

async function resourcesOf(stack: string): Promise<RecordedResource[]> {
  const run = await runProgram({ stack, at: AT });
  assert.ok(run.ok, run.ok ? "" : run.message);
  return run.resources;
}

/** The app containers (not the hosts' proxies) of a run. */
const appContainers = (resources: RecordedResource[]) =>
  resources.filter((resource) => resource.type === RESOURCE.container && /^service-/.test(resource.name));

/** A run as the code before the fix registered it: `change` applied to every app container's inputs. */
function withContainers(
  resources: RecordedResource[],
  change: (inputs: Record<string, unknown>) => Record<string, unknown>,
): RecordedResource[] {
  return resources.map((resource) =>
    appContainers([resource]).length > 0 ? { ...resource, inputs: change(resource.inputs) } : resource,
  );
}

describe("the providers' read-back rules", function () {
  this.timeout(300_000);
  let production: RecordedResource[];
  before(async () => {
    production = await resourcesOf("production");
  });

  it("cover every provider resource type and every input the three stacks register, each rule with its source", async () => {
    const types = new Set<string>();
    for (const stack of ["local", "staging", "production"]) {
      for (const resource of await resourcesOf(stack)) {
        if (!resource.custom) continue;
        types.add(resource.type);
        const rules = rulesFor(resource.type);
        for (const property of Object.keys(resource.inputs))
          assert.ok(rules.properties[property], `${resource.type}.${property} has a rule`);
        assert.doesNotThrow(() => readBack(resource.type, resource.name, resource.inputs));
      }
    }
    assert.ok(types.size >= 20, `${types.size} types`);
    for (const rules of READBACK_RULES) {
      assert.match(rules.version, /\d/, `${rules.type}: the provider version the rules were read at`);
      for (const [property, rule] of Object.entries(rules.properties))
        assert.match(
          rule.source,
          /^[\w.-]+\/[\w.-]+[@ ]|^the SDK/,
          `${rules.type}.${property}: ${rule.source}`,
        );
    }
    assert.throws(
      () => rulesFor("docker:index/service:Service"),
      /no read-back rules for docker:index\/service:Service/,
    );
    assert.throws(
      () => readBack(RESOURCE.container, "x", { name: "x", image: "i", gpus: "all" }),
      /no read-back rule for docker:index\/container:Container\.gpus/,
    );
  });

  it("are the table docs/engine.md shows, row for row", () => {
    const text = fs.readFileSync(path.join(__dirname, "..", "..", "..", "docs", "engine.md"), "utf8");
    const start = text.indexOf(TABLE_START);
    const end = text.indexOf(TABLE_END);
    assert.ok(start >= 0 && end > start, "docs/engine.md holds the read-back table's markers");
    const shown = text.slice(start + TABLE_START.length, end).trim();
    assert.equal(
      shown,
      readbackTable(),
      `docs/engine.md's read-back table drifted; it should read:\n${readbackTable()}`,
    );
  });

  it('catch the cpus case: config "2" is stored as "2.0", so every update would replace both colors\' containers and run gate and switch again', () => {
    const before = withContainers(production, (inputs) => ({ ...inputs, cpus: "2" }));
    assert.equal(readBack(RESOURCE.container, "c", appContainers(before)[0].inputs).cpus, "2.0");
    const { resources } = updateDiff(before, before);
    const replaced = resources.filter((change) => change.action === "replace").map((change) => change.name);
    for (const container of appContainers(production))
      assert.ok(replaced.includes(container.name), container.name);
    for (const change of resources.filter((entry) =>
      appContainers(production).some((c) => c.urn === entry.urn),
    ))
      assert.deepEqual(
        change.properties.map((property) => [property.property, property.apply]),
        [["cpus", "replace"]],
        change.name,
      );
    assert.ok(replaced.includes("switch-run") && replaced.some((name) => /^gate-blue-/.test(name)));
    // The program passes the read-back form, so the same run against its own state changes nothing.
    assert.deepEqual(
      updateDiff(production, production).resources.filter((change) => change.action !== "same"),
      [],
    );
    assert.ok(appContainers(production).every((container) => container.inputs.cpus === "2.0"));
  });

  it("catch an unset memorySwap: Docker stores twice the memory limit, and the provider would update it back every time", () => {
    const before = withContainers(production, ({ memorySwap: _unset, ...inputs }) => inputs);
    const changes = updateDiff(before, before).resources.filter((change) => change.action !== "same");
    assert.equal(changes.length, appContainers(production).length, "only the app containers change");
    for (const change of changes) {
      assert.equal(change.action, "update", `${change.name}: docker update keeps the container`);
      assert.deepEqual(
        change.properties.map((property) => [property.property, property.apply]),
        [["memorySwap", "update"]],
      );
    }
  });

  it("catch a duration the provider writes back in another form (60s → 1m0s) and a healthcheck it would never apply", () => {
    const before = withContainers(production, (inputs) => ({
      ...inputs,
      healthcheck: { ...(inputs.healthcheck as object), interval: "60s" },
    }));
    const stored = readBack(RESOURCE.container, "c", appContainers(before)[0].inputs).healthcheck as Record<
      string,
      unknown
    >;
    assert.equal(stored.interval, "1m0s");
    assert.equal(stored.startInterval, "0s", "a default the provider fills in");
    const changes = updateDiff(before, before).resources.filter(
      (change) => change.type === RESOURCE.container && change.action !== "same",
    );
    // Not ForceNew and not in Update: only greenlight's replaceOnChanges makes it take effect.
    assert.ok(changes.length > 0 && changes.every((change) => change.action === "replace"));
    const withoutReplace = before.map((resource) => ({ ...resource, replaceOnChanges: [] }));
    const { refusals } = updateDiff(withoutReplace, withoutReplace);
    assert.ok(
      refusals.some((refusal) =>
        /healthcheck.interval: "1m0s" → "60s" would change in the state only — the provider records a new healthcheck but the running container keeps its old one/.test(
          refusal,
        ),
      ),
      refusals.join("\n"),
    );
  });

  it("show a change the provider only records as such: no container is touched and no step runs", () => {
    const after = withContainers(production, (inputs) => ({ ...inputs, destroyGraceSeconds: 60 }));
    const { resources, steps, refusals } = updateDiff(production, after);
    const changed = resources.filter((change) => change.action !== "same");
    assert.equal(changed.length, appContainers(production).length);
    for (const change of changed) {
      assert.equal(change.action, "update");
      assert.equal(change.stateOnly, true);
      assert.deepEqual(
        change.properties.map((property) => [property.property, property.apply]),
        [["destroyGraceSeconds", "state"]],
      );
    }
    assert.deepEqual(
      steps.filter((step) => step.runs),
      [],
    );
    assert.match(
      steps.find((step) => step.step === "blue containers")?.reasons[0] ?? "",
      /changes in the state only: destroyGraceSeconds: 30 → 60 \(state only\)/,
    );
    assert.deepEqual(refusals, []);
  });

  describe("against a real Docker engine", () => {
    const name = `greenlight-readback-${process.pid}`;
    const image = `greenlight-readback-probe:${process.pid}`;
    before(async function () {
      await needService(this, "Docker", ensureDocker);
      const empty = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-readback-"));
      const tar = execFileSync("tar", ["-C", empty, "-c", "."]);
      execFileSync("docker", ["import", "-", image], { input: tar, stdio: ["pipe", "ignore", "inherit"] });
      fs.rmSync(empty, { recursive: true, force: true });
    });
    after(() => {
      execFileSync("sh", [
        "-c",
        `docker rm -f ${name} >/dev/null 2>&1; docker rmi ${image} >/dev/null 2>&1; true`,
      ]);
    });

    it("the provider's Read of what Docker stores for an app container equals the rules' read-back of its inputs", () => {
      const container = appContainers(production)[0];
      const inputs: Record<string, unknown> = {
        ...container.inputs,
        healthcheck: { ...(container.inputs.healthcheck as object), interval: "60s" },
      };
      const health = inputs.healthcheck as Record<string, unknown>;
      const logOpts = inputs.logOpts as Record<string, string>;
      const seconds = (text: unknown) => String(text);
      execFileSync(
        "docker",
        [
          "create",
          "--name",
          name,
          "--memory",
          `${String(inputs.memory)}m`,
          "--memory-swap",
          `${String(inputs.memorySwap)}m`,
          "--cpus",
          String(inputs.cpus),
          "--restart",
          String(inputs.restart),
          "--log-driver",
          String(inputs.logDriver),
          ...Object.entries(logOpts).flatMap(([key, value]) => ["--log-opt", `${key}=${value}`]),
          "--health-cmd",
          "true",
          "--health-interval",
          seconds(health.interval),
          "--health-timeout",
          seconds(health.timeout),
          "--health-start-period",
          seconds(health.startPeriod),
          "--health-retries",
          String(health.retries),
          image,
          "/probe",
        ],
        { stdio: "ignore" },
      );
      const [inspect] = JSON.parse(execFileSync("docker", ["inspect", name]).toString()) as {
        HostConfig: Record<string, unknown> & {
          LogConfig: { Type: string; Config: Record<string, string> };
          RestartPolicy: { Name: string };
        };
        Config: { Healthcheck: { Interval: number; Timeout: number; StartPeriod: number; Retries: number } };
      }[];
      const mb = (bytes: unknown) => Number(bytes) / 1024 / 1024;
      const duration = (nanos: number) => goDuration(nanos / 1e9);
      // resource_docker_container_funcs.go: 932 memory, 940-944 memory_swap, 946-948 cpus, 857 restart,
      // 951-952 log driver and options, 960-971 healthcheck.
      const read = {
        memory: mb(inspect.HostConfig.Memory),
        memorySwap: mb(inspect.HostConfig.MemorySwap),
        cpus: nanoToDecimal(Number(inspect.HostConfig.NanoCpus)),
        restart: inspect.HostConfig.RestartPolicy.Name,
        logDriver: inspect.HostConfig.LogConfig.Type,
        logOpts: inspect.HostConfig.LogConfig.Config,
        interval: duration(inspect.Config.Healthcheck.Interval),
        timeout: duration(inspect.Config.Healthcheck.Timeout),
        startPeriod: duration(inspect.Config.Healthcheck.StartPeriod),
        retries: inspect.Config.Healthcheck.Retries,
      };
      const state = readBack(RESOURCE.container, container.name, inputs);
      const storedHealth = state.healthcheck as Record<string, unknown>;
      assert.deepEqual(read, {
        memory: state.memory,
        memorySwap: state.memorySwap,
        cpus: state.cpus,
        restart: state.restart,
        logDriver: state.logDriver,
        logOpts: state.logOpts,
        interval: storedHealth.interval,
        timeout: storedHealth.timeout,
        startPeriod: storedHealth.startPeriod,
        retries: storedHealth.retries,
      });
      assert.equal(read.interval, "1m0s");
      // Docker's default swap (twice the memory), which the rules fill in when memorySwap is unset.
      execFileSync("docker", ["rm", "-f", name], { stdio: "ignore" });
      execFileSync("docker", ["create", "--name", name, "--memory", "256m", image, "/probe"], {
        stdio: "ignore",
      });
      const [bare] = JSON.parse(execFileSync("docker", ["inspect", name]).toString()) as {
        HostConfig: { MemorySwap: number };
      }[];
      assert.equal(
        mb(bare.HostConfig.MemorySwap),
        readBack(RESOURCE.container, "c", { name: "c", image, memory: 256 }).memorySwap,
      );
    });
  });
});

/** NanoCpus as the provider writes it (helpers.go:133-150), from Docker's own number. */
function nanoToDecimal(nano: number): string | undefined {
  return dockerCpusReadBack(`${Math.floor(nano / 1e9)}.${String(nano % 1e9).padStart(9, "0")}`);
}
