// TLS to PostgreSQL from an attacker's view: whoever sits between a data step (or the app) and the
// database must see neither the admin password nor a row. A throwaway PostgreSQL 15 with a CA made by
// openssl in the test serves TLS only (pg_hba: hostssl; hostnossl rejected), so every success below went
// over TLS; a server presenting a certificate the configured CA did not sign, or one for another name,
// is refused before anything is sent — through the real steps (backup, restore drill, migrate with its
// one-off container), libpq's tools as the steps run them, the pg client library, and the sample app.
import { strict as assert } from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { databaseUrl } from "../../components/database-url";
import { migratorDatabaseUrl } from "../../components/data/Migration";
import { databaseUrlEntry } from "../../components/release/ColorSlot";
import { DATABASE_CA_FILE } from "../../contract/database-tls";
import { RESOURCE, STEP_ENV } from "../../contract/resources";
import { connect, pgBinary } from "../../ops/lib/postgres";
import { withDatabaseTls } from "../../ops/lib/postgres/tls";
import { singleFileTar } from "../../ops/migrate/container";
import { parseStackConfig } from "../../schema/parse";
import { EXIT, plan } from "../../tools/plan";
import { RecordedResource, isSecretMarker } from "../../tools/harness/run";
import { readStackConfig } from "../../tools/harness/stack-file";
import { program } from "../components/support";
import { buildSampleImage } from "../fixtures/app/build";
import { BUCKET, backupArgs, listKeys, locationArgs, reason, runOps, stepEnv } from "../ops/support/data";
import { ensureDocker } from "../support/docker";
import { freePort } from "../support/ports";
import { PgCluster, startPostgres } from "../support/postgres";
import { S3Server, startS3 } from "../support/s3";
import { needService } from "../support/service";
import { TestCa, makeCa, makeServerCertificate } from "../support/tls";

const PROJECT_DIR = path.join(__dirname, "..", "..");
const MIGRATOR_PASSWORD = "migrator-Tls-Secret-31";
const APP_PASSWORD = "app-Tls-Secret-32";

/** Runs a program to its end: exit code and stderr. */
function run(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) =>
    execFile(file, args, { env, timeout: 60_000 }, (error, _stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stderr }),
    ),
  );
}

