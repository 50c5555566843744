import * as postgresql from "@pulumi/postgresql";
import * as pulumi from "@pulumi/pulumi";
import { COMPONENT } from "../../contract/resources";
import { SSL_MODES, SslMode, VERIFYING_SSL_MODES } from "../../contract/database-tls";
import { parseCaCertificates } from "../../schema/database-ca";
import { isLoopbackHost } from "../../contract/patterns";
import { ArgChecker } from "../arg-checker";
import { stageDatabaseCa } from "./database-ca";

export type { SslMode } from "../../contract/database-tls";

export interface DatabaseRolesArgs {
  /** PostgreSQL host the role management connects to (greenlight:dbHost). */
  host: string;
  /** PostgreSQL port (1-65535). */
  port: number;
  /** The application's database. */
  database: string;
  /** Role that manages the roles and grants (greenlight:dbAdminUser). */
  adminUser: string;
  /** TLS of the admin connection (libpq sslmode). Default: "disable" on a loopback host, "require" elsewhere. */
  sslmode?: SslMode;
  /** The CA that signed the server's certificate, as PEM text; required by verify-ca and verify-full. */
  sslRootCert?: string;
  /** Role that owns the schema and runs the migrations. */
  migratorRole: string;
  /** Role the app connects as: reads and writes rows, no DDL. */
  appRole: string;
  /** Passwords, as secrets: the admin's (unset for trust or peer authentication), the migrator's, the app's. */
  passwords: {
    dbAdminPassword?: pulumi.Input<string>;
    migratorPassword: pulumi.Input<string>;
    appPassword: pulumi.Input<string>;
  };
  /** Schema the application's tables live in. Default "public". */
  schema?: string;
  /** Protect and retain what the release cannot recreate (greenlight:protect): pulumi destroy cannot delete it. */
  protect: boolean;
}

/** Row privileges of the app role on tables, and what it needs of sequences (serial ids). */
export const APP_TABLE_PRIVILEGES = ["SELECT", "INSERT", "UPDATE", "DELETE"];
export const APP_SEQUENCE_PRIVILEGES = ["USAGE", "SELECT", "UPDATE"];

/** The default sslmode for a host: TLS off only on loopback. */
export function defaultSslMode(host: string): SslMode {
  return isLoopbackHost(host) ? "disable" : "require";
}

/**
 * The least-privilege roles of the solo founder's deployment process ("separate credentials"): a migrator role that owns the
 * schema (so only migrations change it) and an app role with row access only, on every table the
 * migrator creates now or later (default privileges FOR ROLE migrator). Passwords stay secrets.
 */
export class DatabaseRoles extends pulumi.ComponentResource {
  readonly provider: postgresql.Provider;
  readonly migrator: postgresql.Role;
  readonly app: postgresql.Role;
  readonly migratorRoleName: pulumi.Output<string>;
  readonly appRoleName: pulumi.Output<string>;

  constructor(name: string, args: DatabaseRolesArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT.databaseRoles, name, {}, opts);
    const check = new ArgChecker("DatabaseRoles", name);
    check.host("host", args.host);
    check.port("port", args.port);
    const schema = args.schema ?? "public";
    for (const [arg, value] of Object.entries({
      database: args.database,
      adminUser: args.adminUser,
      migratorRole: args.migratorRole,
      appRole: args.appRole,
      schema,
    })) {
      check.sqlIdentifier(arg, value);
    }
    check.require(
      args.migratorRole !== args.appRole,
      "appRole",
      args.appRole,
      "a role other than the migrator (the app must not own the schema)",
    );
    check.require(
      args.appRole !== args.adminUser && args.migratorRole !== args.adminUser,
      "adminUser",
      args.adminUser,
      "a role other than the migrator and app roles",
    );
    const sslmode = args.sslmode ?? defaultSslMode(args.host);
    // lib/pq, which the provider connects with, takes all six (github.com/lib/pq v1.12.3 ssl.go).
    check.require(SSL_MODES.includes(sslmode), "sslmode", sslmode, SSL_MODES.join(", "));
    check.require(
      !VERIFYING_SSL_MODES.includes(sslmode) || args.sslRootCert !== undefined,
      "sslRootCert",
      args.sslRootCert,
      `the CA certificate as PEM text with sslmode ${sslmode}`,
    );
    check.require(
      args.sslRootCert === undefined || typeof parseCaCertificates(args.sslRootCert) !== "string",
      "sslRootCert",
      args.sslRootCert?.slice(0, 40),
      "PEM text with at least one CA certificate",
    );

