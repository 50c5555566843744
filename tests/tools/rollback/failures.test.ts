// The way back after a failed update: how far it got, read from what `pulumi stack history` recorded of
// it (resourceChanges counts only the steps that completed: pulumi/pulumi pkg/engine/update.go
// updateActions.OnResourceStepPost, kept for a failed update by pkg/backend/diy/backend.go), and what the
// rollback's `pulumi up` then runs, with plan --diff-from's rules.
// Fixtures production-failed-<step>.json: v1 released 2026.12.01-1 to blue, v2 released 2026.12.02-1 to
// green (live), v3 released 2026.12.03-1 to blue and failed at its migration, health gate, switch, or
// when the guard moved traffic back (the switch-run command fails either way: the history cannot tell
// those two apart, and neither can the plan; the switch leaves the old color serving both times). The
// stack file holds v3's failed release, as main does after the failed push.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { main } from "../../../tools/rollback/cli";
import { applyConfigChanges } from "../../../tools/lib/stack-yaml";
import { updatePhases } from "../../../tools/history/progress";
import { updateStackConfig } from "../../../tools/history/config";
import { readStackConfig } from "../../../tools/harness/stack-file";
import { programRunner } from "../../../tools/rollback/state";
import { runTool, ToolRun } from "../support/run-tool";
import { fixture, historyOf, image, makeProject, POLICY, ROOT, stackFileOf } from "./support";

interface PlanDocument {
  from: { version: number };
  to: { version: number; release: string };
  action: string;
  reason: string;
  commands: string[];
  skipped: {
    version: number;
    note: string;
    progress?: { known: boolean; done: string[]; stoppedAt?: string };
  }[];
  updates: {
    command: number;
    runs: string[];
    doesNotRun: string[];
    servingBefore: string;
    servingAfter: string;
  }[];
  backup?: unknown;
}

let tmp: string;
const NO_PULUMI = () => ({ PATH: path.join(tmp, "no-pulumi") });
const rollback = (args: string[]): Promise<ToolRun> => runTool(main, args, NO_PULUMI());

/** Plans a rollback from a saved history against a project whose stack file is `stackFile`. */
async function plan(history: string, stackFile: string, extra: string[] = [], at = "2026-12-03T12:00:00Z") {
  const dir = makeProject(tmp, `p-${fs.readdirSync(tmp).length}`, { production: stackFile });
  const run = await rollback([
    "--stack",
    "production",
    "--history-file",
    history,
    "--at",
    at,
    "--project-dir",
    dir,
    "--json",
    ...extra,
  ]);
  assert.equal(run.code, 0, run.err);
  return { document: JSON.parse(run.out) as PlanDocument, dir };
}

/** The stack file after v3's failed push: the repository's production file with v3's release written. */
const failedPushFile = (schemaBreaking: boolean) =>
  applyConfigChanges(
    fs.readFileSync(path.join(ROOT, "Pulumi.production.yaml"), "utf8"),
    {
      set: {
        "greenlight:activeColor": "blue",
        "greenlight:latestColor": "blue",
        "greenlight:blueRelease": "2026.12.03-1",
        "greenlight:blueImage": image("2026.12.03-1"),
        "greenlight:greenRelease": "2026.12.02-1",
        "greenlight:greenImage": image("2026.12.02-1"),
        "greenlight:schemaBreaking": String(schemaBreaking),
      },
      remove: [],
    },
    "Pulumi.production.yaml",
  );

/** What going back to v2 sets: blue's release of v2 again, and green serving as it does. */
const BACK_TO_V2 = [
  "pulumi config set greenlight:blueRelease 2026.12.01-1 --stack production",
  `pulumi config set greenlight:blueImage ${image("2026.12.01-1")} --stack production`,
  "pulumi config set greenlight:activeColor green --stack production",
  "pulumi config set greenlight:latestColor green --stack production",
];

