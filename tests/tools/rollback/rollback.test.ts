import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { main } from "../../../tools/rollback/cli";
import { applyConfigChanges } from "../../../tools/lib/stack-yaml";
import { assertHelp, assertOneLine, runTool, runToolScript, snapshot, ToolRun } from "../support/run-tool";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const FIXTURES = path.join(ROOT, "tests", "fixtures", "history");
const fixture = (name: string) => path.join(FIXTURES, name);
const AT = "2026-11-24T12:00:00Z";
// The fixtures' images are registry.example.com/shop@sha256:<sha256 of the release id>.
const image = (release: string) =>
  `registry.example.com/shop@sha256:${crypto.createHash("sha256").update(release).digest("hex")}`;
const POLICY = ["--policy-pack", "policies", "--policy-pack-config", "policies/config/production.json"];

let tmp: string;
/** The repository's Pulumi.yaml and stack files without their release keys: the plan pins every one. */
let releaseFreeProject: string;
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
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
  for (const [stack, text] of Object.entries(stackFiles))
    fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), text);
  return dir;
}

/** The repository's production file with the release keys as production.json's live v13 has them. */
function liveAtV13(extra: Record<string, string> = {}): string {
  return applyConfigChanges(
    fs.readFileSync(path.join(ROOT, "Pulumi.production.yaml"), "utf8"),
    {
      set: {
        "greenlight:activeColor": "green",
        "greenlight:blueRelease": "2026.11.19-1",
        "greenlight:blueImage": image("2026.11.19-1"),
        "greenlight:greenRelease": "2026.11.20-1",
        "greenlight:greenImage": image("2026.11.20-1"),
        "greenlight:schemaBreaking": "false",
        ...extra,
      },
      remove: [],
    },
    "Pulumi.production.yaml",
  );
}

/** A repository stack file without its release keys. */
function withoutReleaseKeys(stack: string): string {
  const file = path.join(ROOT, `Pulumi.${stack}.yaml`);
  return applyConfigChanges(fs.readFileSync(file, "utf8"), { set: {}, remove: RELEASE_KEYS }, file);
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

/** A stand-in `pulumi` (the real CLI cannot be installed here): records its argv, fails at STANDIN_FAIL_AT. */
function standIn(dir: string): { env: NodeJS.ProcessEnv; calls: () => string[][] } {
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin, { recursive: true });
  const log = path.join(dir, "calls.jsonl");
  fs.writeFileSync(
    path.join(bin, "pulumi"),
    `#!${process.execPath}
const fs = require("fs");
fs.appendFileSync(process.env.STANDIN_LOG, JSON.stringify(process.argv.slice(2)) + "\\n");
const calls = fs.readFileSync(process.env.STANDIN_LOG, "utf8").trim().split("\\n").length;
if (String(calls) === process.env.STANDIN_FAIL_AT) {
  process.stderr.write("error: stand-in told to fail at call " + calls + "\\n");
  process.exit(Number(process.env.STANDIN_FAIL_CODE || 1));
}
`,
    { mode: 0o755 },
  );
  return {
    env: { PATH: `${bin}${path.delimiter}${process.env.PATH ?? ""}`, STANDIN_LOG: log },
    calls: () =>
      fs.existsSync(log)
        ? fs
            .readFileSync(log, "utf8")
            .trim()
            .split("\n")
            .map((line) => JSON.parse(line) as string[])
        : [],
  };
}

