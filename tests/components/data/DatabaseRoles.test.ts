import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import {
  APP_SEQUENCE_PRIVILEGES,
  APP_TABLE_PRIVILEGES,
  defaultSslMode,
} from "../../../components/data/DatabaseRoles";
import { COMPONENT, RESOURCE } from "../../../contract/resources";
import { RecordedResource } from "../../../tools/harness/run";
import { fixture, isSecretMarker, named, ofType, program } from "./support";

const SCHEMA = "postgresql:index/schema:Schema";
const PROJECT_DIR = path.join(__dirname, "..", "..", "..");

/** Every grant and default privilege the app role gets, as "objectType:privileges". */
function appPrivileges(resources: RecordedResource[]): string[] {
  return resources
    .filter(
      (resource) => resource.type === RESOURCE.pgGrant || resource.type === RESOURCE.pgDefaultPrivileges,
    )
    .filter((resource) => resource.inputs.role === "shop_app")
    .map(
      (resource) =>
        `${resource.type === RESOURCE.pgDefaultPrivileges ? "default " : ""}${String(resource.inputs.objectType)}:${(resource.inputs.privileges as string[]).join(",")}`,
    )
    .sort();
}

describe("DatabaseRoles: pure parts", () => {
  it("turns TLS off only for loopback hosts", () => {
    assert.equal(defaultSslMode("127.0.0.1"), "disable");
    assert.equal(defaultSslMode("localhost"), "disable");
    assert.equal(defaultSslMode("db.prod.internal"), "require");
    assert.equal(defaultSslMode("10.0.0.5"), "require");
  });
});

