import { strict as assert } from "assert";
import * as path from "path";
import { parseStackConfig } from "../../../schema/parse";
import { readStackConfig } from "../../../tools/harness/stack-file";
import {
  backupCommandLine,
  backupSummary,
  drillCommandLine,
  drillSummary,
} from "../../../components/data/DatabaseBackup";
import { opsCommand, stepEnvironment } from "../../../components/step-command";
import { COMPONENT, RESOURCE, STEP, STEP_ENV } from "../../../contract/resources";
import { COMMAND_LINE_CREDENTIALS } from "../../../contract/patterns";
import { SECRET_ENV_NAME } from "../../../contract/patterns";
import {
  dependencyNames,
  environmentOf,
  fixture,
  isSecretMarker,
  named,
  plainEntries,
  program,
} from "./support";

const PROJECT_DIR = path.join(__dirname, "..", "..", "..");

/** Secret config values the tests set, to prove none reaches an input in plain text. */
const SECRETS = {
  "greenlight:dbAdminPassword": { secret: "Adm1n-Plaintext-Canary" },
  "greenlight:migratorPassword": { secret: "M1gr-Plaintext-Canary" },
  "greenlight:appPassword": { secret: "App-Plaintext-Canary" },
  "greenlight:s3SecretAccessKey": { secret: "S3-Plaintext-Canary" },
  "greenlight:s3AccessKeyId": "AKIAPLAINTEXTCANARY",
};

const MANIFEST_LINE = JSON.stringify({
  format: 1,
  stack: "production",
  release: "2026.11.20-2",
  database: "shop",
  dumpKey: "db/production/2026.11.20-2/20261125T110000Z.dump",
  bytes: 1234567,
  sha256: "a".repeat(64),
  tableCount: 3,
  tables: [],
  finishedAt: "2026-11-25T11:00:31.000Z",
  verified: true,
});

