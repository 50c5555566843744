import { strict as assert } from "assert";
import { STEP } from "../../../contract/resources";
import {
  awaitedSteps,
  childrenIndex,
  commandEnvironment,
  dependencyClosure,
  findSteps,
} from "../../../policies/lib/graph";
import { policyResources } from "../support/args";
import { byName, releaseGraph } from "../support/release-graph";

function names(set: Set<{ name: string }>): string[] {
  return [...set].map((resource) => resource.name).sort();
}

describe("policies/lib/graph", () => {
  const resources = policyResources(releaseGraph());
  const find = (name: string) =>
    resources.find((resource) => resource.name === name) ?? assert.fail(`no ${name}`);
  const children = childrenIndex(resources);

  it("finds each step by GREENLIGHT_STEP with its environment", () => {
    const migrations = findSteps(resources, STEP.migrate);
    assert.deepEqual(
      migrations.map(({ resource }) => resource.name),
      ["migration-run"],
    );
    assert.equal(migrations[0].env.GREENLIGHT_RELEASE, "2026.11.20-2");
    assert.deepEqual(
      findSteps(resources, STEP.switch).map(({ resource }) => resource.name),
      ["switch-run"],
    );
  });

  it("reads only string entries of a command's environment", () => {
    const backup = commandEnvironment(find("backup-run"));
    assert.equal(backup.PGHOST, "db.prod.internal");
    assert.equal("PGPASSWORD" in backup, false, "a secret marker is not a string");
    assert.deepEqual(commandEnvironment(find("service-blue-0")), {}, "containers are not commands");
  });

  it("walks dependencies transitively, into components depended on, and through the parent's dependencies", () => {
    const closure = names(dependencyClosure(find("switch-run"), children));
    assert.ok(closure.includes("gate-blue-run"), closure.join());
    assert.ok(closure.includes("service-blue-0") && closure.includes("service-blue-1"));
    assert.ok(closure.includes("switch"), "its parent, registration only");
    assert.ok(closure.includes("gate-blue"), "the parent's dependsOn");
    assert.ok(!closure.includes("backup-run"), "nothing the switch does not wait for");
  });

  it("finds the steps a command waits for, and only those", () => {
    const gates = awaitedSteps(find("switch-run"), children, STEP.healthGate);
    assert.deepEqual(
      gates.map(({ resource, env }) => [resource.name, env.GREENLIGHT_COLOR]),
      [["gate-blue-run", "blue"]],
    );
    assert.deepEqual(awaitedSteps(find("switch-run"), children, STEP.backup), []);
    assert.deepEqual(
      awaitedSteps(find("migration-run"), children, STEP.backup).map(({ resource }) => resource.name),
      ["backup-run"],
    );
  });

  it("does not walk into siblings through a parent", () => {
    const graph = releaseGraph();
    byName(graph, "backup-run").parent = byName(graph, "migration").urn;
    byName(graph, "migration-run").dependencies = [];
    byName(graph, "migration").dependencies = [];
    const tampered = policyResources(graph);
    const migration = tampered.find((resource) => resource.name === "migration-run") ?? assert.fail();
    assert.deepEqual(names(dependencyClosure(migration, childrenIndex(tampered))), ["migration"]);
  });

  it("survives cycles", () => {
    const graph = releaseGraph();
    byName(graph, "backup-run").dependencies.push(byName(graph, "migration-run").urn);
    const cyclic = policyResources(graph);
    const migration = cyclic.find((resource) => resource.name === "migration-run") ?? assert.fail();
    assert.ok(names(dependencyClosure(migration, childrenIndex(cyclic))).includes("backup-run"));
  });
});
