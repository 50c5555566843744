// The command-line discipline every tool keeps (tools/lib/io.ts, ops/lib/command-line.ts): every problem
// of a command line at once, one line each; a mistyped flag named with commander's "Did you mean";
// an option whose value is another option said so; paths read from where the user stands (INIT_CWD, as
// `npm run` leaves it); an emergency override's every problem in one round.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { ToolIo } from "../../../tools/lib/io";
import { main as genConfig } from "../../../tools/gen-config/cli";
import { main as plan } from "../../../tools/plan/cli";
import { main as release } from "../../../tools/release/cli";
import { main as rollback } from "../../../tools/rollback/cli";
import { main as secret } from "../../../tools/secret/cli";
import { main as stats } from "../../../tools/stats/cli";
import { assertLines, assertOneLine, runTool } from "../support/run-tool";
import { makeProject, stackFileOf } from "../rollback/support";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const HISTORY = path.join(ROOT, "tests", "fixtures", "history");
type Main = (argv: string[], env: NodeJS.ProcessEnv, io: ToolIo) => Promise<number>;
const TOOLS: Record<string, Main> = {
  plan,
  release,
  rollback,
  stats,
  secret,
  "gen:config": (argv, _env, io) => genConfig(argv, io),
};
const NO_PULUMI = { PATH: "/nonexistent" };

