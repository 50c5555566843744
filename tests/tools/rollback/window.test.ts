// A rollback at 3 a.m.: the policy pack blocks every update outside the deployment window unless its
// release record carries a valid emergency override (policies/deployment-window.ts), and a rollback is
// an update. The plan says the window's verdict at the instant it runs and, when closed, the one
// command that records the override; --yes refuses to start an update the pack would stop.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { main } from "../../../tools/rollback/cli";
import { runTool, ToolRun } from "../support/run-tool";
import { fixture, makeProject, stackFileOf, standIn } from "./support";

let tmp: string;
let project: string;
const NIGHT = "2026-12-08T03:00:00Z";
const rollback = (args: string[], env: NodeJS.ProcessEnv): Promise<ToolRun> => runTool(main, args, env);
const base = () => [
  "--stack",
  "production",
  "--history-file",
  fixture("production-failed-gate.json"),
  "--project-dir",
  project,
];

/** The words of a command line as the plan prints it (single quotes as formatCommand writes them). */
function words(command: string): string[] {
  return [...command.matchAll(/'((?:[^']|'\\'')*)'|(\S+)/g)].map((match) =>
    match[1] !== undefined ? match[1].replace(/'\\''/g, "'") : match[2],
  );
}

describe("tools/rollback and the deployment window", function () {
  this.timeout(600_000);
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-rollback-window-"));
    fs.mkdirSync(path.join(tmp, "no-pulumi"));
    project = makeProject(tmp, "live-v2", { production: stackFileOf("production-failed-gate.json", 2) });
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("at 03:00 UTC the plan says the window is closed, when it opens, and the one command that records an override", async () => {
    const run = await rollback([...base(), "--at", NIGHT, "--json"], { PATH: path.join(tmp, "no-pulumi") });
    assert.equal(run.code, 0, run.err);
    const { window } = JSON.parse(run.out) as {
      window: {
        open: boolean;
        blocked: boolean;
        nextOpening: string;
        closedBecause: string;
        overrideCommand: string;
      };
    };
    assert.equal(window.open, false);
    assert.equal(window.blocked, true);
    assert.match(window.closedBecause, /outside Tue–Thu 10:00–14:00 UTC/);
    assert.match(window.nextOpening, /2026-12-08 10:00/);
    const command = words(window.overrideCommand);
    assert.deepEqual(command.slice(0, 4), ["npm", "run", "rollback", "--"]);
    for (const flag of [
      "--override-reason",
      "--override-approver",
      "--override-ticket",
      "--override-expires-at",
      "--yes",
    ])
      assert.ok(command.includes(flag), `${flag} in ${window.overrideCommand}`);
    assert.equal(command[command.indexOf("--override-expires-at") + 1], "2026-12-08T07:00:00Z");
    const text = await rollback([...base(), "--at", NIGHT], { PATH: path.join(tmp, "no-pulumi") });
    assert.match(
      text.out,
      /window {2}closed at Tue 2026-12-08 03:00 UTC \(outside Tue–Thu 10:00–14:00 UTC\); next opens/,
    );
    assert.match(text.out, /the policy pack blocks this rollback's pulumi up; record an emergency override/);
  });

  it("--yes refuses (exit 1) before running anything, naming the override command", async () => {
    const pulumi = standIn(path.join(tmp, "standin-night"));
    const run = await rollback([...base(), "--at", NIGHT, "--yes"], pulumi.env);
    assert.equal(run.code, 1, run.err);
    assert.match(
      run.err,
      /^rollback: not running: the deployment window is closed at 2026-12-08T03:00:00\.000Z .* run: npm run rollback -- --stack production .*--override-reason/m,
    );
    assert.deepEqual(pulumi.calls(), [], "nothing ran");
  });

  it("the printed override command, filled in by the on-call, is accepted: the window is covered and --yes runs", async () => {
    const first = await rollback([...base(), "--at", NIGHT, "--json"], { PATH: path.join(tmp, "no-pulumi") });
    const command = words(JSON.parse(first.out).window.overrideCommand as string);
    const filled = command
      .slice(4)
      .map((word) =>
        word.startsWith("<why")
          ? "2026.12.03-1 left blue broken; back to v2 now"
          : word.startsWith("<on-call")
            ? "oncall.jonas"
            : word.startsWith("<incident")
              ? "INC-2077"
              : word,
      );
    const pulumi = standIn(path.join(tmp, "standin-override"));
    const run = await rollback([...filled, "--at", NIGHT], pulumi.env);
    assert.equal(run.code, 0, run.err);
    assert.match(
      // The plan wraps at 100 columns: read it unwrapped.
      run.out.replace(/\n +/g, " "),
      /covered by the emergency override INC-2077 approved by oncall\.jonas until Tue 2026-12-08 07:00 UTC/,
    );
    const calls = pulumi.calls();
    assert.ok(
      calls.some(
        (call) => call.join(" ") === "config set greenlight:overrideTicket INC-2077 --stack production",
      ),
    );
    assert.deepEqual(calls.at(-1)?.slice(0, 2), ["up", "--yes"]);
  });

  it("inside the window nothing is asked; an override the stack file still carries covers a rollback until it expires", async () => {
    const open = await rollback([...base(), "--at", "2026-12-03T12:00:00Z", "--json"], {
      PATH: path.join(tmp, "no-pulumi"),
    });
    assert.equal(open.code, 0, open.err);
    assert.deepEqual((({ open: isOpen, blocked }) => ({ isOpen, blocked }))(JSON.parse(open.out).window), {
      isOpen: true,
      blocked: false,
    });
    // production.json's live v13 went out under INC-2041, which expires 2026-11-20T23:00Z: a Friday evening.
    const v13 = makeProject(tmp, "v13", { production: stackFileOf("production.json", 13) });
    const args = [
      "--stack",
      "production",
      "--history-file",
      fixture("production.json"),
      "--project-dir",
      v13,
      "--json",
    ];
    const covered = await rollback([...args, "--at", "2026-11-20T20:00:00Z"], {
      PATH: path.join(tmp, "no-pulumi"),
    });
    assert.equal(covered.code, 0, covered.err);
    assert.match(
      JSON.parse(covered.out).window.coveredBy,
      /^emergency override INC-2041 approved by oncall\.maria/,
    );
    const expired = await rollback([...args, "--at", "2026-11-21T09:00:00Z"], {
      PATH: path.join(tmp, "no-pulumi"),
    });
    assert.equal(JSON.parse(expired.out).window.blocked, true, "a Saturday after the override expired");
  });
});
