// The rollback decides "schema-breaking" from the migration rehearsal's classification in the stack
// outputs, whatever greenlight:schemaBreaking says, and from the flag only for releases no rehearsal
// classified.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { main } from "../../../tools/rollback/cli";
import { releaseState } from "../../../tools/history/state";
import { parseHistoryText } from "../../../tools/history/read";
import { recordedClassifications, schemaBreakingRelease } from "../../../tools/rollback/schema-breaking";
import { runTool } from "../support/run-tool";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const fixture = (name: string) => path.join(ROOT, "tests", "fixtures", "history", name);
const AT = "2026-11-24T12:00:00Z";

const OUTPUTS = {
  activeRelease: "2026.11.20-1",
  schemaCompatibility: {
    release: "2026.11.20-1",
    classification: "breaking",
    declared: "breaking",
    breakingChanges: ["dropped column public.orders.status"],
    durationMs: 1830,
  },
};

describe("rollback: which release is schema-breaking", () => {
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-schema-breaking-"));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const live = parseHistoryText(fs.readFileSync(fixture("production.json"), "utf8"), "production.json").at(
    -1,
  );
  const state = releaseState(live as NonNullable<typeof live>);

  it("reads the classification from schemaCompatibility, else from the release record; nothing from other outputs", () => {
    const expected = [
      {
        release: "2026.11.20-1",
        classification: "breaking",
        breakingChanges: ["dropped column public.orders.status"],
      },
    ];
    assert.deepEqual(recordedClassifications(OUTPUTS), expected);
    assert.deepEqual(
      recordedClassifications({
        releaseRecord: { release: "2026.11.20-1", schemaCompatibility: OUTPUTS.schemaCompatibility },
      }),
      expected,
    );
    assert.deepEqual(recordedClassifications({ schemaCompatibility: "[secret]" }), []);
    assert.deepEqual(
      recordedClassifications({ schemaCompatibility: { release: "x", classification: "maybe" } }),
      [],
    );
    assert.deepEqual(recordedClassifications(undefined), []);
  });

  it("the rehearsal's classification decides whatever the flag says; the flag decides for releases none classified", () => {
    const classified = recordedClassifications(OUTPUTS);
    assert.equal(state.schemaBreaking, false);
    assert.equal(
      schemaBreakingRelease(state, "2026.11.20-1", classified),
      "whose migration rehearsal classified it breaking (dropped column public.orders.status)",
    );
    const flagged = { ...state, schemaBreaking: true };
    assert.equal(
      schemaBreakingRelease(flagged, "2026.11.20-1", [{ ...classified[0], classification: "additive" }]),
      undefined,
      "declared breaking, rehearsed additive: additive",
    );
    assert.equal(schemaBreakingRelease(flagged, "2026.11.20-1", []), "with greenlight:schemaBreaking=true");
    assert.equal(schemaBreakingRelease(state, "2026.11.20-1", []), undefined);
    assert.equal(
      schemaBreakingRelease(flagged, "2026.11.19-1", classified),
      "with greenlight:schemaBreaking=true",
      "a classification of another release does not speak for this one",
    );
  });

  async function plan(history: string, outputs: unknown): Promise<Record<string, unknown>> {
    const file = path.join(tmp, `outputs-${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(file, JSON.stringify(outputs));
    const run = await runTool(
      main,
      [
        "--stack",
        "production",
        "--history-file",
        fixture(history),
        "--outputs-file",
        file,
        "--at",
        AT,
        "--json",
      ],
      { PATH: path.join(tmp, "no-pulumi") },
    );
    assert.equal(run.code, 0, run.err);
    return JSON.parse(run.out) as Record<string, unknown>;
  }

  it("plans a restore, not a flip, after a release its rehearsal classified breaking, though its flag says false", async () => {
    const document = await plan("production.json", OUTPUTS);
    assert.equal(document.action, "restore");
    assert.equal((document.backup as { release: string }).release, "2026.11.20-1");
    assert.match(
      String(document.reason),
      /released 2026\.11\.20-1 whose migration rehearsal classified it breaking \(dropped column public\.orders\.status\), so 2026\.11\.19-1 cannot run on today's schema/,
    );
    const without = await plan("production.json", { activeRelease: "2026.11.20-1" });
    assert.equal(without.action, "flip", "no classification, flag false: a flip, as before");
  });

  it("a release flagged breaking that its rehearsal classified additive is flipped back, not restored", async () => {
    const toBefore = await runTool(
      main,
      [
        "--stack",
        "production",
        "--history-file",
        fixture("production-breaking.json"),
        "--to",
        "22",
        "--at",
        AT,
        "--json",
      ],
      { PATH: path.join(tmp, "no-pulumi") },
    );
    assert.equal(JSON.parse(toBefore.out).action, "restore", "the flag alone: restore");
    const file = path.join(tmp, "additive.json");
    fs.writeFileSync(
      file,
      JSON.stringify({
        schemaCompatibility: { release: "2026.11.17-1", classification: "additive", breakingChanges: [] },
      }),
    );
    const run = await runTool(
      main,
      [
        ...["--stack", "production", "--history-file", fixture("production-breaking.json")],
        ...["--outputs-file", file, "--to", "22", "--at", AT, "--json"],
      ],
      { PATH: path.join(tmp, "no-pulumi") },
    );
    assert.equal(run.code, 0, run.err);
    assert.notEqual(JSON.parse(run.out).action, "restore", "the rehearsal found it additive");
  });

  it("an outputs file that is not `pulumi stack output --json` is bad input (exit 2)", async () => {
    const file = path.join(tmp, "list.json");
    fs.writeFileSync(file, "[]");
    const run = await runTool(
      main,
      [
        "--stack",
        "production",
        "--history-file",
        fixture("production.json"),
        "--outputs-file",
        file,
        "--at",
        AT,
      ],
      { PATH: path.join(tmp, "no-pulumi") },
    );
    assert.equal(run.code, 2);
    assert.match(run.err, /list\.json: expected the JSON object `pulumi stack output --json` prints/);
  });
});
