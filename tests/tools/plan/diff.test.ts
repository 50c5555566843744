// `npm run plan --diff-from`: what one update runs, step by step, for every kind of update (a new
// release, a flip back, a setting change, nothing changed), on the real program (local stack and
// variations of it). The engine and provider rules the diff applies are cited in tools/plan/diff.ts.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseDocument } from "yaml";
import { EXIT, plan } from "../../../tools/plan";
import type { PlanDocument } from "../../../tools/plan/document";

const PROJECT_DIR = path.join(__dirname, "..", "..", "..");
const AT = new Date("2026-12-02T11:00:00Z");

/** Pulumi.local.yaml with some keys changed, written to `dir`. */
function localWith(dir: string, name: string, changes: Record<string, unknown>): string {
  const document = parseDocument(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.local.yaml"), "utf8"));
  for (const [key, value] of Object.entries(changes)) document.setIn(["config", `greenlight:${key}`], value);
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(file, document.toString());
  return file;
}

async function diff(
  from: string,
  to: string,
): Promise<{ code: number; document: PlanDocument; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await plan(
    { stack: "local", stackFile: to, diffFrom: from, at: AT, json: true, preview: true },
    (text) => (stdout += text),
    (text) => (stderr += text),
  );
  assert.ok(stdout, `no plan printed (exit ${code}): ${stderr}`);
  return { code, document: JSON.parse(stdout) as PlanDocument, stderr };
}

function running(document: PlanDocument): string[] {
  return (document.diff?.steps ?? []).filter((step) => step.runs).map((step) => step.step);
}

function reasonsOf(document: PlanDocument, step: string): string {
  return (document.diff?.steps.find((entry) => entry.step === step)?.reasons ?? []).join("\n");
}

describe("npm run plan --diff-from: what one update runs", function () {
  this.timeout(300_000);
  let dir: string;
  let current: string;
  let released: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-plan-diff-"));
    current = path.join(PROJECT_DIR, "Pulumi.local.yaml");
    // v3 released to the idle color (green) and activated: what `npm run release` writes.
    released = localWith(dir, "released", {
      greenRelease: "v3",
      greenImage: "greenlight-sample:v3",
      activeColor: "green",
      latestColor: "green",
    });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("a new release to the idle color: record, backup, drill, migration, that color, gate, switch — not the other color", async () => {
    const { code, document } = await diff(current, released);
    assert.equal(code, EXIT.ok);
    assert.deepEqual(running(document), [
      "record",
      "backup",
      "restore drill",
      "migration rehearsal",
      "migration",
      "images",
      "green containers",
      "health gate",
      "switch and guard",
    ]);
    assert.equal(document.diff?.servingBefore, "blue", "blue served before this update");
    assert.match(reasonsOf(document, "backup"), /GREENLIGHT_RELEASE: "v1" → "v3"/);
    assert.match(
      reasonsOf(document, "migration"),
      /GREENLIGHT_IMAGE: "greenlight-sample:v1" → "greenlight-sample:v3"/,
    );
    assert.match(
      reasonsOf(document, "green containers"),
      /service-green-0 is replaced: .*image: "greenlight-sample:v2" → "greenlight-sample:v3"/,
    );
    assert.deepEqual(document.diff?.refusals, []);
  });

  it("a flip back to the warm color: record, gate of that color, switch — no backup, drill, migration or container", async () => {
    const flippedBack = localWith(dir, "flipped-back", {
      greenRelease: "v3",
      greenImage: "greenlight-sample:v3",
      activeColor: "blue",
      latestColor: "green",
    });
    const { code, document } = await diff(released, flippedBack);
    assert.equal(code, EXIT.ok);
    assert.deepEqual(running(document), ["record", "health gate", "switch and guard"]);
    // Not one input of a data step changes on a flip back.
    for (const step of ["backup", "restore drill", "migration rehearsal", "migration"])
      assert.equal(document.diff?.steps.find((entry) => entry.step === step)?.runs, false, step);
    assert.match(reasonsOf(document, "health gate"), /gate-blue-run is created/);
    assert.match(reasonsOf(document, "switch and guard"), /triggers\.0: "green" → "blue"/);
  });

  it("an app setting or limit change goes out like a release: the idle color gets it, gate, switch; the serving color is untouched", async () => {
    const sameImage = localWith(dir, "same-image", {
      greenRelease: "v1.1",
      greenImage: "greenlight-sample:v1",
      activeColor: "green",
      latestColor: "green",
      memoryMb: 384,
    });
    const { code, document } = await diff(current, sameImage);
    assert.equal(code, EXIT.ok, JSON.stringify(document.diff?.refusals));
    const steps = running(document);
    for (const step of ["green containers", "health gate", "switch and guard"])
      assert.ok(steps.includes(step), step);
    assert.ok(
      !steps.includes("blue containers"),
      "the serving color keeps its containers (ignoreChanges while warm)",
    );
    assert.match(reasonsOf(document, "green containers"), /memory: 256 → 384/);
    assert.deepEqual(document.diff?.refusals, []);
  });

  it("refuses the same change made in place: it would replace the serving color's containers", async () => {
    const inPlace = localWith(dir, "in-place", { memoryMb: 384 });
    const { code, document } = await diff(current, inPlace);
    assert.equal(code, EXIT.mandatoryViolation);
    assert.equal(document.diff?.refusals.length, 1);
    assert.match(
      document.diff?.refusals[0] ?? "",
      /^service-blue-0 of blue, the color serving now, would be replaced in place \(memory: 256 → 384\); release the change to the idle color instead: npm run release -- --stack <stack> --same-image/,
    );
    // The gate and the switch would run too: new containers behind the active color are gated again.
    assert.ok(running(document).includes("health gate") && running(document).includes("switch and guard"));
  });

  it("nothing changed: nothing runs", async () => {
    const { code, document } = await diff(current, current);
    assert.equal(code, EXIT.ok);
    assert.deepEqual(running(document), []);
    assert.ok((document.diff?.steps.length ?? 0) >= 8, "every step is listed, as not running");
  });

  it("reads the old configuration from a git ref, and refuses a ref that is not one", async () => {
    const { document } = await diff("HEAD", current);
    assert.equal(document.diff?.from, "HEAD");
    let stderr = "";
    const code = await plan(
      { stack: "local", diffFrom: "no-such-ref-anywhere", at: AT, json: true, preview: true },
      () => undefined,
      (text) => (stderr += text),
    );
    assert.equal(code, EXIT.usage);
    assert.match(stderr, /--diff-from no-such-ref-anywhere: no Pulumi\.local\.yaml at that git ref/);
  });
});