describe("DatabaseBackup: pure parts", () => {
  it("reads the manifest the step printed, and nothing from an empty stdout (preview, mocks)", () => {
    assert.deepEqual(backupSummary(`[progress goes to stderr]\n${MANIFEST_LINE}\n`), {
      key: "db/production/2026.11.20-2/20261125T110000Z.dump",
      bytes: 1234567,
      sha256: "a".repeat(64),
      release: "2026.11.20-2",
      tableCount: 3,
      finishedAt: "2026-11-25T11:00:31.000Z",
    });
    assert.equal(backupSummary(""), undefined);
    assert.equal(backupSummary(undefined), undefined);
    assert.equal(backupSummary("{not json"), undefined);
    assert.deepEqual(
      drillSummary(
        JSON.stringify({ dumpKey: "k.dump", matched: true, tables: [{}, {}], seconds: { total: 9.5 } }),
      ),
      { dumpKey: "k.dump", keptDatabase: undefined, matched: true, tables: 2, seconds: 9.5 },
    );
  });

  it("builds command lines from checked values only, quoting what the shell could read", () => {
    assert.equal(
      backupCommandLine({
        bucket: "b-1",
        prefix: "db",
        stack: "local",
        release: "v1",
        minSizeRatio: 0.1,
        verify: false,
      }),
      "node bin/greenlight-ops.js backup --bucket b-1 --prefix db --stack local --release v1 --min-size-ratio 0.1 --no-verify",
    );
    assert.throws(
      () =>
        backupCommandLine({
          bucket: "b;rm",
          prefix: "db",
          stack: "s",
          release: "v1",
          minSizeRatio: 0,
          verify: true,
        }),
      /not an S3 bucket name/,
    );
    assert.throws(
      () =>
        drillCommandLine({
          bucket: "b-1",
          prefix: "db",
          stack: "s",
          release: "v1",
          key: "x; rm -rf /",
          minFreeDiskPercent: 15,
        }),
      /not a dump key/,
    );
    assert.equal(
      opsCommand("x", { a: "two words", b: true, c: false, d: undefined }),
      "node bin/greenlight-ops.js x --a 'two words' --b",
    );
  });

  it("marks every credential secret and keeps the policy markers plain", () => {
    const environment = stepEnvironment(
      { step: STEP.backup, release: "v1", verify: true },
      { host: "h", port: 5432, database: "shop", user: "admin" },
      "pw",
      { region: "us-east-1", accessKeyId: "AKIA", secretAccessKey: "sk" },
    );
    assert.equal(environment[STEP_ENV.step], "backup");
    assert.equal(environment[STEP_ENV.verify], "true");
    for (const name of ["PGPASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])
      assert.equal(typeof environment[name], "object", `${name} is an Output (secret)`);
  });
});

describe("DatabaseBackup in the real program (mocks)", function () {
  this.timeout(120_000);

  it("runs `greenlight-ops backup` with checked, quoted arguments after the bucket exists", async () => {
    const { resources } = await program("local");
    const component = named(resources, "backup");
    assert.equal(component.type, COMPONENT.databaseBackup);
    const run = named(resources, "backup-run");
    assert.equal(run.type, RESOURCE.command);
    assert.equal(run.parent, component.urn);
    assert.equal(
      run.inputs.create,
      "node bin/greenlight-ops.js backup --bucket shop-backups-local --prefix greenlight --stack local --release v1 --min-size-ratio 0.1",
    );
    assert.ok(dependencyNames(resources, run).includes("backups-bucket"), "the backup waits for the bucket");
  });

  it("carries plain step markers and libpq/AWS settings; every credential is a secret", async () => {
    const { resources } = await program("production", SECRETS);
    const environment = environmentOf(named(resources, "backup-run"));
    assert.deepEqual(plainEntries(environment), {
      [STEP_ENV.step]: STEP.backup,
      [STEP_ENV.release]: "2026.11.20-2",
      [STEP_ENV.verify]: "true",
      PGHOST: "db.prod.internal",
      PGPORT: "5432",
      PGDATABASE: "shop",
      PGUSER: "greenlight_admin",
      PGSSLMODE: "verify-full",
      GREENLIGHT_DB_CA: parseStackConfig({
        stack: "production",
        values: readStackConfig(PROJECT_DIR, "production").config,
        now: new Date("2026-12-01T11:00:00Z"),
      }).database.sslRootCert,
      AWS_REGION: "eu-central-1",
    });
    for (const name of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])
      assert.ok(isSecretMarker(environment[name]), name);
    assert.ok(isSecretMarker(environment.PGPASSWORD));
    const local = environmentOf(named((await program("local", SECRETS)).resources, "backup-run"));
    assert.equal(local.GREENLIGHT_S3_ENDPOINT, "http://127.0.0.1:4569");
    for (const name of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])
      assert.ok(isSecretMarker(local[name]), name);
    for (const [name, value] of Object.entries({ ...environment, ...local }))
      if (SECRET_ENV_NAME.test(name)) assert.ok(isSecretMarker(value), `${name} is a secret`);
  });

  it("no secret value appears in plain text in any input of the data components, nor in a command line", async () => {
    for (const stack of ["local", "production"]) {
      const { resources } = await program(stack, SECRETS);
      const data = resources.filter((resource) =>
        /^(backups|roles|backup|migration)(-|$)|^backup-s3$/.test(resource.name),
      );
      assert.ok(data.length >= 10);
      const text = JSON.stringify(data.map((resource) => resource.inputs));
      for (const value of Object.values(SECRETS)) {
        const secret = typeof value === "string" ? value : value.secret;
        assert.ok(!text.includes(secret), `${stack}: ${secret} leaked`);
      }
      for (const command of data.filter((resource) => resource.type === RESOURCE.command)) {
        const line = String(command.inputs.create);
        for (const { pattern, what } of COMMAND_LINE_CREDENTIALS)
          assert.ok(!pattern.test(line), `${command.name}: ${what} in ${line}`);
      }
    }
  });

  it("triggers on the release, so each new release takes a new backup", async () => {
    const before = named((await program("local")).resources, "backup-run");
    assert.deepEqual((before.inputs.triggers as unknown[]).slice(0, 2), ["v1", "local"]);
    const next = named(
      (await program("local", { "greenlight:blueRelease": "v1.1" })).resources,
      "backup-run",
    );
    assert.equal((next.inputs.triggers as unknown[])[0], "v1.1");
    assert.match(String(next.inputs.create), /--release v1\.1 /);
    assert.equal(environmentOf(next)[STEP_ENV.release], "v1.1");
  });

  it("with the drill on, restores the backup into a scratch database after it, and records the verdict", async () => {
    const { resources } = await program("local");
    const drill = named(resources, "backup-restore-drill");
    assert.equal(drill.parent, named(resources, "backup").urn);
    assert.ok(dependencyNames(resources, drill).includes("backup-run"), "the drill depends on the backup");
    assert.equal(
      drill.inputs.create,
      "node bin/greenlight-ops.js restore --bucket shop-backups-local --prefix greenlight --stack local --release v1 --drill --keep-for-rehearsal --min-free-disk-percent 15",
    );
    assert.equal(environmentOf(drill)[STEP_ENV.step], STEP.restoreDrill);
    assert.equal((drill.inputs.triggers as unknown[])[0], "v1");
    const off = await program("local", { "greenlight:restoreDrill": false });
    assert.equal(off.resources.filter((resource) => resource.name === "backup-restore-drill").length, 0);
  });

  it("exports the bucket; the manifest output stays empty under mocks, where no backup ran", async () => {
    const { outputs } = await program("local");
    assert.equal(outputs.backupBucket, "shop-backups-local");
    assert.equal(outputs.lastBackup, undefined, "no stdout under mocks: no manifest, and no crash");
    assert.equal(outputs.migrationRecord, undefined);
  });

  for (const [testCase, message] of [
    ["bad-release", /DatabaseBackup backup: args\.release "r2 && rm -rf \/" is invalid/],
  ] as const) {
    it(`refuses ${testCase} before registering a command`, async () => {
      const run = await fixture(testCase);
      assert.equal(run.ok, false);
      assert.match(run.ok ? "" : run.message, message);
      assert.equal(run.resources.filter((resource) => resource.type === RESOURCE.command).length, 0);
    });
  }

  it("takes its own size floor and verification setting", async () => {
    const run = await fixture("valid");
    assert.ok(run.ok, run.ok ? "" : run.message);
    const backup = named(run.resources, "backup-run");
    assert.match(String(backup.inputs.create), /--min-size-ratio 0\.25$/);
    assert.equal(environmentOf(backup).PGSSLMODE, "require");
    assert.equal(run.resources.filter((resource) => resource.name === "backup-restore-drill").length, 0);
  });
});
