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
    assert.deepEqual(document.diff?.refusals, [], "a flip back changes no color's release");
    // Not one input of a data step changes on a flip back.
    for (const step of ["backup", "restore drill", "migration rehearsal", "migration"])
      assert.equal(document.diff?.steps.find((entry) => entry.step === step)?.runs, false, step);
    assert.match(reasonsOf(document, "health gate"), /gate-blue-run is created/);
    assert.match(reasonsOf(document, "switch and guard"), /triggers\.0: "green" → "blue"/);
  });

  it("refuses a release written by hand that leaves greenlight:latestColor on the other color: it would go out without backup and migration", async () => {
    const handWritten = localWith(dir, "hand-written", {
      greenRelease: "v3",
      greenImage: "greenlight-sample:v3",
      activeColor: "green",
    });
    const { code, document } = await diff(current, handWritten);
    assert.equal(code, EXIT.mandatoryViolation);
    // Exactly what would happen: the new release's containers, gate and switch — and no data step.
    for (const step of ["backup", "restore drill", "migration"])
      assert.equal(document.diff?.steps.find((entry) => entry.step === step)?.runs, false, step);
    assert.ok(running(document).includes("green containers"));
    assert.deepEqual(document.diff?.refusals, [
      "greenlight:latestColor is blue, but green now runs release v3 (was v2): backup, drill and migration follow greenlight:latestColor, so it would go out without its backup and migration; " +
        "fix: write the release with npm run release -- --stack local --release v3 --image greenlight-sample:v3 (it sets greenlight:latestColor too), or set greenlight:latestColor to green",
    ]);
    // With latestColor written too, it is the release of the first test: no refusal, the data steps run.
    const { code: fixed, document: fixedDocument } = await diff(current, released);
    assert.equal(fixed, EXIT.ok);
    assert.deepEqual(fixedDocument.diff?.refusals, []);
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

  it("a memory limit changed in place is applied in place (docker update): the containers keep their ids, gate and switch do not run", async () => {
    const inPlace = localWith(dir, "memory-in-place", { memoryMb: 384 });
    const { code, document } = await diff(current, inPlace);
    assert.equal(code, EXIT.ok, JSON.stringify(document.diff?.refusals));
    assert.deepEqual(running(document), ["blue containers"]);
    const blue = document.diff?.changes.find((change) => change.name === "service-blue-0");
    assert.equal(blue?.action, "update");
    assert.deepEqual(
      blue?.properties.map((property) => [property.property, property.apply]),
      [
        ["memory", "update"],
        ["memorySwap", "update"],
      ],
    );
    assert.match(
      reasonsOf(document, "blue containers"),
      /service-blue-0 is updated in place: memory: 256 → 384 \(update in place\)/,
    );
    // The warm color keeps what it runs (ignoreChanges), and nothing computed from the containers changes.
    assert.ok(!document.diff?.changes.some((change) => change.name.startsWith("service-green")));
    for (const step of ["health gate", "switch and guard"])
      assert.equal(document.diff?.steps.find((entry) => entry.step === step)?.runs, false, step);
  });

  it("refuses a cpus change made in place: cpus is ForceNew, so the serving color's containers would be replaced", async () => {
    const inPlace = localWith(dir, "cpus-in-place", { cpus: "1" });
    const { code, document } = await diff(current, inPlace);
    assert.equal(code, EXIT.mandatoryViolation);
    assert.equal(document.diff?.refusals.length, 1);
    assert.match(
      document.diff?.refusals[0] ?? "",
      /^service-blue-0 of blue, the color serving now, would be replaced in place \(cpus: "0\.5" → "1\.0" \(replace\)\); release the change to the idle color instead: npm run release -- --stack <stack> --same-image/,
    );
    const blue = document.diff?.changes.find((change) => change.name === "service-blue-0");
    assert.deepEqual(
      blue?.properties.map((property) => [property.property, property.apply]),
      [["cpus", "replace"]],
    );
    // New containers behind the active color are gated again before the switch runs.
    assert.ok(running(document).includes("health gate") && running(document).includes("switch and guard"));
  });

  it("a healthcheck change replaces the containers (the provider records one but never applies it), so in place it is refused", async () => {
    const inPlace = localWith(dir, "healthcheck-in-place", { gateIntervalSeconds: 2 });
    const { code, document } = await diff(current, inPlace);
    assert.equal(code, EXIT.mandatoryViolation);
    const blue = document.diff?.changes.find((change) => change.name === "service-blue-0");
    assert.equal(blue?.action, "replace");
    assert.deepEqual(
      blue?.properties.map((property) => [property.property, property.apply]),
      [["healthcheck", "replace"]],
    );
    assert.match(document.diff?.refusals[0] ?? "", /healthcheck\.interval: "1s" → "2s"/);
  });

  it("a gate setting change updates the gate's command (create runs again) and touches nothing else", async () => {
    const gateOnly = localWith(dir, "gate-only", { gateDeadlineSeconds: 90 });
    const { code, document } = await diff(current, gateOnly);
    assert.equal(code, EXIT.ok, JSON.stringify(document.diff?.refusals));
    assert.deepEqual(running(document), ["health gate"]);
    const gate = document.diff?.changes.find((change) => change.name === "gate-blue-run");
    assert.equal(gate?.action, "update");
    assert.deepEqual(
      gate?.properties.map((property) => [property.property, property.apply]),
      [["create", "update"]],
    );
    assert.match(
      reasonsOf(document, "health gate"),
      /gate-blue-run runs again: create: .*--deadline 60.* → .*--deadline 90/,
    );
  });

  it("a rotated SSH key runs no data step: backup, drill and migration keep their reports; the gates and the switch run again over the new connection", async () => {
    const file = path.join(dir, "Pulumi.production.yaml");
    const document = parseDocument(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.production.yaml"), "utf8"));
    document.setIn(["config", "greenlight:sshPrivateKey"], {
      secure: "v1:rotated:a-new-ciphertext-of-the-new-key",
    });
    fs.writeFileSync(file, document.toString());
    let stdout = "";
    const code = await plan(
      {
        stack: "production",
        stackFile: file,
        diffFrom: path.join(PROJECT_DIR, "Pulumi.production.yaml"),
        at: AT,
        json: true,
        preview: true,
      },
      (text) => (stdout += text),
      () => undefined,
    );
    const rotated = JSON.parse(stdout) as PlanDocument;
    assert.equal(code, EXIT.ok, JSON.stringify(rotated.diff?.refusals));
    assert.deepEqual(running(rotated), ["health gate", "switch and guard"]);
    for (const step of ["backup", "restore drill", "migration rehearsal", "migration"]) {
      assert.equal(rotated.diff?.steps.find((entry) => entry.step === step)?.runs, false, step);
      assert.match(
        reasonsOf(rotated, step),
        /keeps its report \(its update command runs, the step does not\): connection: \[secret\] → \[secret\]/,
      );
    }
    assert.match(
      reasonsOf(rotated, "switch and guard"),
      /switch-run runs again: environment\.GREENLIGHT_SSH_PRIVATE_KEY: \[secret\] → \[secret\] \(update in place\)/,
    );
    const migration = rotated.diff?.changes.find((change) => change.name === "migration-run");
    assert.equal(migration?.stateOnly, true);
    // Nothing but the steps that connect changes: no container, no image, no pull. The switch is a
    // local command that drives every proxy over SSH (ops/control) with the key in its environment.
    assert.deepEqual([...new Set(rotated.diff?.changes.map((change) => change.type))].sort(), [
      "command:local:Command",
      "command:remote:Command",
    ]);
    assert.deepEqual(
      rotated.diff?.changes
        .filter((change) => change.type === "command:local:Command")
        .map((change) => change.name),
      ["switch-run"],
    );
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
