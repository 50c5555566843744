// `rollback --yes` stopped halfway, as an on-call at 3 a.m. meets it: Ctrl-C among the config writes or
// during the update, and a restore that fails once maintenance mode is on. What must hold: no later step
// starts, the stack file is as it was or fully written, and the first line says what is left switched on.
import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { main } from "../../../tools/rollback/cli";
import { applyConfigChanges } from "../../../tools/lib/stack-yaml";
import { runTool, ToolRun } from "../support/run-tool";
import { fixture, image, makeProject, ROOT, stackFileOf, standIn, standInNode } from "./support";

const AT = "2026-11-24T12:00:00Z";
const RELEASE_KEYS = ["Release", "Image"].flatMap((what) => [
  `greenlight:blue${what}`,
  `greenlight:green${what}`,
]);

let tmp: string;

/** A project whose production stack file is `history`'s update `version`, without its release keys. */
function projectAt(name: string, history: string, version: number): string {
  const text = applyConfigChanges(
    stackFileOf(history, version),
    { set: {}, remove: [...RELEASE_KEYS, "greenlight:activeColor", "greenlight:schemaBreaking"] },
    "stack file",
  );
  return makeProject(tmp, name, { production: text });
}

/** The rollback CLI as its own process group (a terminal's foreground job), so Ctrl-C can reach it. */
function rollbackProcess(args: string[], env: NodeJS.ProcessEnv): Promise<ToolRun> {
  const child = spawn(
    process.execPath,
    ["-r", "ts-node/register/transpile-only", path.join(ROOT, "tools", "rollback", "cli.ts"), ...args],
    {
      cwd: ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env, TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json") },
    },
  );
  // The stand-in signals the whole group, the tool and the running command, as the terminal would.
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  let out = "";
  let err = "";
  child.stdout.on("data", (chunk: string) => (out += chunk));
  child.stderr.on("data", (chunk: string) => (err += chunk));
  return new Promise((resolve) =>
    child.on("close", (code, signal) => resolve({ code: code ?? (signal ? -1 : -2), out, err })),
  );
}

describe("tools/rollback --yes, stopped halfway", function () {
  this.timeout(60_000);
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-rollback-stop-"))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** Runs `rollback --to 9 --yes` on production.json, the stand-in sending Ctrl-C at call `at`. */
  async function interruptedAt(at: number, name: string) {
    const project = projectAt(name, "production.json", 13);
    const stackFile = path.join(project, "Pulumi.production.yaml");
    const before = fs.readFileSync(stackFile, "utf8");
    const pulumi = standIn(path.join(tmp, `standin-${name}`));
    const args = ["--stack", "production", "--history-file", fixture("production.json"), "--at", AT];
    const child = rollbackProcess([...args, "--project-dir", project, "--to", "9", "--yes"], {
      ...pulumi.env,
      STANDIN_WRITES: "1",
      STANDIN_SIGINT_AT: String(at),
    });
    return { child, pulumi, stackFile, before };
  }

  it("Ctrl-C among the config writes: nothing after it runs, the stack file is back as it was, and it says how to continue", async () => {
    const { child, pulumi, stackFile, before } = await interruptedAt(3, "among-writes");
    const run = await child;
    assert.equal(run.code, 130, run.err);
    assert.equal(pulumi.calls().length, 3, "no command after the interrupted one");
    assert.equal(fs.readFileSync(stackFile, "utf8"), before, "the two writes that ran are undone");
    assert.match(run.err, /rollback: interrupted at step 3\/7 \(pulumi config set greenlight:greenRelease /);
    assert.match(run.err, /steps 1–2 ran/);
    assert.match(run.err, /Pulumi\.production\.yaml is back as it was before the rollback/);
    assert.match(
      run.err,
      /run steps 1–7 of the plan above in order, from: pulumi config set greenlight:blueRelease 2026\.11\.17-1/,
    );
  });

  it("Ctrl-C during the update: the stack file keeps that update's config in full, and the update is the step to run again", async () => {
    const { child, pulumi, stackFile } = await interruptedAt(7, "during-up");
    const run = await child;
    assert.equal(run.code, 130, run.err);
    assert.equal(pulumi.calls().at(-1)?.[0], "up");
    const config = (parse(fs.readFileSync(stackFile, "utf8")) as { config: Record<string, string> }).config;
    assert.equal(config["greenlight:blueRelease"], "2026.11.17-1");
    assert.equal(config["greenlight:blueImage"], image("2026.11.17-1"));
    assert.equal(config["greenlight:activeColor"], "blue");
    assert.match(run.err, /interrupted at step 7\/7 \(pulumi up --yes /);
    assert.match(run.err, /Pulumi\.production\.yaml holds the config of step 7 in full/);
    assert.match(
      run.err,
      /run steps 7–7 of the plan above in order, from: pulumi up --yes --stack production/,
    );
  });

  describe("a restore rollback", function () {
    const restoreArgs = ["--stack", "production", "--history-file", fixture("production-breaking.json")];

    async function restoreRun(name: string, failAtLastUpdate = false) {
      const project = projectAt(name, "production-breaking.json", 25);
      const pulumi = standIn(path.join(tmp, `standin-${name}`));
      standInNode(path.join(tmp, `standin-${name}`));
      const args = [...restoreArgs, "--at", AT, "--project-dir", project, "--to", "22"];
      const planned = await runTool(main, [...args, "--json"], pulumi.env);
      assert.equal(planned.code, 0, planned.err);
      const commands = (JSON.parse(planned.out) as { commands: string[] }).commands;
      // The plan's pulumi calls: config sets, the maintenance update, more sets, the rollback's update.
      const env = failAtLastUpdate
        ? {
            STANDIN_RESTORE_EXIT: "0",
            STANDIN_FAIL_AT: String(commands.filter((line) => line.startsWith("pulumi ")).length),
            STANDIN_FAIL_CODE: "255",
          }
        : {};
      const run = await runTool(main, [...args, "--yes"], { ...pulumi.env, ...env });
      return { run, pulumi };
    }

    it("the restore fails after maintenance went on: the first line says maintenance is on, the database as it was, and the one command to undo", async () => {
      const { run, pulumi } = await restoreRun("restore-fails");
      assert.equal(run.code, 4, run.err);
      const calls = pulumi.calls();
      assert.match(calls.at(-1)?.at(-1) ?? "", /maintenance on before restoring/);
      const lines = run.err
        .split("\n")
        .filter((line) => line.startsWith("rollback: ") && !/^rollback: \[/.test(line));
      assert.match(
        lines[0],
        /^rollback: MAINTENANCE MODE IS ON \(the site answers 503\) and the database is as it was; to let traffic in again run: pulumi config set greenlight:maintenanceMode off --stack production && pulumi up --yes --stack production .*--message 'rollback stopped before the restore: maintenance off again'$/,
      );
      assert.match(
        lines[1],
        /stopped at step \d+\/\d+ \(node bin\/greenlight-ops\.js restore .*--confirm\), exit code 4/,
      );
    });

    it("the update after a completed restore fails: keep maintenance on, and continue from that update", async () => {
      const { run } = await restoreRun("up-fails", true);
      assert.equal(run.code, 255, run.err);
      const first = run.err
        .split("\n")
        .find((line) => line.startsWith("rollback: ") && !/^rollback: \[/.test(line));
      assert.match(
        String(first),
        /^rollback: MAINTENANCE MODE IS ON and the database now holds the restored backup: keep it on/,
      );
      assert.doesNotMatch(run.err, /maintenance off again/);
    });
  });
});