describe("TLS to PostgreSQL: nothing crosses the network in clear, and only the real server is answered", function () {
  this.timeout(600_000);
  let dir: string;
  let ca: TestCa;
  let otherCa: TestCa;
  let pg: PgCluster;
  let s3: S3Server;
  const images: Record<string, string> = {};
  const containers: string[] = [];

  before(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-tls-test-"));
    ca = makeCa(dir, "greenlight-test-db-ca");
    otherCa = makeCa(dir, "greenlight-test-other-ca");
    // The server's certificate names 127.0.0.1 only: "localhost" is a name it does not carry.
    const server = makeServerCertificate(dir, "db", ca, ["IP:127.0.0.1"]);
    await needService(this, "Docker", ensureDocker);
    pg = await needService(this, "PostgreSQL 15", () => startPostgres({ tls: server }));
    s3 = await needService(this, "S3-compatible server", () => startS3());
    for (const release of ["v1", "v2"]) images[release] = buildSampleImage(release).ref;
    await s3.createBucket(BUCKET);
    await pg.query("CREATE DATABASE shop");
    await pg.query(`CREATE ROLE shop_migrator LOGIN PASSWORD '${MIGRATOR_PASSWORD}'`);
    await pg.query(`CREATE ROLE shop_app LOGIN PASSWORD '${APP_PASSWORD}'`);
    await pg.query("ALTER SCHEMA public OWNER TO shop_migrator", [], "shop");
    await pg.query(
      "ALTER DEFAULT PRIVILEGES FOR ROLE shop_migrator IN SCHEMA public GRANT SELECT ON TABLES TO shop_app",
      [],
      "shop",
    );
  });
  after(async () => {
    for (const name of containers) await run("docker", ["rm", "-f", name], process.env);
    await s3?.stop();
    await pg?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The step environment the program gives a verify-full stack: PGSSLMODE and the CA as PEM text. */
  function env(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
    return stepEnv(pg, s3, "shop", {
      PGSSLMODE: "verify-full",
      GREENLIGHT_DB_CA: ca.pem,
      ...overrides,
    });
  }

  /** The migrator's DATABASE_URL as the Migration component builds it (the CA where the step puts it). */
  function migratorUrl(host = "127.0.0.1"): string {
    return databaseUrl(
      {
        host,
        port: pg.port,
        database: "shop",
        user: "shop_migrator",
        sslmode: "verify-full",
        withRootCert: true,
      },
      MIGRATOR_PASSWORD,
    );
  }

  function migrateArgs(release: string): string[] {
    return [
      "migrate",
      ...locationArgs(release),
      ...["--image", images[release], "--command-json", '["node","/app/migrate.js"]', "--network", "host"],
      ...["--timeout-seconds", "120"],
    ];
  }

  async function schemaVersions(): Promise<number[]> {
    const rows = await pg.query<{ version: number }>(
      "SELECT version FROM schema_migrations ORDER BY 1",
      [],
      "shop",
    );
    return rows.map((row) => row.version);
  }

  it("the server takes no plaintext: a step with PGSSLMODE=disable is turned away, so every success below is TLS", async () => {
    const plaintext = await runOps(
      backupArgs("v0-plaintext"),
      env({ PGSSLMODE: "disable", GREENLIGHT_DB_CA: undefined }),
    );
    assert.equal(plaintext.code, 1, plaintext.stderr);
    assert.match(reason(plaintext), /^backup: PostgreSQL refused .*no encryption/);
    assert.deepEqual(await listKeys(s3), []);
  });

  it("verify-full with the stack's CA: backup, restore drill and migration (its one-off container too) run", async () => {
    const backup = await runOps(backupArgs("v1"), env());
    assert.equal(backup.code, 0, backup.stderr);
    const drill = await runOps(["restore", ...locationArgs("v1"), "--drill"], env());
    assert.equal(drill.code, 0, drill.stderr);
    assert.equal(drill.json?.matched, true);
    const migrate = await runOps(migrateArgs("v1"), env({ DATABASE_URL: migratorUrl() }));
    assert.equal(migrate.code, 0, migrate.stderr);
    assert.equal(migrate.json?.outcome, "succeeded");
    assert.deepEqual(await schemaVersions(), [1]);
    // And again for v2, whose backup now holds v1's schema: the drill restores and compares real tables.
    assert.equal((await runOps(backupArgs("v2"), env())).code, 0);
    const drillV2 = await runOps(["restore", ...locationArgs("v2"), "--drill"], env());
    assert.equal(drillV2.code, 0, drillV2.stderr);
    assert.ok((drillV2.json?.tables as unknown[]).length >= 2, "the drill compared the migrated tables");
    const migrateV2 = await runOps(migrateArgs("v2"), env({ DATABASE_URL: migratorUrl() }));
    assert.equal(migrateV2.code, 0, migrateV2.stderr);
    assert.deepEqual(await schemaVersions(), [1, 2]);
  });

  it("the pg client library, with the steps' settings, holds an encrypted session (pg_stat_ssl)", async () => {
    const session = await withDatabaseTls(env(), async (tlsEnv) => {
      assert.ok(tlsEnv.PGSSLROOTCERT, "the CA became a file libpq can read");
      assert.equal(fs.statSync(tlsEnv.PGSSLROOTCERT).mode & 0o777, 0o600);
      const client = await connect(tlsEnv, "shop", "greenlight-tls-test");
      try {
        return (
          await client.query<{ ssl: boolean; version: string }>(
            "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
          )
        ).rows[0];
      } finally {
        await client.end();
      }
    });
    assert.equal(session.ssl, true);
    assert.match(session.version, /^TLSv1\.[23]$/);
  });

  it("a server whose certificate another CA signed is refused before the password is sent; nothing is written", async () => {
    const keysBefore = await listKeys(s3);
    const wrong = env({ GREENLIGHT_DB_CA: otherCa.pem });
    const backup = await runOps(backupArgs("v3-wrong-ca"), wrong);
    assert.equal(backup.code, 1, backup.stderr);
    assert.match(
      reason(backup),
      /^backup: the TLS certificate of PostgreSQL at postgres@127\.0\.0\.1:\d+\/shop is not signed by the configured CA \(PGSSLMODE=verify-full\): nothing was sent/,
    );
    const drill = await runOps(["restore", ...locationArgs("v2"), "--drill"], wrong);
    assert.equal(drill.code, 1, drill.stderr);
    assert.match(reason(drill), /is not signed by the configured CA/);
    const migrate = await runOps(migrateArgs("v2"), { ...wrong, DATABASE_URL: migratorUrl() });
    assert.notEqual(migrate.code, 0);
    assert.match(reason(migrate), /is not signed by the configured CA/);
    assert.deepEqual(await listKeys(s3), keysBefore, "no dump, no manifest");
    // libpq, as the steps run pg_dump and pg_restore (PGSSLMODE and PGSSLROOTCERT in their environment).
    const dump = await withDatabaseTls(wrong, (tlsEnv) =>
      run(pgBinary("pg_dump", tlsEnv), ["--schema-only", "--no-password"], tlsEnv),
    );
    assert.notEqual(dump.code, 0);
    assert.match(dump.stderr, /certificate verify failed/);
  });

  it("verify-full refuses a server name its certificate does not carry (localhost for 127.0.0.1); verify-ca accepts it", async () => {
    const byName = env({ PGHOST: "localhost" });
    const backup = await runOps(backupArgs("v3-by-name"), byName);
    assert.equal(backup.code, 1, backup.stderr);
    assert.match(
      reason(backup),
      /^backup: the TLS certificate of PostgreSQL at postgres@localhost:\d+\/shop does not name the host the step connects to/,
    );
    const dump = await withDatabaseTls(byName, (tlsEnv) =>
      run(pgBinary("pg_dump", tlsEnv), ["--schema-only", "--no-password"], tlsEnv),
    );
    assert.notEqual(dump.code, 0);
    assert.match(
      dump.stderr,
      /server certificate for "127\.0\.0\.1" \(and 1 other name\) does not match host name "localhost"/,
    );
    const caOnly = await runOps(backupArgs("v3-by-name"), { ...byName, PGSSLMODE: "verify-ca" });
    assert.equal(caOnly.code, 0, caOnly.stderr);
  });

  it("PGSSLMODE unset is verify-full: without a CA a step connects to nothing (exit 2)", async () => {
    const unset = await runOps(
      backupArgs("v3-unset"),
      env({ PGSSLMODE: undefined, GREENLIGHT_DB_CA: undefined }),
    );
    assert.equal(unset.code, 2, unset.stderr);
    assert.match(
      reason(unset),
      /^backup: PGSSLMODE=verify-full checks the server's certificate against a CA, and none was given: set greenlight:dbSslRootCert \(GREENLIGHT_DB_CA\)/,
    );
    const notPem = await runOps(backupArgs("v3-unset"), env({ GREENLIGHT_DB_CA: "not a certificate" }));
    assert.equal(notPem.code, 2);
    assert.match(reason(notPem), /^backup: GREENLIGHT_DB_CA: expected PEM text/);
  });

  /** The sample app with the app role's DATABASE_URL and the CA where the URL names it; its /health/ready answer. */
  async function appReadiness(caPem: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const port = await freePort();
    const name = `greenlight-tls-app-${process.pid}-${port}`;
    containers.push(name);
    const url = databaseUrl(
      {
        host: "127.0.0.1",
        port: pg.port,
        database: "shop",
        user: "shop_app",
        sslmode: "verify-full",
        withRootCert: true,
      },
      APP_PASSWORD,
    );
    const created = await run(
      "docker",
      ["create", "--name", name, "--network", "host", "-e", `PORT=${port}`, "-e", "DATABASE_URL", images.v2],
      { ...process.env, DATABASE_URL: url },
    );
    assert.equal(created.code, 0, created.stderr);
    // What the docker provider's `upload` does for ColorSlot (a one-file tar put at /, parents created:
    // kreuzwerker/terraform-provider-docker internal/provider/resource_docker_container_funcs.go).
    const copy = await new Promise<number | null>((resolve) => {
      const child = execFile("docker", ["cp", "-", `${name}:/`], (error) => resolve(error ? 1 : 0));
      child.stdin?.end(singleFileTar(DATABASE_CA_FILE, caPem));
    });
    assert.equal(copy, 0);
    assert.equal((await run("docker", ["start", name], process.env)).code, 0);
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/health/ready`);
        return { status: response.status, body: (await response.json()) as Record<string, unknown> };
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  it("the app's DATABASE_URL: ready over verify-full with the CA where the URL names it; with another CA, not ready", async () => {
    const good = await appReadiness(ca.pem);
    assert.equal(good.status, 200, JSON.stringify(good.body));
    assert.equal(good.body.version, 2);
    const wrong = await appReadiness(otherCa.pem);
    assert.equal(wrong.status, 503);
    assert.match(String(wrong.body.reason), /self[- ]signed certificate|unable to verify/i);
  });
});

describe("TLS to PostgreSQL in the program's graph (mocks): every connection carries the stack's sslmode and CA", function () {
  this.timeout(300_000);

  const environment = (resource: RecordedResource) => resource.inputs.environment as Record<string, unknown>;

  it("production: verify-full against the stack's CA in every data step, the roles provider and every app and migration DATABASE_URL", async () => {
    const settings = parseStackConfig({
      stack: "production",
      values: readStackConfig(PROJECT_DIR, "production").config,
      now: new Date("2026-12-01T11:00:00Z"),
    });
    const expectedCa = settings.database.sslRootCert;
    assert.ok(expectedCa?.startsWith("-----BEGIN CERTIFICATE-----"));
    const { resources } = await program("production");
    const steps = resources.filter((resource) => environment(resource)?.[STEP_ENV.step] !== undefined);
    const dataSteps = steps.filter(
      (resource) => resource.name.startsWith("backup-") || resource.name.startsWith("migration-"),
    );
    assert.deepEqual(dataSteps.map((resource) => resource.name).sort(), [
      "backup-restore-drill",
      "backup-run",
      "migration-run",
    ]);
    for (const step of dataSteps) {
      assert.equal(environment(step).PGSSLMODE, "verify-full", step.name);
      assert.equal(environment(step).GREENLIGHT_DB_CA, expectedCa, step.name);
    }
    // The migrator's URL is a secret the harness never records: its builder, with the step's database.
    const migration = dataSteps.find((step) => step.name === "migration-run");
    assert.ok(migration && isSecretMarker(environment(migration).DATABASE_URL));
    const stepDatabase = {
      host: String(environment(migration).PGHOST),
      port: Number(environment(migration).PGPORT),
      database: String(environment(migration).PGDATABASE),
      user: "shop_migrator",
      sslmode: String(environment(migration).PGSSLMODE),
      sslRootCert: String(environment(migration).GREENLIGHT_DB_CA),
    };
    assert.match(
      migratorDatabaseUrl(stepDatabase, { role: "shop_migrator", host: "db.prod.internal" }, "pw"),
      /^postgresql:\/\/shop_migrator:pw@db\.prod\.internal:5432\/shop\?sslmode=verify-full&sslrootcert=%2Fetc%2Fgreenlight%2Fdb-ca\.pem$/,
    );

    const provider = resources.find((resource) => resource.name === "roles-provider");
    assert.equal(provider?.inputs.sslmode, "verify-full");
    assert.equal(
      fs.readFileSync(path.join(PROJECT_DIR, String(provider?.inputs.sslrootcert)), "utf8"),
      expectedCa,
    );

    const apps = resources.filter(
      (resource) => resource.type === RESOURCE.container && resource.name.startsWith("service-"),
    );
    assert.ok(apps.length >= 6, `every replica of both colors on every host (${apps.length})`);
    for (const app of apps) {
      // DATABASE_URL is a secret the harness never records; the slot's CA upload is plain.
      assert.deepEqual(app.inputs.uploads, [{ file: DATABASE_CA_FILE, content: expectedCa }], app.name);
    }
    // The entry the slots build from the same database settings (host, role, sslmode, CA).
    assert.equal(
      databaseUrlEntry(
        { ...settings.database, host: settings.database.appHost, user: settings.database.appRole },
        "pw",
      ),
      "DATABASE_URL=postgresql://shop_app:pw@db.prod.internal:5432/shop?sslmode=verify-full&sslrootcert=%2Fetc%2Fgreenlight%2Fdb-ca.pem",
    );
  });

  it("staging requires TLS by default, local talks in clear to its loopback database only", async () => {
    const staging = await program("staging");
    const local = await program("local");
    for (const [run, sslmode] of [
      [staging, "require"],
      [local, "disable"],
    ] as const) {
      const backup = run.resources.find((resource) => resource.name === "backup-run");
      assert.ok(backup);
      assert.equal(environment(backup).PGSSLMODE, sslmode);
      assert.equal(environment(backup).GREENLIGHT_DB_CA, undefined);
      assert.equal(
        run.resources.find((resource) => resource.name === "roles-provider")?.inputs.sslmode,
        sslmode,
      );
    }
  });

  it("production without TLS: npm run plan exits 2 naming the key, the value and the fix, before any resource", async () => {
    const stackFile = path.join(
      fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-tls-plan-")),
      "Pulumi.production.yaml",
    );
    const original = fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.production.yaml"), "utf8");
    fs.writeFileSync(
      stackFile,
      original.replace("greenlight:dbSslMode: verify-full", "greenlight:dbSslMode: disable"),
    );
    let stdout = "";
    let stderr = "";
    try {
      const code = await plan(
        { stack: "production", stackFile, at: new Date("2026-12-01T11:00:00Z"), json: true, preview: false },
        (text) => (stdout += text),
        (text) => (stderr += text),
      );
      assert.equal(code, EXIT.usage, stderr);
    } finally {
      fs.rmSync(path.dirname(stackFile), { recursive: true, force: true });
    }
    assert.equal(stdout, "");
    assert.match(
      stderr,
      /greenlight:dbSslMode: got "disable"; expected verify-full \(or verify-ca\) on stack production: disable may connect without TLS.*fix: pulumi config set greenlight:dbSslMode verify-full/,
    );
  });
});
