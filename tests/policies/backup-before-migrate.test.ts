import { strict as assert } from "assert";
import { backupBeforeMigrate } from "../../policies/backup-before-migrate";
import { STEP_ENV } from "../../contract/resources";
import type { RecordedResource } from "../../tools/harness/types";
import { policyResources, stackViolations, violationsAfter } from "./support/args";
import { byName, releaseGraph, stepEnvironment } from "./support/release-graph";

const check = (change: (graph: RecordedResource[]) => void, config?: Record<string, unknown>) =>
  violationsAfter(backupBeforeMigrate, change, { config });

describe("policies/backup-before-migrate", () => {
  it("passes a migration that waits for the verified backup of its release", async () => {
    assert.deepEqual(await check(() => undefined), []);
  });

  it("fails a migration that waits for no backup, on the migration's URN", async () => {
    const violations = await check((graph) => {
      byName(graph, "migration-run").dependencies = [];
      byName(graph, "migration").dependencies = [];
    });
    assert.deepEqual(violations, [
      {
        message:
          "migration migration-run (command:local:Command) of release 2026.11.20-2 does not depend on a verified backup of that release: " +
          "it waits for no backup at all; pass the release's DatabaseBackup to the Migration as a dependency.",
        urn: byName(releaseGraph(), "migration-run").urn,
      },
    ]);
  });

  it("fails when the backup's verification is off", async () => {
    const violations = await check((graph) => {
      stepEnvironment(byName(graph, "backup-run"))[STEP_ENV.verify] = "false";
    });
    assert.equal(violations.length, 1);
    assert.match(
      violations[0].message,
      /it waits for backup backup-run of release 2026\.11\.20-2, but its verification is off \(GREENLIGHT_VERIFY="false"\); turn verification on/,
    );
  });

  it("passes an unverified backup when requireVerifiedBackup is off", async () => {
    const violations = await check(
      (graph) => {
        delete stepEnvironment(byName(graph, "backup-run"))[STEP_ENV.verify];
      },
      { requireVerifiedBackup: false },
    );
    assert.deepEqual(violations, []);
  });

  it("fails when the only backup is of another release", async () => {
    const violations = await check((graph) => {
      stepEnvironment(byName(graph, "backup-run"))[STEP_ENV.release] = "2026.11.18-1";
    });
    assert.match(
      violations[0].message,
      /it waits only for backups of other releases \(2026\.11\.18-1\); make it depend on the backup of release 2026\.11\.20-2/,
    );
  });

  it("follows dependencies on components to the backup inside them", async () => {
    const violations = await check((graph) => {
      byName(graph, "migration-run").dependencies = [byName(graph, "backup").urn];
      byName(graph, "migration").dependencies = [];
    });
    assert.deepEqual(violations, []);
  });

  it("follows the migration's parent component, which registers only after its dependsOn", async () => {
    const violations = await check((graph) => {
      byName(graph, "migration-run").dependencies = [];
    });
    assert.deepEqual(violations, []);
  });

  it("follows chains: migration → gate → backup", async () => {
    const violations = await check((graph) => {
      const middle = byName(graph, "roles-app-tables");
      middle.dependencies = [byName(graph, "backup-run").urn];
      byName(graph, "migration-run").dependencies = [middle.urn];
      byName(graph, "migration").dependencies = [];
    });
    assert.deepEqual(violations, []);
  });

  it("does not count a backup that is merely a sibling under the same component", async () => {
    const violations = await check((graph) => {
      const backup = byName(graph, "backup-run");
      backup.parent = byName(graph, "migration").urn;
      byName(graph, "migration-run").dependencies = [];
      byName(graph, "migration").dependencies = [];
    });
    assert.equal(violations.length, 1);
    assert.match(violations[0].message, /waits for no backup at all/);
  });

  it("fails a migration without a release id", async () => {
    const violations = await check((graph) => {
      delete stepEnvironment(byName(graph, "migration-run"))[STEP_ENV.release];
    });
    assert.match(
      violations[0].message,
      /^migration migration-run \(command:local:Command\) has no GREENLIGHT_RELEASE in its environment/,
    );
  });

  it("has nothing to say about a stack without migrations", async () => {
    const graph = releaseGraph().filter((resource) => resource.name !== "migration-run");
    assert.deepEqual(await stackViolations(backupBeforeMigrate, policyResources(graph)), []);
  });
});
