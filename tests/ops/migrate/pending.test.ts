import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { RECORD_TABLE_SQL } from "../../../ops/migrate";
import { MIGRATIONS_LABEL, appliedMigrations, imageMigrationsLabel } from "../../../ops/migrate/pending";
import { PgCluster, startPostgres } from "../../support/postgres";
import { needService } from "../../support/service";

describe("the greenlight.migrations label of a release image", () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-pending-test-"));
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  /** A docker CLI that prints `labels` for `image inspect` (or fails with exit 1 when undefined). */
  function docker(name: string, labels: string | undefined): string {
    const file = path.join(work, name);
    const body =
      labels === undefined
        ? `echo 'Error: No such image: x' >&2; exit 1`
        : `[ "$1 $2 $3 $4" = "image inspect --format {{json .Config.Labels}}" ] || exit 9\nprintf '%s\\n' '${labels}'`;
    fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    return file;
  }

  it("reads the label the image carries", async () => {
    const labels = JSON.stringify({ [MIGRATIONS_LABEL]: "sha256:" + "a".repeat(64), other: "x" });
    assert.equal(
      await imageMigrationsLabel(docker("labelled", labels), "app:v7", process.env),
      "sha256:" + "a".repeat(64),
    );
  });

  it("no label, no labels at all, or an image the engine lacks: undefined, so the migrator runs", async () => {
    assert.equal(await imageMigrationsLabel(docker("other", '{"a":"b"}'), "app:v7", process.env), undefined);
    assert.equal(await imageMigrationsLabel(docker("none", "null"), "app:v7", process.env), undefined);
    assert.equal(await imageMigrationsLabel(docker("missing", undefined), "app:v7", process.env), undefined);
  });

  it("a label that is not a usable value is refused, naming the image, the label, the value and the fix", async () => {
    const labels = JSON.stringify({ [MIGRATIONS_LABEL]: "two words" });
    await assert.rejects(
      imageMigrationsLabel(docker("bad", labels), "app:v7", process.env),
      new RegExp(
        `^Error: image app:v7 has label greenlight\\.migrations="two words": give 1-200 characters of letters, digits and .* or remove the label$`,
      ),
    );
  });
});

describe("what a database's greenlight.migrations says is applied (PostgreSQL 15)", function () {
  this.timeout(60_000);
  let pg: PgCluster;
  let session: Client;
  const LABEL = "sha256:" + "b".repeat(64);
  const succeeded = (release: string, label?: string) =>
    session.query(
      `INSERT INTO greenlight.migrations (release, image, backup_key, backup_sha256, started_at, finished_at, outcome${label ? ", migrations" : ""})
       VALUES ($1, 'app:' || $1, 'db/k', 'c0ffee', now(), now(), 'succeeded'${label ? ", $2" : ""})`,
      label ? [release, label] : [release],
    );

  before(async function () {
    pg = await needService(this, "PostgreSQL 15", startPostgres);
    await pg.query("CREATE DATABASE shop");
    session = new Client({ connectionString: pg.url("shop") });
    await session.connect();
  });
  after(async () => {
    await session?.end();
    await pg?.stop();
  });

  it("no record table, a table from before labels were recorded, then a labelled run: only that run counts", async () => {
    // Never migrated by greenlight: nothing applied, the migrator runs.
    assert.equal(await appliedMigrations(session, LABEL), undefined);
    // The record table as greenlight created it before the migrations column existed.
    await session.query(RECORD_TABLE_SQL.replace(/ALTER TABLE[^;]*;/, ""));
    await succeeded("v1");
    const columns = await session.query(
      "SELECT column_name FROM information_schema.columns WHERE table_schema = 'greenlight' AND table_name = 'migrations' AND column_name = 'migrations'",
    );
    assert.equal(columns.rowCount, 0, "the old shape has no migrations column");
    assert.equal(await appliedMigrations(session, LABEL), undefined);
    // The migrate step's own statement adds the column; the older run reads NULL.
    await session.query(RECORD_TABLE_SQL);
    assert.equal(await appliedMigrations(session, LABEL), undefined);
    await succeeded("v2", LABEL);
    const id = Number((await session.query("SELECT max(id) AS id FROM greenlight.migrations")).rows[0].id);
    assert.deepEqual(await appliedMigrations(session, LABEL), { id, release: "v2", label: LABEL });
    // Another label, or a failed run after it, does not make those migrations applied.
    assert.equal(await appliedMigrations(session, "sha256:" + "c".repeat(64)), undefined);
    await session.query(
      "INSERT INTO greenlight.migrations (release, image, backup_key, backup_sha256, started_at, outcome, migrations) VALUES ('v3', 'app:v3', 'db/k', 'c0ffee', now(), 'failed', $1)",
      ["sha256:" + "d".repeat(64)],
    );
    assert.deepEqual(await appliedMigrations(session, LABEL), { id, release: "v2", label: LABEL });
    // The newest succeeded run without a label (an image without one): nothing known to be applied.
    await succeeded("v4");
    assert.equal(await appliedMigrations(session, LABEL), undefined);
  });
});