describe("DatabaseRoles in the real program (mocks)", function () {
  this.timeout(120_000);

  it("connects through its own PostgreSQL provider as the admin, the password a secret", async () => {
    const production = await program("production");
    const provider = named(production.resources, "roles-provider");
    assert.equal(provider.type, "pulumi:providers:postgresql");
    assert.equal(provider.inputs.host, "db.prod.internal");
    assert.equal(provider.inputs.username, "greenlight_admin");
    assert.equal(provider.inputs.database, "shop");
    // verify-full against the stack's CA: the provider (lib/pq) reads it from a file, relative to the
    // project directory the engine starts providers in, named by its content.
    assert.equal(provider.inputs.sslmode, "verify-full");
    assert.match(String(provider.inputs.sslrootcert), /^\.greenlight\/db-ca\/[a-f0-9]{16}\.pem$/);
    assert.match(
      fs.readFileSync(path.join(PROJECT_DIR, String(provider.inputs.sslrootcert)), "utf8"),
      /^-----BEGIN CERTIFICATE-----\nMIIBwTCCAWigAwIBAgIUA7\+aKrdnkgfAGwyBhlfAC3NKrkcw/,
    );
    assert.ok(isSecretMarker(provider.inputs.password));
    for (const child of production.resources.filter(
      (resource) => resource.parent === named(production.resources, "roles").urn,
    )) {
      if (child.type !== provider.type)
        assert.equal(child.provider, provider.urn, `${child.name} uses the roles provider`);
    }
    const local = named((await program("local")).resources, "roles-provider");
    assert.equal(local.inputs.sslmode, "disable");
    assert.equal(
      local.inputs.password,
      undefined,
      "local trusts the admin over loopback: no password configured",
    );
  });

  it("a migrator that owns the schema and an app role with row access only, passwords secret", async () => {
    const { resources } = await program("production");
    assert.equal(named(resources, "roles").type, COMPONENT.databaseRoles);
    const migrator = named(resources, "roles-migrator");
    const app = named(resources, "roles-app");
    for (const [role, name] of [
      [migrator, "shop_migrator"],
      [app, "shop_app"],
    ] as const) {
      assert.equal(role.type, RESOURCE.pgRole);
      assert.equal(role.inputs.name, name);
      assert.equal(role.inputs.login, true);
      assert.ok(isSecretMarker(role.inputs.password), `${name} password is a secret`);
      assert.ok(role.additionalSecretOutputs.includes("password"));
      for (const power of [
        "superuser",
        "createDatabase",
        "createRole",
        "replication",
        "bypassRowLevelSecurity",
      ])
        assert.equal(role.inputs[power], false, `${name} ${power}`);
    }
    const schema = named(resources, "roles-schema");
    assert.equal(schema.type, SCHEMA);
    assert.equal(schema.inputs.name, "public");
    assert.equal(schema.inputs.owner, "shop_migrator");
    assert.deepEqual(schema.propertyDependencies.owner, [migrator.urn]);
    assert.equal(schema.inputs.dropCascade, false);

    assert.deepEqual(appPrivileges(resources), [
      `database:CONNECT`,
      `default sequence:${APP_SEQUENCE_PRIVILEGES.join(",")}`,
      `default table:${APP_TABLE_PRIVILEGES.join(",")}`,
      "schema:USAGE",
      `sequence:${APP_SEQUENCE_PRIVILEGES.join(",")}`,
      `table:${APP_TABLE_PRIVILEGES.join(",")}`,
    ]);
    const ddl = /CREATE|TRUNCATE|REFERENCES|TRIGGER|ALL/;
    assert.ok(
      !appPrivileges(resources).some((privileges) => ddl.test(privileges)),
      "no DDL for the app role",
    );
    for (const part of ["roles-app-default-tables", "roles-app-default-sequences"]) {
      const defaults = named(resources, part);
      assert.equal(defaults.inputs.owner, "shop_migrator", "for the tables the migrator creates later");
      assert.equal(defaults.inputs.schema, "public");
    }
    const publicSchema = named(resources, "roles-public-schema");
    assert.equal(publicSchema.inputs.role, "public");
    assert.deepEqual(publicSchema.inputs.privileges, [], "PUBLIC may not create objects in the schema");
    assert.deepEqual(named(resources, "roles-migrator-connect").inputs.privileges, ["CONNECT", "TEMPORARY"]);
  });

  it("production protects every role, grant and default privilege, and retains the roles and schema", async () => {
    const { resources } = await program("production");
    const stateful = resources.filter((resource) =>
      [RESOURCE.pgRole, RESOURCE.pgGrant, RESOURCE.pgDefaultPrivileges, SCHEMA].includes(
        resource.type as never,
      ),
    );
    assert.equal(stateful.length, 11);
    for (const resource of stateful) assert.equal(resource.protect, true, resource.name);
    for (const resource of ofType(resources, RESOURCE.pgRole))
      assert.equal(resource.retainOnDelete, true, resource.name);
    assert.equal(named(resources, "roles-schema").retainOnDelete, true);
  });

  it("elsewhere nothing is protected, but the schema holding the data is never dropped", async () => {
    const { resources } = await program("local");
    for (const resource of ofType(resources, RESOURCE.pgRole)) assert.equal(resource.protect, false);
    assert.equal(named(resources, "roles-schema").retainOnDelete, true);
  });

  it("takes the schema, roles and sslmode it is given", async () => {
    const run = await fixture("valid");
    assert.ok(run.ok, run.ok ? "" : run.message);
    assert.equal(named(run.resources, "roles-schema").inputs.name, "shop");
    assert.equal(named(run.resources, "roles-provider").inputs.sslmode, "verify-full");
    assert.equal(named(run.resources, "roles-app-tables").inputs.schema, "shop");
  });

  for (const [testCase, message] of [
    [
      "same-roles",
      /DatabaseRoles roles: args\.appRole "shop_migrator" is invalid: expected a role other than the migrator/,
    ],
    ["bad-sslmode", /DatabaseRoles roles: args\.sslmode "maybe" is invalid/],
    [
      "no-root-cert",
      /DatabaseRoles roles: args\.sslRootCert undefined is invalid: expected the CA certificate as PEM text with sslmode verify-full/,
    ],
  ] as const) {
    it(`refuses ${testCase} before registering a role`, async () => {
      const run = await fixture(testCase);
      assert.equal(run.ok, false);
      assert.match(run.ok ? "" : run.message, message);
      assert.equal(run.resources.filter((resource) => resource.type === RESOURCE.pgRole).length, 0);
    });
  }
});
