// The PostgreSQL provider (@pulumi/postgresql 3.18.1, cyrilgdn/terraform-provider-postgresql bridged):
// what it stores for the roles, schema and grants greenlight creates, and what a change does. The rules
// are read at ff936b95 (v1.26.0-3), the upstream pulumi-postgresql pins after v3.18.0 (3.18.1 changes
// only the bridge).
import { TypeRules } from "./rules";

const PG = "cyrilgdn/terraform-provider-postgresql@ff936b95 postgresql";
const VERSION = "cyrilgdn/terraform-provider-postgresql v1.26.0-3 (ff936b95)";

const flag = (attr: string, lines: string, defaultValue: boolean) => ({
  apply: "update" as const,
  default: () => defaultValue,
  source: `${PG}/resource_postgresql_role.go:${lines} (${attr}: Default ${defaultValue}; ALTER ROLE)`,
});

export const role: TypeRules = {
  type: "postgresql:index/role:Role",
  diff: "state",
  version: VERSION,
  properties: {
    name: {
      apply: "update",
      source: `${PG}/resource_postgresql_role.go:58-62 (name: Required; renamed with ALTER ROLE)`,
    },
    // superuser=false on the provider: Read keeps the configured password (readRolePassword, 612-620).
    password: {
      apply: "update",
      source: `${PG}/resource_postgresql_role.go:63-69 and 612-620 (not read from pg_shadow without a superuser connection: the state keeps the config)`,
    },
    login: flag("login", "155-159", false),
    superuser: flag("superuser", "125-129", false),
    createDatabase: flag("create_database", "131-135", false),
    createRole: flag("create_role", "137-141", false),
    replication: flag("replication", "161-165", false),
    bypassRowLevelSecurity: flag("bypass_row_level_security", "167-171", false),
  },
  computed: () => ({
    connectionLimit: -1,
    encryptedPassword: true,
    inherit: true,
    validUntil: "infinity",
    skipDropRole: false,
    skipReassignOwned: false,
  }),
};

export const schema: TypeRules = {
  type: "postgresql:index/schema:Schema",
  diff: "state",
  version: VERSION,
  properties: {
    name: { apply: "update", source: `${PG}/resource_postgresql_schema.go:44-48 (ALTER SCHEMA RENAME)` },
    database: {
      apply: "replace",
      computed: true,
      source: `${PG}/resource_postgresql_schema.go:49-55 (ForceNew)`,
    },
    owner: {
      apply: "update",
      computed: true,
      source: `${PG}/resource_postgresql_schema.go:56-61 (ALTER SCHEMA OWNER)`,
    },
    ifNotExists: {
      apply: "state",
      default: () => true,
      source: `${PG}/resource_postgresql_schema.go:62-67 (Default true; Create only)`,
    },
    dropCascade: {
      apply: "state",
      default: () => false,
      source: `${PG}/resource_postgresql_schema.go:68-73 (Default false; Delete only)`,
    },
  },
};

const grantSource = (file: string, lines: string) => `${PG}/${file}:${lines}`;

export const grant: TypeRules = {
  type: "postgresql:index/grant:Grant",
  diff: "state",
  version: VERSION,
  properties: {
    role: { apply: "replace", source: grantSource("resource_postgresql_grant.go", "48-53 (ForceNew)") },
    database: { apply: "replace", source: grantSource("resource_postgresql_grant.go", "54-59 (ForceNew)") },
    schema: { apply: "replace", source: grantSource("resource_postgresql_grant.go", "60-65 (ForceNew)") },
    objectType: { apply: "replace", source: grantSource("resource_postgresql_grant.go", "66-72 (ForceNew)") },
    privileges: {
      apply: "update",
      set: true,
      source: grantSource(
        "resource_postgresql_grant.go",
        "89-95 (TypeSet, updated by REVOKE and GRANT; read back from the ACL, 282-350)",
      ),
    },
  },
  computed: () => ({ withGrantOption: false, objects: [], columns: [] }),
};

export const defaultPrivileges: TypeRules = {
  type: "postgresql:index/defaultPrivileges:DefaultPrivileges",
  diff: "state",
  version: VERSION,
  properties: {
    role: {
      apply: "replace",
      source: grantSource("resource_postgresql_default_privileges.go", "24-29 (ForceNew)"),
    },
    database: {
      apply: "replace",
      source: grantSource("resource_postgresql_default_privileges.go", "30-35 (ForceNew)"),
    },
    owner: {
      apply: "replace",
      source: grantSource("resource_postgresql_default_privileges.go", "36-41 (ForceNew)"),
    },
    schema: {
      apply: "replace",
      source: grantSource("resource_postgresql_default_privileges.go", "42-47 (ForceNew)"),
    },
    objectType: {
      apply: "replace",
      source: grantSource("resource_postgresql_default_privileges.go", "48-61 (ForceNew)"),
    },
    privileges: {
      apply: "update",
      set: true,
      source: grantSource(
        "resource_postgresql_default_privileges.go",
        "62-68 (TypeSet; ALTER DEFAULT PRIVILEGES)",
      ),
    },
  },
  computed: () => ({ withGrantOption: false }),
};

/** The PostgreSQL provider's configuration (bridge DiffConfig: a change updates the provider). */
export const postgresqlProvider: TypeRules = {
  type: "pulumi:providers:postgresql",
  diff: "inputs",
  version: "pulumi/pulumi-terraform-bridge@59de6c661",
  properties: Object.fromEntries(
    [
      "host",
      "port",
      "database",
      "username",
      "password",
      "sslmode",
      "superuser",
      "connectTimeout",
      "sslrootcert",
      "version",
    ].map((key) => [
      key,
      {
        apply: "update" as const,
        source: "pulumi/pulumi-terraform-bridge pkg/tfbridge/provider.go:796-880 (DiffConfig)",
      },
    ]),
  ),
};