describe("the tools' command-line discipline", function () {
  this.timeout(300_000);
  // production.json's stack file as its live v13 deployed it: the rollback's commands run against it.
  let projects: string;
  let v13: string;
  before(() => {
    projects = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-discipline-"));
    v13 = makeProject(projects, "v13", { production: stackFileOf("production.json", 13) });
  });
  after(() => fs.rmSync(projects, { recursive: true, force: true }));

  for (const [name, main] of Object.entries(TOOLS).filter(([tool]) => tool !== "gen:config")) {
    it(`${name}: a mistyped --stak is named with "Did you mean --stack?", not as a missing --stack`, async () => {
      const run = await runTool(main, ["--stak", "local"], NO_PULUMI);
      const lines = run.err.trim().split("\n");
      assert.equal(run.code, 2, run.err);
      assert.match(
        lines[0],
        new RegExp(
          `^${name}: unknown option '--stak' \\(Did you mean --stack\\?\\); npm run ${name} -- --help`,
        ),
      );
      assert.ok(!run.err.includes("required option '--stack"), run.err);
      assert.equal(run.out, "");
    });

    it(`${name}: --stack --json says --stack lacks its value (not a stack named --json)`, async () => {
      const run = await runTool(main, ["--stack", "--json"], NO_PULUMI);
      assert.equal(run.code, 2, run.err);
      assert.match(
        run.err,
        new RegExp(
          `^${name}: option '--stack <name>' needs a value, but the next word is the option '--json'`,
        ),
      );
      assert.doesNotMatch(run.err, /Pulumi\.--json|policy config|"--json"/);
    });
  }

  it("gen:config: a mistyped flag is named with its suggestion", async () => {
    const run = await runTool(TOOLS["gen:config"], ["--chek"], NO_PULUMI);
    assertOneLine(run, 2, /^gen:config: unknown option '--chek' \(Did you mean --check\?\);/);
  });

  it("every problem of a command line at once, one line each", async () => {
    const run = await runTool(
      rollback,
      ["--stak", "production", "--to", "eleven", "--max-age-days", "0", "--at", "tomorrow", "--jsn"],
      NO_PULUMI,
    );
    assertLines(run, 2, [
      /^rollback: unknown option '--stak' \(Did you mean --stack\?\);/,
      /^rollback: option '--to <version>' argument 'eleven' is invalid\./,
      /^rollback: option '--max-age-days <days>' argument '0' is invalid\. expected a whole number of at least 1/,
      /^rollback: option '--at <time>' argument 'tomorrow' is invalid\./,
      /^rollback: unknown option '--jsn' \(Did you mean --json\?\);/,
    ]);
  });

  it("rollback --to takes the version as the plan prints it (v11) as well as 11", async () => {
    const args = [
      "--stack",
      "production",
      "--history-file",
      path.join(HISTORY, "production.json"),
      "--project-dir",
      v13,
    ];
    const [printed, number] = await Promise.all([
      runTool(rollback, [...args, "--to", "v11", "--at", "2026-11-24T12:00:00Z", "--json"], NO_PULUMI),
      runTool(rollback, [...args, "--to", "11", "--at", "2026-11-24T12:00:00Z", "--json"], NO_PULUMI),
    ]);
    assert.equal(printed.code, 0, printed.err);
    assert.equal(JSON.parse(printed.out).to.version, 11);
    assert.equal(printed.out, number.out);
  });

  describe("paths are read from where the user stands (npm run starts the script in the project)", function () {
    let elsewhere: string;
    before(() => {
      elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-cwd-"));
      fs.copyFileSync(path.join(HISTORY, "production.json"), path.join(elsewhere, "saved.json"));
    });
    after(() => fs.rmSync(elsewhere, { recursive: true, force: true }));
    // npm sets INIT_CWD to the folder `npm run` was typed in; process.cwd() is then the project folder.
    const fromThere = () => ({ ...NO_PULUMI, INIT_CWD: elsewhere });

    it("rollback --history-file saved.json reads the file beside the user", async () => {
      const run = await runTool(
        rollback,
        [
          "--stack",
          "production",
          "--history-file",
          "saved.json",
          "--at",
          "2026-11-24T12:00:00Z",
          "--project-dir",
          v13,
          "--json",
        ],
        fromThere(),
      );
      assert.equal(run.code, 0, run.err);
      assert.equal(JSON.parse(run.out).from.version, 13);
    });

    it("stats --history-file saved.json reads the file beside the user", async () => {
      const run = await runTool(
        stats,
        ["--stack", "production", "--history-file", "saved.json", "--json"],
        fromThere(),
      );
      assert.equal(run.code, 0, run.err);
      assert.equal(JSON.parse(run.out).stack, "production");
    });

    it("a missing --history-file names the file where the user stands and how to save one", async () => {
      const run = await runTool(
        rollback,
        ["--stack", "production", "--history-file", "nope.json"],
        fromThere(),
      );
      assertOneLine(
        run,
        2,
        new RegExp(
          `^rollback: --history-file ${elsewhere}/nope\\.json: no such file; save the stack's history with pulumi stack history --json`,
        ),
      );
    });

    it("plan --stack-file reads the file beside the user", async () => {
      fs.copyFileSync(path.join(ROOT, "Pulumi.local.yaml"), path.join(elsewhere, "Pulumi.mine.yaml"));
      const run = await runTool(
        plan,
        ["--stack", "local", "--stack-file", "Pulumi.mine.yaml", "--at", "2026-12-02T11:00:00Z", "--json"],
        fromThere(),
      );
      assert.equal(run.code, 0, run.err);
      assert.equal(JSON.parse(run.out).stack, "local");
    });
  });

  it("an emergency override's problems come all at once, the expiry judged with the rest", async () => {
    const run = await runTool(
      release,
      [
        "--stack",
        "production",
        "--release",
        "2026.12.01-1",
        "--image",
        `registry.example.com/shop@sha256:${"a".repeat(64)}`,
        "--dry-run",
        "--at",
        "2026-12-01T11:00:00Z",
        "--override-reason",
        "x",
        "--override-approver",
        "a b",
        "--override-ticket",
        "INC-1",
        "--override-expires-at",
        "2026-11-30T10:00:00Z",
      ],
      NO_PULUMI,
    );
    assertLines(run, 2, [
      /^release: --override-reason "x": expected a reason of at least 10 characters$/,
      /^release: --override-approver "a b": expected an approver handle/,
      /^release: --override-expires-at 2026-11-30T10:00:00Z: already expired at 2026-12-01T11:00:00\.000Z; give a future time$/,
    ]);
  });

  describe("stats judges the stack it is asked about", function () {
    it("a stack the project does not have is refused (exit 2), not reported", async () => {
      const run = await runTool(
        stats,
        ["--stack", "prod", "--history-file", path.join(HISTORY, "production.json")],
        NO_PULUMI,
      );
      assertOneLine(
        run,
        2,
        /^stats: .*Pulumi\.prod\.yaml does not exist: there is no stack "prod" in this project/,
      );
      assert.equal(run.out, "");
    });

    it("another stack's saved history is refused (exit 2)", async () => {
      const run = await runTool(
        stats,
        ["--stack", "staging", "--history-file", path.join(HISTORY, "production.json")],
        NO_PULUMI,
      );
      assertOneLine(
        run,
        2,
        /^stats: --history-file .*production\.json is not staging's history: its live update v13 ran/,
      );
      assert.equal(run.out, "");
    });
  });
});