describe("tools/rollback", function () {
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-rollback-"));
    releaseFreeProject = project("release-free", {
      production: withoutReleaseKeys("production"),
      staging: withoutReleaseKeys("staging"),
    });
    const secure = (key: string) => `  ${key}:\n    secure: v1:c2VjcmV0LWltYWdl:c2VjcmV0LWltYWdlLXZhbHVl\n`;
    secretImagesProject = project("secret-images", {
      production: withoutReleaseKeys("production").replace(
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

    it("sets only what the stack file does not hold yet, and names the keys where it differs from the live config", async () => {
      // memoryMb stays 1024 in the file; v8 raised it to 1536.
      const live = liveAtV13();
      const run = await rollback([
        ...fromHistory(fixture("production.json"), {
          projectDir: project("project-drift", { production: live }),
        }),
        "--json",
      ]);
      assert.equal(run.code, 0, run.err);
      const document = JSON.parse(run.out);
      assert.deepEqual(document.commands, [
        "pulumi config set greenlight:activeColor blue --stack production",
        `pulumi up --yes --stack production ${POLICY.join(" ")} --message 'rollback to v11: flip to blue (2026.11.19-1)'`,
      ]);
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
      assert.match(document.commands[6], /--message 'rollback to v9: redeploy 2026\.11\.17-1 to blue'$/);
      const skipped = (document.skipped as { version: number }[]).map((entry) => entry.version);
      assert.deepEqual(skipped, [12]);
    });

    it("restores the backup taken before the breaking release migrated, then redeploys", async () => {
      const document = await plan("production-breaking.json", ["--to", "22"]);
      assert.equal(document.action, "restore");
      assert.deepEqual(document.backup, {
        bucket: "example-shop-backups-production",
        prefix: "db",
        release: "2026.11.17-1",
        location: "db/production/2026.11.17-1/",
        takenAt: "2026-11-17T10:20:00.000Z",
        targetDb: "shop",
      });
      assert.match(
        String(document.reason),
        /v23 released 2026\.11\.17-1 with greenlight:schemaBreaking=true/,
      );
      const restoreAt = document.commands.indexOf(
        "node bin/greenlight-ops.js restore --bucket example-shop-backups-production --prefix db --stack production " +
          "--release 2026.11.17-1 --target-db shop --confirm",
      );
      assert.ok(restoreAt > 0, document.commands.join("\n"));
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
      const run = await rollback([...fromHistory(file), "--json"]);
      assert.equal(run.code, 0, run.err);
      const document = JSON.parse(run.out);
      assert.equal(document.action, "restore");
      assert.equal(document.to.version, 22);
      assert.equal(document.backup.location, "db/production/2026.11.17-1/");
      assert.match(document.reason, /still warm in green: flip to it/);
      const restoreAt = document.commands.findIndex((command: string) =>
        command.startsWith("node bin/greenlight-ops.js restore"),
      );
      assert.deepEqual(document.commands.slice(restoreAt + 1), [
        "pulumi config set greenlight:activeColor green --stack production",
        "pulumi config set greenlight:schemaBreaking false --stack production",
        "pulumi config set greenlight:maintenanceMode off --stack production",
        `pulumi up --yes --stack production ${POLICY.join(" ")} --message 'rollback to v22: restore db/production/2026.11.17-1/ and flip 2026.11.12-1 to green'`,
      ]);
    });

    it("does not restore when rolling back across releases that kept the schema compatible", async () => {
      const document = await plan("production-breaking.json");
      assert.equal(document.action, "flip");
      assert.equal((document.to as { version: number }).version, 23);
    });

    it("passes over config-only updates and lists failed and in-progress updates after the live one (staging)", async () => {
      const run = await rollback([...fromHistory(fixture("staging.json"), { stack: "staging" }), "--json"]);
      assert.equal(run.code, 0, run.err);
      const document = JSON.parse(run.out);
      assert.equal(document.from.version, 34);
      assert.equal(document.to.version, 32);
      assert.equal(document.action, "flip");
      assert.deepEqual(
        document.skipped.map((entry: { version: number; result: string }) => [entry.version, entry.result]),
        [
          [35, "failed"],
          [36, "in-progress"],
        ],
      );
      assert.match(document.skipped[1].note, /pulumi cancel/);
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

    it("no earlier success", () =>
      refused(
        "production-first.json",
        [],
        /no earlier succeeded update of production ran another release than the live 2026\.11\.03-1 \(v1\)/,
      ));
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
    it("target version not found", () =>
      refused("production.json", ["--to", "99"], /--to 99: no such version .*v1–v13/));
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
      await bad(
        [...fromHistory(file), "--to", "11"],
        /^rollback: the configuration step 7 \(pulumi up\) would deploy is not valid for production \(Pulumi\.production\.yaml with the rollback's config set\): greenlight:blueImage got "registry\.example\.com\/shop:2026\.11\.19-1"; expected an image pinned by digest/,
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
      const noProject = project("no-pulumi-yaml", { production: withoutReleaseKeys("production") });
      fs.rmSync(path.join(noProject, "Pulumi.yaml"));
      await bad(
        fromHistory(fixture("production.json"), { projectDir: noProject }),
        /^rollback: .*no-pulumi-yaml\/Pulumi\.yaml does not exist: run this in the greenlight project, or pass --project-dir/,
        noProject,
      );
    });

    it("a stack file key in a namespace that looks like ours", async () => {
      const typo = project("namespace-typo", {
        production: withoutReleaseKeys("production").replace(
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
    it("without --history-file, says pulumi is missing and exits 2", async () => {
      const run = await rollback(["--stack", "production"]);
      assert.equal(run.code, 2);
      assert.match(
        run.err,
        /the Pulumi CLI \(pulumi\) is not on PATH, and reading the stack's history needs it/,
      );
    });

    it("with --yes, says pulumi is missing and exits 2 before planning", async () => {
      const run = await rollback([...fromHistory(fixture("production.json"), { projectDir: null }), "--yes"]);
      assert.equal(run.code, 2);
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
          "rollback to v9: redeploy 2026.11.17-1 to blue",
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

    it("--yes on a restore stops when the restore step fails, before the rollback's pulumi up", async () => {
      const pulumi = standIn(path.join(tmp, "standin-restore"));
      const run = await rollback(
        [
          ...fromHistory(fixture("production-breaking.json"), { projectDir: ROOT }),
          "--to",
          "22",
          "--yes",
          "--json",
        ],
        // No database or S3 credentials (and no instance metadata to wait for): the real restore step must refuse.
        { ...pulumi.env, AWS_EC2_METADATA_DISABLED: "true" },
      );
      assert.notEqual(run.code, 0);
      const calls = pulumi.calls();
      assert.deepEqual(calls.at(-1)?.slice(0, 4), ["up", "--yes", "--stack", "production"]);
      assert.match(calls.at(-1)?.at(-1) ?? "", /maintenance on before restoring/);
      assert.match(run.err, /stopped at step \d+\/\d+ \(node bin\/greenlight-ops\.js restore /);
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
    const planned = cli([...fromHistory(fixture("production.json"), { projectDir: null }), "--json"]);
    assert.equal(planned.code, 0, planned.err);
    assert.equal(JSON.parse(planned.out).action, "flip");
  });
});
