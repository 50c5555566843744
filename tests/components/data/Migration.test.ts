import { strict as assert } from "assert";
import { migrateCommandLine, migrationSummary } from "../../../components/data/Migration";
import { COMPONENT, RESOURCE, STEP, STEP_ENV } from "../../../contract/resources";
import { childrenIndex, dependencyClosure } from "../../../policies/lib/graph";
import { RecordedResource } from "../../../tools/harness/run";
import {
  dependencyNames,
  environmentOf,
  fixture,
  isSecretMarker,
  named,
  plainEntries,
  program,
} from "./support";

interface Node {
  type: string;
  urn: string;
  name: string;
  props: Record<string, unknown>;
  parent?: Node;
  dependencies: Node[];
}

/** The recorded graph as the policy pack's graph helpers read it. */
function graphOf(resources: RecordedResource[]): Map<string, Node> {
  const nodes = new Map<string, Node>(
    resources.map((resource) => [
      resource.urn,
      {
        type: resource.type,
        urn: resource.urn,
        name: resource.name,
        props: resource.inputs,
        dependencies: [],
      },
    ]),
  );
  for (const resource of resources) {
    const node = nodes.get(resource.urn) as Node;
    node.parent = resource.parent ? nodes.get(resource.parent) : undefined;
    node.dependencies = resource.dependencies.flatMap((urn) => nodes.get(urn) ?? []);
  }
  return nodes;
}

describe("Migration: pure parts", () => {
  it("passes the migration command as one JSON word", () => {
    assert.equal(
      migrateCommandLine({
        ...{ bucket: "b-1", prefix: "db", stack: "s", release: "v2", image: "shop:v2" },
        ...{ command: ["bin/rails", "db:migrate"], network: "host", timeoutSeconds: 900 },
      }),
      `node bin/greenlight-ops.js migrate --bucket b-1 --prefix db --stack s --release v2 --image shop:v2 --command-json '["bin/rails","db:migrate"]' --network host --timeout-seconds 900`,
    );
  });

  it("reads the record the step printed; nothing from an empty stdout", () => {
    const line = JSON.stringify({
      id: 3,
      release: "v2",
      outcome: "succeeded",
      backupKey: "db/local/v2/20261125T110000Z.dump",
      startedAt: "2026-11-25T11:01:00.000Z",
      finishedAt: "2026-11-25T11:01:02.000Z",
      durationSeconds: 2,
      error: null,
    });
    assert.deepEqual(migrationSummary(line), {
      release: "v2",
      outcome: "succeeded",
      backupKey: "db/local/v2/20261125T110000Z.dump",
      startedAt: "2026-11-25T11:01:00.000Z",
      finishedAt: "2026-11-25T11:01:02.000Z",
      durationSeconds: 2,
    });
    assert.equal(migrationSummary(""), undefined);
  });
});

describe("Migration in the real program (mocks)", function () {
  this.timeout(120_000);

  it("runs after the backup and its drill (directly and through the backup component), and after the roles", async () => {
    const { resources } = await program("production");
    const component = named(resources, "migration");
    assert.equal(component.type, COMPONENT.migration);
    const run = named(resources, "migration-run");
    assert.equal(run.parent, component.urn);
    const direct = dependencyNames(resources, run);
    for (const name of ["backup-run", "backup-restore-drill"])
      assert.ok(direct.includes(name), `waits for ${name}`);
    assert.ok(
      dependencyNames(resources, component).includes("roles-migrator"),
      "the migrator role exists first",
    );

    const nodes = graphOf(resources);
    const closure = dependencyClosure(nodes.get(run.urn) as Node, childrenIndex([...nodes.values()]));
    const closureNames = [...closure].map((node) => node.name);
    for (const name of [
      "backup-run",
      "backup-restore-drill",
      "backups-bucket",
      "roles-migrator",
      "roles-app-tables",
    ])
      assert.ok(closureNames.includes(name), `transitively waits for ${name}`);
  });

  it("runs `greenlight-ops migrate` for the release's image and command, marked as a migration of that release", async () => {
    const { resources } = await program("local");
    const run = named(resources, "migration-run");
    assert.equal(run.type, RESOURCE.command);
    assert.equal(
      run.inputs.create,
      `node bin/greenlight-ops.js migrate --bucket shop-backups-local --prefix greenlight --stack local --release v1 --image greenlight-sample:v1 --command-json '["node","/app/migrate.js"]' --network host --timeout-seconds 900`,
    );
    const environment = environmentOf(run);
    assert.deepEqual(
      Object.fromEntries(
        Object.entries(plainEntries(environment)).filter(([name]) => name.startsWith("GREENLIGHT_")),
      ),
      {
        [STEP_ENV.step]: STEP.migrate,
        [STEP_ENV.release]: "v1",
        [STEP_ENV.verify]: "true",
        GREENLIGHT_S3_ENDPOINT: "http://127.0.0.1:4569",
        GREENLIGHT_IMAGE: "greenlight-sample:v1",
      },
    );
    assert.ok(isSecretMarker(environment.DATABASE_URL), "the migrator's connection string is a secret");
    assert.deepEqual(
      run.inputs.triggers,
      ["v1", "greenlight-sample:v1"],
      "each release (or image) migrates once",
    );
  });

  it("follows the app's network: the default bridge network and the app-facing database host in production", async () => {
    const { resources } = await program("production");
    const run = named(resources, "migration-run");
    assert.match(String(run.inputs.create), / --network bridge --timeout-seconds 900$/);
    assert.match(
      String(run.inputs.create),
      / --release 2026\.11\.20-2 --image registry\.example\.com\/shop@sha256:4f53/,
    );
    const fixed = await fixture("valid");
    assert.ok(fixed.ok, fixed.ok ? "" : fixed.message);
    const custom = named(fixed.resources, "migration-run");
    assert.match(
      String(custom.inputs.create),
      /--command-json '\["bin\/rails","db:migrate"\]' --network shop-net --timeout-seconds 600$/,
    );
    assert.deepEqual(custom.inputs.triggers, ["r2", "registry.example.com/shop:r2"]);
  });

  for (const [testCase, message] of [
    [
      "backup-release",
      /Migration migration: args\.backup "r2" is invalid: expected the backup of release r3/,
    ],
    ["bad-command", /Migration migration: args\.command .* is invalid: expected a non-empty list of words/],
    ["bad-network", /Migration migration: args\.network "host; ls" is invalid/],
    ["short-timeout", /Migration migration: args\.timeoutSeconds 5 is invalid/],
  ] as const) {
    it(`refuses ${testCase} before registering its command`, async () => {
      const run = await fixture(testCase);
      assert.equal(run.ok, false);
      assert.match(run.ok ? "" : run.message, message);
      assert.equal(run.resources.filter((resource) => resource.name === "migration-run").length, 0);
    });
  }
});
