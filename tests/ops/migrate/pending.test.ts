import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { MIGRATIONS_LABEL, imageMigrationsLabel } from "../../../ops/migrate/pending";

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