describe("tools/rollback after a failed update", function () {
  this.timeout(600_000);
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-rollback-failed-"));
    fs.mkdirSync(path.join(tmp, "no-pulumi"));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("each fixture records what the engine would for this program: the completed steps' counts", async () => {
    const project = readStackConfig(ROOT, "production");
    for (const [name, stopsAt] of [
      ["migration", "migration"],
      ["gate", "health gate"],
      ["switch", "switch and guard"],
      ["guard", "switch and guard"],
    ]) {
      const [v3, v2] = historyOf(`production-failed-${name}.json`).reverse();
      // The rollback's own runner: the plans below reuse these runs.
      const run = programRunner("production", new Date("2026-12-03T12:00:00Z"));
      const [before, attempted] = await Promise.all(
        [v2, v3].map((update) => run(updateStackConfig(update, project))),
      );
      assert.ok(!("failed" in before) && !("failed" in attempted));
      const { ordered, free } = updatePhases(before, attempted);
      const completed = ordered.slice(
        0,
        ordered.findIndex((phase) => phase.step === stopsAt),
      );
      const expected: Record<string, number> = {};
      for (const change of [...completed, free].flatMap((phase) => phase.changes))
        expected[change.action] = (expected[change.action] ?? 0) + 1;
      const { same, ...recorded } = v3.resourceChanges ?? {};
      assert.ok(same > 0);
      // When the program's graph changes, regenerate the fixture's counts from this message.
      assert.deepEqual(recorded, expected, `production-failed-${name}.json v3 resourceChanges`);
    }
  });

  it("failed at its migration (marked schema-breaking): the migration rolled back, so no restore; blue is still warm", async () => {
    const { document } = await plan(fixture("production-failed-migration.json"), failedPushFile(true));
    assert.deepEqual([document.from.version, document.to.version], [2, 2]);
    assert.deepEqual(document.skipped[0].progress?.done, [
      "record",
      "host keys",
      "backup",
      "restore drill",
      "migration rehearsal",
    ]);
    assert.equal(document.skipped[0].progress?.stoppedAt, "migration");
    assert.equal(document.backup, undefined, "a migration that failed changed no schema: nothing to restore");
    assert.equal(document.action, "reset");
    assert.deepEqual(document.commands.slice(0, -1), [
      ...BACK_TO_V2,
      "pulumi config set greenlight:schemaBreaking false --stack production",
    ]);
    const [update] = document.updates;
    assert.deepEqual(update.runs, ["record", "host keys", "backup", "restore drill", "migration rehearsal"]);
    assert.ok(update.doesNotRun.includes("blue containers") && update.doesNotRun.includes("migration"));
    assert.deepEqual([update.servingBefore, update.servingAfter], ["green", "green"]);
  });

  it("failed at its health gate: blue's containers run 2026.12.03-1 now, so the way back puts 2026.12.01-1 on blue again", async () => {
    const { document } = await plan(fixture("production-failed-gate.json"), failedPushFile(false));
    assert.equal(document.to.version, 2);
    assert.equal(document.skipped[0].progress?.stoppedAt, "health gate");
    assert.ok(document.skipped[0].progress?.done.includes("blue containers"));
    assert.equal(document.action, "redeploy");
    assert.deepEqual(document.commands, [
      ...BACK_TO_V2,
      `pulumi up --yes --stack production ${POLICY.join(" ")} --message 'rollback to v2: redeploy 2026.12.01-1 onto blue, green keeps serving'`,
    ]);
    const [update] = document.updates;
    assert.ok(update.runs.includes("blue containers"));
    assert.ok(!update.runs.includes("switch and guard"), "traffic never moved");
    assert.deepEqual([update.servingBefore, update.servingAfter], ["green", "green"]);
  });

  for (const name of ["switch", "guard"]) {
    it(`failed at its switch${name === "guard" ? " (the guard moved traffic back)" : ""}: green serves, blue gets 2026.12.01-1 again`, async () => {
      const { document } = await plan(fixture(`production-failed-${name}.json`), failedPushFile(false));
      const [skipped] = document.skipped;
      assert.equal(skipped.progress?.stoppedAt, "switch and guard");
      assert.match(
        skipped.note,
        /stopped at its switch and guard: traffic did not move, or the guard moved it back/,
      );
      assert.equal(document.action, "redeploy");
      const [update] = document.updates;
      assert.ok(update.runs.includes("blue containers"));
      assert.deepEqual([update.servingBefore, update.servingAfter], ["green", "green"]);
      assert.match(
        document.commands.at(-1) ?? "",
        /--message 'rollback to v2: redeploy 2026\.12\.01-1 onto blue, green keeps serving'$/,
      );
    });
  }

  it("--to v1 after the guard reverted: blue is never called warm, it gets 2026.12.01-1 again, then traffic flips", async () => {
    const { document } = await plan(fixture("production-failed-guard.json"), failedPushFile(false), [
      "--to",
      "v1",
    ]);
    assert.equal(document.to.version, 1);
    assert.equal(document.action, "redeploy");
    assert.match(
      document.reason,
      /2026\.12\.01-1 no longer runs in blue \(v3 replaced blue's containers since, so it is not warm\)/,
    );
    const [update] = document.updates;
    assert.ok(update.runs.includes("blue containers") && update.runs.includes("switch and guard"));
    assert.deepEqual([update.servingBefore, update.servingAfter], ["green", "blue"]);
  });

  describe("production.json cut to v1–v12, v12 as after a guard revert", function () {
    let history: string;
    before(() => {
      const updates = JSON.parse(fs.readFileSync(fixture("production.json"), "utf8")) as {
        version: number;
        resourceChanges?: Record<string, number>;
      }[];
      const cut = updates.filter((update) => update.version <= 12);
      // v12 ran every step of 2026.11.20-1's release to green but its switch: record, backup, drill,
      // migration, green's image and containers, the gate (a new gate command and its component).
      (cut.find((update) => update.version === 12) as { resourceChanges: object }).resourceChanges = {
        same: 38,
        update: 1,
        replace: 7,
        create: 2,
      };
      history = path.join(tmp, "production-to-v12.json");
      fs.writeFileSync(history, JSON.stringify(cut));
    });
    const v12File = () => stackFileOf("production.json", 12);

    it("plans the way back to v11 (not a flip to v10): green ran 2026.11.20-1, so it is put back, not called warm", async () => {
      const { document } = await plan(history, v12File(), [], "2026-11-20T17:00:00Z");
      assert.deepEqual([document.from.version, document.to.version], [11, 11]);
      assert.equal(document.skipped[0].progress?.stoppedAt, "switch and guard");
      assert.equal(document.action, "redeploy");
      assert.ok(!/warm\) in green/.test(document.reason), document.reason);
      assert.ok(
        document.commands.includes(
          "pulumi config set greenlight:greenRelease 2026.11.12-1 --stack production",
        ),
      );
      assert.ok(
        document.commands.includes("pulumi config set greenlight:activeColor blue --stack production"),
      );
      const [update] = document.updates;
      assert.ok(update.runs.includes("green containers"));
      assert.deepEqual([update.servingBefore, update.servingAfter], ["blue", "blue"]);
    });

    it("--to 11 is accepted while the stack file holds v12's failed config (not 'the live version already')", async () => {
      const { document } = await plan(history, v12File(), ["--to", "11"], "2026-11-20T17:00:00Z");
      assert.equal(document.to.version, 11);
      assert.ok(
        document.commands.includes(
          "pulumi config set greenlight:greenImage " + image("2026.11.12-1") + " --stack production",
        ),
      );
    });

    it("--to 10 redeploys 2026.11.12-1 onto green and flips: v12 replaced green", async () => {
      const { document } = await plan(history, v12File(), ["--to", "10"], "2026-11-20T17:00:00Z");
      assert.equal(document.action, "redeploy");
      assert.match(
        document.reason,
        /2026\.11\.12-1 no longer runs in green \(v12 replaced green's containers since/,
      );
      assert.deepEqual(
        [document.updates[0].servingBefore, document.updates[0].servingAfter],
        ["blue", "green"],
      );
    });
  });
});
