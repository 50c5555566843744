import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { main } from "../../../tools/rollback/cli";
import { applyConfigChanges } from "../../../tools/lib/stack-yaml";
import { assertHelp, assertOneLine, runTool, runToolScript, snapshot, ToolRun } from "../support/run-tool";
import { fixture, image, makeProject, POLICY, stackFileOf, standIn } from "./support";

const AT = "2026-11-24T12:00:00Z";

let tmp: string;
/**
 * Stack files as each history's live update deployed them, without their release keys: the plan pins
 * every one. (production.json's live v13 and staging.json's live v34.)
 */
let releaseFreeProject: string;
/** production-breaking.json's live v25 as its stack file, without release keys. */
let breakingProject: string;
/** The same, with both images held as secure: values in the stack file (as the secret-images history has them). */
let secretImagesProject: string;

const RELEASE_KEYS = [
  "greenlight:activeColor",
  "greenlight:blueRelease",
  "greenlight:blueImage",
  "greenlight:greenRelease",
  "greenlight:greenImage",
  "greenlight:schemaBreaking",
];

/** A project folder with the repository's Pulumi.yaml and the given stack files. */
function project(name: string, stackFiles: Record<string, string>): string {
  return makeProject(tmp, name, stackFiles);
}

/** production.json's live v13 as its stack file, with some keys changed. */
function liveAtV13(set: Record<string, string> = {}, remove: string[] = []): string {
  return applyConfigChanges(stackFileOf("production.json", 13), { set, remove }, "Pulumi.production.yaml");
}

/** A stack file without its release keys. */
function withoutReleaseKeys(text: string): string {
  return applyConfigChanges(text, { set: {}, remove: RELEASE_KEYS }, "stack file");
}

const rollback = (
  args: string[],
  env: NodeJS.ProcessEnv = { PATH: path.join(tmp, "no-pulumi") },
  stdinIsTTY = false,
): Promise<ToolRun> => runTool(main, args, env, stdinIsTTY);

/**
 * The usual arguments: a saved history judged at AT, the commands to run against stack files without
 * release keys (`projectDir: null` leaves out --project-dir: the tool's default, this repository).
 */
function fromHistory(
  history: string,
  {
    stack = "production",
    projectDir = releaseFreeProject,
  }: { stack?: string; projectDir?: string | null } = {},
): string[] {
  const base = ["--stack", stack, "--history-file", history, "--at", AT];
  return projectDir === null ? base : [...base, "--project-dir", projectDir];
}

async function plan(
  file: string,
  extra: string[] = [],
  projectDir = releaseFreeProject,
): Promise<Record<string, unknown> & { commands: string[] }> {
  const run = await rollback([...fromHistory(fixture(file), { projectDir }), "--json", ...extra]);
  assert.equal(run.code, 0, run.err);
  return JSON.parse(run.out);
}