    this.provider = new postgresql.Provider(
      `${name}-provider`,
      {
        host: args.host,
        port: args.port,
        database: args.database,
        username: args.adminUser,
        ...(args.passwords.dbAdminPassword !== undefined
          ? { password: pulumi.secret(args.passwords.dbAdminPassword) }
          : {}),
        sslmode,
        ...(args.sslRootCert !== undefined ? { sslrootcert: stageDatabaseCa(args.sslRootCert) } : {}),
        superuser: false,
        connectTimeout: 15,
      },
      { parent: this },
    );
    const child = { parent: this, provider: this.provider, protect: args.protect };
    const kept = { ...child, retainOnDelete: args.protect };
    const loginRole = (part: string, role: string, password: pulumi.Input<string>) =>
      new postgresql.Role(
        `${name}-${part}`,
        {
          name: role,
          login: true,
          password: pulumi.secret(password),
          superuser: false,
          createDatabase: false,
          createRole: false,
          replication: false,
          bypassRowLevelSecurity: false,
        },
        { ...kept, additionalSecretOutputs: ["password"] },
      );
    this.migrator = loginRole("migrator", args.migratorRole, args.passwords.migratorPassword);
    this.app = loginRole("app", args.appRole, args.passwords.appPassword);
    this.migratorRoleName = this.migrator.name;
    this.appRoleName = this.app.name;

    // The schema holds the data: never dropped with the program, whatever the stack.
    const ownedSchema = new postgresql.Schema(
      `${name}-schema`,
      {
        name: schema,
        database: args.database,
        owner: this.migrator.name,
        ifNotExists: true,
        dropCascade: false,
      },
      { ...child, retainOnDelete: true },
    );
    const grant = (part: string, grantArgs: postgresql.GrantArgs) =>
      new postgresql.Grant(`${name}-${part}`, grantArgs, child);
    grant("migrator-connect", {
      database: args.database,
      role: this.migrator.name,
      objectType: "database",
      privileges: ["CONNECT", "TEMPORARY"],
    });
    grant("app-connect", {
      database: args.database,
      role: this.app.name,
      objectType: "database",
      privileges: ["CONNECT"],
    });
    // Nobody but the owner creates objects in the schema (PUBLIC had CREATE on public before PostgreSQL 15).
    grant("public-schema", {
      database: args.database,
      role: "public",
      schema: ownedSchema.name,
      objectType: "schema",
      privileges: [],
    });
    grant("app-schema", {
      database: args.database,
      role: this.app.name,
      schema: ownedSchema.name,
      objectType: "schema",
      privileges: ["USAGE"],
    });
    grant("app-tables", {
      database: args.database,
      role: this.app.name,
      schema: ownedSchema.name,
      objectType: "table",
      privileges: APP_TABLE_PRIVILEGES,
    });
    grant("app-sequences", {
      database: args.database,
      role: this.app.name,
      schema: ownedSchema.name,
      objectType: "sequence",
      privileges: APP_SEQUENCE_PRIVILEGES,
    });
    for (const [part, objectType, privileges] of [
      ["app-default-tables", "table", APP_TABLE_PRIVILEGES],
      ["app-default-sequences", "sequence", APP_SEQUENCE_PRIVILEGES],
    ] as const) {
      new postgresql.DefaultPrivileges(
        `${name}-${part}`,
        {
          database: args.database,
          owner: this.migrator.name,
          role: this.app.name,
          schema: ownedSchema.name,
          objectType,
          privileges: [...privileges],
        },
        child,
      );
    }
    this.registerOutputs({ migratorRoleName: this.migratorRoleName, appRoleName: this.appRoleName });
  }
}