describe("tools/rollback", function () {
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-rollback-"));
    releaseFreeProject = project("release-free", {
      production: withoutReleaseKeys(stackFileOf("production.json", 13)),
      staging: withoutReleaseKeys(stackFileOf("staging.json", 34, "staging")),
    });
    breakingProject = project("breaking", {
      production: withoutReleaseKeys(stackFileOf("production-breaking.json", 25)),
    });
    const secure = (key: string) => `  ${key}:\n    secure: v1:c2VjcmV0LWltYWdl:c2VjcmV0LWltYWdlLXZhbHVl\n`;
    secretImagesProject = project("secret-images", {
      production: withoutReleaseKeys(stackFileOf("production-secret-images.json", 43)).replace(
        "config:\n",
        `config:\n${secure("greenlight:blueImage")}${secure("greenlight:greenImage")}`,
      ),
    });
    fs.mkdirSync(path.join(tmp, "no-pulumi"));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  describe("decisions", function () {
    it("flips back to the warm color: default target is the last succeeded update with another release", async () => {
      const document = await plan("production.json");
      assert.equal(document.action, "flip");
      const from = document.from as Record<string, unknown>;
      const to = document.to as Record<string, unknown>;
      assert.deepEqual([from.version, from.activeColor, from.release], [13, "green", "2026.11.20-1"]);
      assert.deepEqual([to.version, to.activeColor, to.release], [11, "blue", "2026.11.19-1"]);
      assert.match(String(document.reason), /2026\.11\.19-1 is still deployed \(warm\) in blue/);
      // A stack file without release keys: every release key is pinned to what must go out.
      assert.deepEqual(document.commands, [
        `pulumi config set greenlight:blueRelease 2026.11.19-1 --stack production`,
        `pulumi config set greenlight:blueImage ${image("2026.11.19-1")} --stack production`,
        `pulumi config set greenlight:greenRelease 2026.11.20-1 --stack production`,
        `pulumi config set greenlight:greenImage ${image("2026.11.20-1")} --stack production`,
        `pulumi config set greenlight:activeColor blue --stack production`,
        `pulumi config set greenlight:schemaBreaking false --stack production`,
        `pulumi up --yes --stack production ${POLICY.join(" ")} --message 'rollback to v11: flip to blue (2026.11.19-1)'`,
      ]);
    });

    it("lists failed updates between target and live as skipped, and reports the emergency override", async () => {
      const document = await plan("production.json");
      const skipped = document.skipped as { version: number; result: string; note: string }[];
      assert.deepEqual(
        skipped.map((entry) => [entry.version, entry.result]),
        [[12, "failed"]],
      );
      assert.deepEqual(document.override, {
        version: 13,
        reason: "checkout answers 500 for EU cards since 2026.11.19-1",
        approver: "oncall.maria",
        ticket: "INC-2041",
        expiresAt: "2026-11-20T23:00:00Z",
      });
      const text = await rollback(fromHistory(fixture("production.json")));
      assert.match(text.out, /override {2}v13 used emergency override INC-2041 approved by oncall\.maria/);
      assert.match(text.out, /v12 failed 2026-11-20T16:30:00\.000Z/);
      assert.match(text.out, /dry run/);
    });

    it("sets only what the stack file does not hold yet, names the keys where it differs from the live config, and says what that drift runs", async () => {
      // The file went back to 1024 MB (v8 raised it to 1536), the gate deadline and the override were removed.
      const live = liveAtV13({ "greenlight:memoryMb": "1024" }, [
        "greenlight:gateDeadlineSeconds",
        "greenlight:overrideReason",
        "greenlight:overrideApprover",
        "greenlight:overrideTicket",
        "greenlight:overrideExpiresAt",
      ]);
      const run = await rollback([
        ...fromHistory(fixture("production.json"), {
          projectDir: project("project-drift", { production: live }),
        }),
        "--json",
      ]);
      assert.equal(run.code, 0, run.err);
      const document = JSON.parse(run.out);
      // The drifted memory limit goes out with the rollback: blue's containers are replaced with 1024 MB
      // (plan --diff-from's rules), so it is not a bare flip, and the plan says so.
      assert.deepEqual(document.commands, [
        "pulumi config set greenlight:activeColor blue --stack production",
        `pulumi up --yes --stack production ${POLICY.join(" ")} --message 'rollback to v11: redeploy 2026.11.19-1 onto blue, flip to blue'`,
      ]);
      assert.equal(document.action, "redeploy");
      const [update] = document.updates as { runs: string[]; reasons: Record<string, string[]> }[];
      assert.ok(update.runs.includes("blue containers"), update.runs.join(", "));
      assert.match(update.reasons["blue containers"][0], /memory: 1536 → 1024/);
      const driftKeys = (document.drift as { key: string; live: string; file: string }[]).map(
        (entry) => entry.key,
      );
      assert.ok(driftKeys.includes("greenlight:memoryMb"), driftKeys.join(","));
      assert.ok(driftKeys.includes("greenlight:gateDeadlineSeconds"));
      assert.ok(driftKeys.includes("greenlight:overrideTicket"));
      assert.ok(!driftKeys.includes("greenlight:appPassword"), "secrets are never compared");
      assert.ok((document.notes as string[]).some((note) => note.includes("greenlight:memoryMb")));
    });

    it("keeps latestColor as live: a flip moves traffic, not the newest release (no backup or migration runs)", async () => {
      const history = JSON.parse(fs.readFileSync(fixture("production.json"), "utf8")) as {
        version: number;
        config: Record<string, { value?: string; secret: boolean }>;
      }[];
      for (const update of history)
        update.config["greenlight:latestColor"] = { value: "green", secret: false };
      const file = path.join(tmp, "production-latest-color.json");
      fs.writeFileSync(file, JSON.stringify(history));
      const live = (latestColor: string) => liveAtV13({ "greenlight:latestColor": latestColor });
      const inSync = await rollback([
        ...fromHistory(file, { projectDir: project("latest-in-sync", { production: live("green") }) }),
        "--json",
      ]);
      assert.equal(inSync.code, 0, inSync.err);
      assert.deepEqual(JSON.parse(inSync.out).commands.slice(0, -1), [
        "pulumi config set greenlight:activeColor blue --stack production",
      ]);
      // A stack file that moved latestColor without deploying it: the rollback pins it back to the live value.
      const drifted = await rollback([
        ...fromHistory(file, { projectDir: project("latest-drifted", { production: live("blue") }) }),
        "--json",
      ]);
      assert.equal(drifted.code, 0, drifted.err);
      assert.deepEqual(JSON.parse(drifted.out).commands.slice(0, -1), [
        "pulumi config set greenlight:activeColor blue --stack production",
        "pulumi config set greenlight:latestColor green --stack production",
      ]);
    });

    it("redeploys a release that is no longer warm to the idle color", async () => {
      const document = await plan("production.json", ["--to", "9"]);
      assert.equal(document.action, "redeploy");
      assert.match(
        String(document.reason),
        /2026\.11\.17-1 is no longer deployed \(blue runs 2026\.11\.19-1\)/,
      );
      assert.deepEqual(document.commands.slice(0, 2), [
        "pulumi config set greenlight:blueRelease 2026.11.17-1 --stack production",
        `pulumi config set greenlight:blueImage ${image("2026.11.17-1")} --stack production`,
      ]);
      assert.equal(document.commands[4], "pulumi config set greenlight:activeColor blue --stack production");
      assert.match(
        document.commands[6],
        /--message 'rollback to v9: redeploy 2026\.11\.17-1 onto blue, flip to blue'$/,
      );
      const skipped = (document.skipped as { version: number }[]).map((entry) => entry.version);
      assert.deepEqual(skipped, [12]);
    });

    it("restores the backup taken before the breaking release migrated, then redeploys", async () => {
      const document = await plan("production-breaking.json", ["--to", "22"], breakingProject);
      assert.equal(document.action, "restore");
      assert.deepEqual(document.backup, {
        bucket: "example-shop-backups-production",
        prefix: "db",
        release: "2026.11.17-1",
        location: "db/production/2026.11.17-1/",
        takenAt: "2026-11-17T10:20:00.000Z",
        targetDb: "shop",
        region: "eu-central-1",
      });
      assert.match(
        String(document.reason),
        /v23 released 2026\.11\.17-1 with greenlight:schemaBreaking=true/,
      );
      // The stack's region goes with the restore (the history records greenlight:s3Region: eu-central-1).
      const restoreArgs =
        "node bin/greenlight-ops.js restore --bucket example-shop-backups-production --prefix db --stack production " +
        "--release 2026.11.17-1 --target-db shop --region eu-central-1";
      const restoreAt = document.commands.indexOf(`${restoreArgs} --confirm`);
      assert.ok(restoreAt > 0, document.commands.join("\n"));
      // Before anything changes, the preflight checks what the restore needs.
      assert.equal(document.commands[0], `${restoreArgs} --preflight`);
      const before = document.commands.slice(0, restoreAt);
      const afterRestore = document.commands.slice(restoreAt + 1);
      assert.ok(before.includes("pulumi config set greenlight:maintenanceMode on --stack production"));
      assert.match(
        before.at(-1) ?? "",
        /^pulumi up --yes .*--message 'rollback to v22: maintenance on before restoring db\/production\/2026\.11\.17-1\/'$/,
      );
      // The maintenance update keeps the live release keys: only maintenance changes.
      assert.ok(before.includes("pulumi config set greenlight:activeColor green --stack production"));
      assert.deepEqual(afterRestore, [
        "pulumi config set greenlight:blueRelease 2026.11.12-1 --stack production",
        `pulumi config set greenlight:blueImage ${image("2026.11.12-1")} --stack production`,
        "pulumi config set greenlight:activeColor blue --stack production",
        "pulumi config set greenlight:maintenanceMode off --stack production",
        `pulumi up --yes --stack production ${POLICY.join(" ")} --message 'rollback to v22: restore db/production/2026.11.17-1/ and redeploy 2026.11.12-1 to blue'`,
      ]);
    });

    it("restores and flips when the target release is still warm across a breaking change", async () => {
      const history = (
        JSON.parse(fs.readFileSync(fixture("production-breaking.json"), "utf8")) as { version: number }[]
      ).filter((update) => update.version <= 23);
      const file = path.join(tmp, "breaking-live.json");
      fs.writeFileSync(file, JSON.stringify(history));
      const run = await rollback([...fromHistory(file, { projectDir: breakingProject }), "--json"]);
      assert.equal(run.code, 0, run.err);
      const document = JSON.parse(run.out);
      assert.equal(document.action, "restore");
      assert.equal(document.to.version, 22);
      assert.equal(document.backup.location, "db/production/2026.11.17-1/");
      assert.match(document.reason, /still warm in green: flip to it/);
      const restoreAt = document.commands.findIndex(
        (command: string) =>
          command.startsWith("node bin/greenlight-ops.js restore") && command.endsWith("--confirm"),
      );
      assert.deepEqual(document.commands.slice(restoreAt + 1), [
        "pulumi config set greenlight:activeColor green --stack production",
        "pulumi config set greenlight:schemaBreaking false --stack production",
        "pulumi config set greenlight:maintenanceMode off --stack production",
        `pulumi up --yes --stack production ${POLICY.join(" ")} --message 'rollback to v22: restore db/production/2026.11.17-1/ and flip 2026.11.12-1 to green'`,
      ]);
    });

    it("does not restore when rolling back across releases that kept the schema compatible", async () => {
      const document = await plan("production-breaking.json", [], breakingProject);
      assert.equal(document.action, "flip");
      assert.equal((document.to as { version: number }).version, 23);
    });

    it("after a failed and an unfinished update, the way back is the last good state: the live v34 (staging)", async () => {
      const run = await rollback([...fromHistory(fixture("staging.json"), { stack: "staging" }), "--json"]);
      assert.equal(run.code, 0, run.err);
      const document = JSON.parse(run.out);
      assert.equal(document.from.version, 34);
      assert.equal(document.to.version, 34);
      assert.deepEqual(
        document.skipped.map((entry: { version: number; result: string }) => [entry.version, entry.result]),
        [
          [35, "failed"],
          [36, "in-progress"],
        ],
      );
      // v35's counts fit no prefix of its steps and v36 never ended: both are taken at their worst, having
      // replaced green's containers, so green is put back (not called warm) and blue keeps serving.
      assert.match(
        document.skipped[0].note,
        /cannot tell how far it got .*taken as having run every step before the switch/,
      );
      assert.match(document.skipped[1].note, /pulumi cancel/);
      assert.equal(document.action, "redeploy");
      assert.equal(document.updates[0].servingBefore, "blue");
      assert.equal(document.updates[0].servingAfter, "blue");
      assert.ok(document.updates[0].runs.includes("green containers"));
      assert.ok(!document.updates[0].runs.includes("blue containers"));
      assert.ok(
        document.commands.includes("pulumi config set greenlight:greenRelease 2026.11.18-1 --stack staging"),
      );
    });

    it("passes over config-only updates: --to 32 goes back past v34's settings change to 2026.11.18-1 (staging)", async () => {
      const run = await rollback([
        ...fromHistory(fixture("staging.json"), { stack: "staging" }),
        "--to",
        "v32",
        "--json",
      ]);
      assert.equal(run.code, 0, run.err);
      const document = JSON.parse(run.out);
      assert.equal(document.to.version, 32);
      assert.equal(document.to.release, "2026.11.18-1");
      // Never warm for a color a later update may have replaced: v35 and v36 released to green.
      assert.equal(document.action, "redeploy");
      assert.match(
        document.reason,
        /2026\.11\.18-1 no longer runs in green \(v35 replaced green's containers since, so it is not warm\)/,
      );
      assert.equal(document.updates[0].servingAfter, "green");
    });
  });

  describe("output for people", function () {
    it("every line of a plan fits 100 columns; commands wrap between arguments (pasteable), a digest is never cut; --wide prints them whole", async () => {
      const cases: [string, string[], string | null][] = [
        ["production.json", [], releaseFreeProject],
        // As RUNBOOK.md runs it: the repository's own stack file, the window closed.
        ["production-failed-gate.json", ["--at", "2026-12-08T03:00:00Z"], null],
        ["production-breaking.json", ["--to", "22"], breakingProject],
      ];
      for (const [history, extra, projectDir] of cases) {
        const args = [...fromHistory(fixture(history), { projectDir }), ...extra];
        const run = await rollback(args);
        assert.equal(run.code, 0, run.err);
        for (const line of run.out.trimEnd().split("\n")) {
          if (line.length <= 100) continue;
          // The one exception: a line holding a single argument longer than a line, an image by digest.
          assert.match(
            line,
            /^ +registry\.example\.com\/shop@sha256:[0-9a-f]{64}( \\)?$/,
            `${history}: ${line}`,
          );
        }
        // Joined at their continuations, the commands are the plan's own, whole.
        const joined = run.out.replace(/ \\\n +/g, " ");
        const wide = await rollback([...args, "--wide"]);
        const json = await rollback([...args, "--json"]);
        for (const command of (JSON.parse(json.out) as { commands: string[] }).commands) {
          assert.ok(joined.includes(command), `${history}: ${command}`);
          assert.ok(wide.out.includes(command), `${history} --wide: ${command}`);
        }
      }
    });
  });

  describe("secrets", function () {
    it("never prints secret values, even from a history saved with --show-secrets", async () => {
      const text = await rollback(fromHistory(fixture("staging.json"), { stack: "staging" }));
      const json = await rollback([...fromHistory(fixture("staging.json"), { stack: "staging" }), "--json"]);
      const history = fs.readFileSync(fixture("staging.json"), "utf8");
      assert.ok(history.includes("staging-app-pw-7f3a"), "the fixture holds a secret value to leak");
      for (const output of [text.out, text.err, json.out, json.err]) {
        assert.ok(!output.includes("staging-app-pw-7f3a"));
        assert.ok(!output.includes("s3ss10n-staging-9c1d"));
      }
    });

    it("asks for a secret the rollback needs with pulumi config set --secret instead of printing it", async () => {
      const document = await plan("production-secret-images.json", ["--to", "41"], secretImagesProject);
      assert.equal(document.action, "redeploy");
      assert.ok(
        document.commands.includes("pulumi config set --secret greenlight:greenImage --stack production"),
        document.commands.join("\n"),
      );
      const printed = JSON.stringify(document);
      assert.ok(!printed.includes(image("2026.11.10-1")), "the secret image digest is not printed");
      assert.ok(!printed.includes(image("2026.11.17-1")));
      assert.match(JSON.stringify(document.to), /\[secret\]/);
    });

    it("takes a color with secret images as warm on its release id and says so", async () => {
      const document = await plan("production-secret-images.json", [], secretImagesProject);
      assert.equal(document.action, "flip");
      assert.ok((document.notes as string[]).some((note) => /images are secret/.test(note)));
    });

    it("refuses to run a secret prompt without a terminal", async () => {
      const pulumi = standIn(path.join(tmp, "standin-secret"));
      const run = await rollback(
        [
          ...fromHistory(fixture("production-secret-images.json"), { projectDir: secretImagesProject }),
          "--to",
          "41",
          "--yes",
        ],
        pulumi.env,
        false,
      );
      assert.equal(run.code, 1);
      assert.match(run.err, /stdin is not a terminal/);
      assert.deepEqual(pulumi.calls(), []);
    });
  });

  describe("refusals (exit 1)", function () {
    const refused = async (file: string, extra: string[], pattern: RegExp) => {
      const run = await rollback([...fromHistory(fixture(file)), ...extra]);
      assert.equal(run.code, 1, run.out + run.err);
      assert.equal(run.out, "");
      assert.match(run.err, pattern);
    };

    it("no earlier success", async () => {
      const file = path.join(tmp, "first-only.json");
      const history = JSON.parse(fs.readFileSync(fixture("production-first.json"), "utf8")) as {
        version: number;
      }[];
      fs.writeFileSync(file, JSON.stringify(history.filter((update) => update.version === 1)));
      const run = await rollback(fromHistory(file));
      assert.equal(run.code, 1, run.out + run.err);
      assert.match(
        run.err,
        /no earlier succeeded update of production ran another release than the live 2026\.11\.03-1 \(v1\)/,
      );
    });
    it("no success at all", async () => {
      const file = path.join(tmp, "only-failed.json");
      const history = JSON.parse(fs.readFileSync(fixture("production-first.json"), "utf8")) as {
        result: string;
      }[];
      fs.writeFileSync(file, JSON.stringify(history.map((update) => ({ ...update, result: "failed" }))));
      const run = await rollback(fromHistory(file, { projectDir: null }));
      assert.equal(run.code, 1);
      assert.match(run.err, /has no succeeded update: nothing is live/);
    });
    it("target version not found: bad input, exit 2", async () => {
      const run = await rollback([...fromHistory(fixture("production.json")), "--to", "99"]);
      assertOneLine(
        run,
        2,
        /^rollback: --to 99: no such version in the history of production \(it holds v1–v13\)/,
      );
      assert.equal(run.out, "");
    });
    it("target is a failed update", () =>
      refused("production.json", ["--to", "12"], /v12 is an update that ended failed/));
    it("target is a preview", () => refused("production.json", ["--to", "4"], /v4 is a preview/));
    it("target is the live version", () =>
      refused("production.json", ["--to", "13"], /v13 is the live version already/));
    it("target runs the live release", async () => {
      const run = await rollback([
        ...fromHistory(fixture("staging.json"), { stack: "staging", projectDir: null }),
        "--to",
        "33",
      ]);
      assert.equal(run.code, 1);
      assert.match(run.err, /v33 ran release 2026\.11\.20-2, the same release as the live v34/);
    });
    it("target older than --max-age-days", () =>
      refused(
        "production.json",
        ["--at", "2027-01-10T00:00:00Z"],
        /v11 finished 51\.6 days ago .* older than --max-age-days 30/,
      ));
    it("accepts an old target when --max-age-days allows it", async () => {
      const run = await rollback([
        "--stack",
        "production",
        "--history-file",
        fixture("production.json"),
        "--at",
        "2027-01-10T00:00:00Z",
        "--max-age-days",
        "60",
        "--project-dir",
        releaseFreeProject,
      ]);
      assert.equal(run.code, 0, run.err);
    });
    it("a restore whose backup is older than greenlight:backupRetentionDays", () =>
      refused(
        "production-breaking.json",
        ["--to", "22", "--at", "2026-12-25T00:00:00Z", "--max-age-days", "60"],
        /needs the backup taken before it migrated, 37\.6 days ago; greenlight:backupRetentionDays is 35/,
      ));
    it("an incomplete emergency override (exit 2, usage)", async () => {
      const run = await rollback([
        ...fromHistory(fixture("production.json"), { projectDir: null }),
        "--override-reason",
        "checkout down for everyone",
      ]);
      assert.equal(run.code, 2);
      assert.match(run.err, /missing --override-approver, --override-ticket, --override-expires-at/);
    });
    it("a history that is not stack history JSON (exit 2)", async () => {
      const file = path.join(tmp, "bad.json");
      fs.writeFileSync(file, JSON.stringify([{ version: 1, kind: "update", startTime: "yesterday" }]));
      const run = await rollback(["--stack", "production", "--history-file", file]);
      assert.equal(run.code, 2);
      assert.match(run.err, /entry 0, field startTime: expected an ISO-8601 time/);
    });
  });

  describe("bad input (exit 2, one line, nothing written)", function () {
    /** A refused run: exit 2, one line naming the problem, nothing on stdout, no file of the project changed. */
    const bad = async (args: string[], pattern: RegExp, projectDir = releaseFreeProject) => {
      const before = snapshot(projectDir);
      const run = await rollback(args);
      assertOneLine(run, 2, pattern);
      assert.equal(run.out, "");
      assert.deepEqual(snapshot(projectDir), before, "no file of the project changed");
    };

    it("a history that is not the stack's (staging's saved history for production)", () =>
      bad(
        fromHistory(fixture("staging.json")),
        new RegExp(
          "^rollback: --history-file .*staging\\.json is not production's history: its live update v34 ran " +
            "greenlight:backupBucket example-shop-backups-staging, greenlight:dbHost db\\.staging\\.internal, greenlight:dbName shop_staging, " +
            "while Pulumi\\.production\\.yaml holds example-shop-backups-production, db\\.prod\\.internal, shop; " +
            "save production's own with pulumi stack history --json --show-secrets=false --stack production --page-size 500 > history\\.json$",
        ),
      ));

    it("a configuration the target stack's rules refuse (a tag where production pins digests)", async () => {
      const history = JSON.parse(fs.readFileSync(fixture("production.json"), "utf8")) as {
        version: number;
        config: Record<string, { value?: string; secret: boolean }>;
      }[];
      for (const update of history.filter((entry) => entry.version <= 11)) {
        update.config["greenlight:blueImage"] = {
          value: "registry.example.com/shop:2026.11.19-1",
          secret: false,
        };
      }
      const file = path.join(tmp, "production-tagged-target.json");
      fs.writeFileSync(file, JSON.stringify(history));
      // A production stack file that pins digests, as the repository's does.
      const pinned = project("pins-digests", {
        production: withoutReleaseKeys(liveAtV13({ "greenlight:requireDigest": "true" })),
      });
      await bad(
        [...fromHistory(file, { projectDir: pinned }), "--to", "11"],
        /^rollback: the configuration step 7 \(pulumi up\) would deploy is not valid for production \(Pulumi\.production\.yaml with the rollback's config set\): greenlight:blueImage got "registry\.example\.com\/shop:2026\.11\.19-1"; expected an image pinned by digest/,
        pinned,
      );
    });

    it("--at without a zone, or a date that does not exist", async () => {
      const args = [
        "--stack",
        "production",
        "--history-file",
        fixture("production.json"),
        "--project-dir",
        releaseFreeProject,
      ];
      await bad(
        [...args, "--at", "2026-11-24T12:00:00"],
        /^rollback: option '--at <time>' argument '2026-11-24T12:00:00' is invalid\. expected a zone: add Z for UTC/,
      );
      await bad(
        [...args, "--at", "2026-02-30T12:00:00Z"],
        /^rollback: option '--at <time>' argument '2026-02-30T12:00:00Z' is invalid\. expected a date that exists: February 2026 has 28 days; npm run rollback -- --help lists the options$/,
      );
    });

    it("a missing stack file or Pulumi.yaml names the file", async () => {
      await bad(
        fromHistory(fixture("production.json"), { stack: "prod" }),
        /^rollback: .*Pulumi\.prod\.yaml does not exist: there is no stack "prod" in this project \(its stacks: production, staging\); check --stack/,
      );
      const noProject = project("no-pulumi-yaml", {
        production: withoutReleaseKeys(stackFileOf("production.json", 13)),
      });
      fs.rmSync(path.join(noProject, "Pulumi.yaml"));
      await bad(
        fromHistory(fixture("production.json"), { projectDir: noProject }),
        /^rollback: .*no-pulumi-yaml\/Pulumi\.yaml does not exist: run this in the greenlight project, or pass --project-dir/,
        noProject,
      );
    });

    it("a stack file key in a namespace that looks like ours", async () => {
      const typo = project("namespace-typo", {
        production: withoutReleaseKeys(stackFileOf("production.json", 13)).replace(
          "config:\n",
          "config:\n  greenlight_env:CORS_ORIGIN: https://shop.example.com\n",
        ),
      });
      await bad(
        fromHistory(fixture("production.json"), { projectDir: typo }),
        /^rollback: Pulumi\.production\.yaml: greenlight_env:CORS_ORIGIN: the namespace greenlight_env: is not greenlight's, so the program would never read this key; did you mean greenlight-env:CORS_ORIGIN\?$/,
        typo,
      );
    });

    it("--help prints the options and exits 0", async () => {
      const before = snapshot(releaseFreeProject);
      assertHelp(await rollback(["--help"]), "rollback");
      assert.deepEqual(snapshot(releaseFreeProject), before);
    });
  });

  describe("the Pulumi CLI", function () {
    it("without --history-file, says pulumi is missing and exits 5 (the environment)", async () => {
      const run = await rollback(["--stack", "production"]);
      assert.equal(run.code, 5);
      assert.match(
        run.err,
        /the Pulumi CLI \(pulumi\) is not on PATH, and reading the stack's history needs it/,
      );
    });

    it("with --yes, says pulumi is missing and exits 5 before planning", async () => {
      const run = await rollback([...fromHistory(fixture("production.json"), { projectDir: null }), "--yes"]);
      assert.equal(run.code, 5);
      assert.match(run.err, /--yes runs `pulumi config set` and `pulumi up`/);
      assert.equal(run.out, "");
    });

    it("reads the live history with pulumi stack history --json --show-secrets=false, and the outputs with pulumi stack output --json", async () => {
      const dir = path.join(tmp, "standin-history");
      const pulumi = standIn(dir);
      // The stand-in prints a saved history for `stack history`, and outputs without a rehearsal for `stack output`.
      fs.appendFileSync(
        path.join(dir, "bin", "pulumi"),
        `if (process.argv[3] === "history") process.stdout.write(fs.readFileSync(${JSON.stringify(fixture("production.json"))}, "utf8"));\n` +
          `if (process.argv[3] === "output") process.stdout.write(JSON.stringify({ activeRelease: "2026.11.20-1" }));\n`,
      );
      const run = await rollback(
        ["--stack", "production", "--at", AT, "--project-dir", releaseFreeProject, "--json"],
        pulumi.env,
      );
      assert.equal(run.code, 0, run.err);
      assert.equal(JSON.parse(run.out).to.version, 11);
      assert.deepEqual(pulumi.calls(), [
        ["stack", "history", "--json", "--show-secrets=false", "--stack", "production", "--page-size", "500"],
        ["stack", "output", "--json", "--stack", "production"],
      ]);
    });

    it("--yes runs the commands in order", async () => {
      const pulumi = standIn(path.join(tmp, "standin-yes"));
      const run = await rollback(
        [...fromHistory(fixture("production.json")), "--to", "9", "--yes"],
        pulumi.env,
      );
      assert.equal(run.code, 0, run.err);
      assert.deepEqual(pulumi.calls(), [
        ["config", "set", "greenlight:blueRelease", "2026.11.17-1", "--stack", "production"],
        ["config", "set", "greenlight:blueImage", image("2026.11.17-1"), "--stack", "production"],
        ["config", "set", "greenlight:greenRelease", "2026.11.20-1", "--stack", "production"],
        ["config", "set", "greenlight:greenImage", image("2026.11.20-1"), "--stack", "production"],
        ["config", "set", "greenlight:activeColor", "blue", "--stack", "production"],
        ["config", "set", "greenlight:schemaBreaking", "false", "--stack", "production"],
        [
          "up",
          "--yes",
          "--stack",
          "production",
          ...POLICY,
          "--message",
          "rollback to v9: redeploy 2026.11.17-1 onto blue, flip to blue",
        ],
      ]);
      assert.match(run.err, /rolled back to v9 \(2026\.11\.17-1, redeploy\)/);
    });

    it("--yes stops at the first failure with its exit code", async () => {
      const pulumi = standIn(path.join(tmp, "standin-fail"));
      const run = await rollback([...fromHistory(fixture("production.json")), "--yes"], {
        ...pulumi.env,
        STANDIN_FAIL_AT: "3",
        STANDIN_FAIL_CODE: "7",
      });
      assert.equal(run.code, 7);
      assert.equal(pulumi.calls().length, 3);
      assert.deepEqual(pulumi.calls()[2], [
        "config",
        "set",
        "greenlight:greenRelease",
        "2026.11.20-1",
        "--stack",
        "production",
      ]);
      assert.match(
        run.err,
        /stopped at step 3\/7 \(pulumi config set greenlight:greenRelease .*\), exit code 7; steps 1–2 ran/,
      );
    });

    it("--yes with an emergency override records it in config and in the update message", async () => {
      const pulumi = standIn(path.join(tmp, "standin-override"));
      const run = await rollback(
        [
          ...fromHistory(fixture("production.json")),
          "--yes",
          "--override-reason",
          "2026.11.20-1 corrupts carts; back out now",
          "--override-approver",
          "oncall.jonas",
          "--override-ticket",
          "INC-2050",
          "--override-expires-at",
          "2026-11-24T18:00:00Z",
        ],
        pulumi.env,
      );
      assert.equal(run.code, 0, run.err);
      const calls = pulumi.calls();
      assert.deepEqual(calls.slice(6, 10), [
        [
          "config",
          "set",
          "greenlight:overrideReason",
          "2026.11.20-1 corrupts carts; back out now",
          "--stack",
          "production",
        ],
        ["config", "set", "greenlight:overrideApprover", "oncall.jonas", "--stack", "production"],
        ["config", "set", "greenlight:overrideTicket", "INC-2050", "--stack", "production"],
        ["config", "set", "greenlight:overrideExpiresAt", "2026-11-24T18:00:00Z", "--stack", "production"],
      ]);
      assert.match(
        calls[10].at(-1) ?? "",
        /^rollback to v11: flip to blue \(2026\.11\.19-1\) \(emergency override INC-2050 approved by oncall\.jonas/,
      );
    });

    it("--yes on a restore stops at the preflight, before maintenance mode or any config changes", async () => {
      const pulumi = standIn(path.join(tmp, "standin-restore"));
      const stackFile = path.join(breakingProject, "Pulumi.production.yaml");
      const before = fs.readFileSync(stackFile, "utf8");
      const run = await rollback(
        [
          ...fromHistory(fixture("production-breaking.json"), { projectDir: breakingProject }),
          "--to",
          "22",
          "--yes",
          "--json",
        ],
        // No database or S3 credentials (and no instance metadata to wait for): the real preflight must refuse.
        { ...pulumi.env, AWS_EC2_METADATA_DISABLED: "true" },
      );
      assert.notEqual(run.code, 0);
      assert.deepEqual(pulumi.calls(), [], "no pulumi config set, no pulumi up: maintenance never went on");
      assert.match(run.err, /stopped at step 1\/\d+ \(node bin\/greenlight-ops\.js restore .*--preflight\)/);
      assert.doesNotMatch(run.err, /MAINTENANCE MODE IS ON/);
      assert.equal(fs.readFileSync(stackFile, "utf8"), before);
      assert.doesNotThrow(() => JSON.parse(run.out), "with --json, stdout stays one JSON document");
    });
  });

  it("npm run rollback exits 1 on a refusal and 0 on a plan (the CLI wiring)", function () {
    this.timeout(60_000);
    const cli = (args: string[]) => runToolScript("rollback/cli.ts", args);
    const refused = cli([
      "--stack",
      "production",
      "--history-file",
      fixture("production.json"),
      "--to",
      "12",
    ]);
    assert.equal(refused.code, 1, refused.err);
    const planned = cli([...fromHistory(fixture("production.json")), "--json"]);
    assert.equal(planned.code, 0, planned.err);
    assert.equal(JSON.parse(planned.out).action, "flip");
  });
});
