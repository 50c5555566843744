import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { main as promote } from "../../../tools/promote/cli";
import { main as release } from "../../../tools/release/cli";
import { applyConfigChanges } from "../../../tools/lib/stack-yaml";
import { runTool } from "../support/run-tool";

const ROOT = path.resolve(__dirname, "..", "..", "..");

describe("tools/release --preview and tools/promote", function () {
  this.timeout(60_000);
  let project: string;
  const stackFile = () => path.join(project, "Pulumi.staging.yaml");
  const config = () =>
    (parse(fs.readFileSync(stackFile(), "utf8")) as { config: Record<string, unknown> }).config;
  const releaseRun = (args: string[]) =>
    runTool(
      release,
      [
        "--project-dir",
        project,
        "--stack",
        "staging",
        "--skip-health-check",
        "--reason",
        "no fronts in this test",
        "--image",
        "registry.example.com/shop:r9",
        ...args,
      ],
      process.env,
    );
  const promoteRun = (args: string[] = []) =>
    runTool(
      (argv, _env, io) => promote(argv, io),
      ["--project-dir", project, "--stack", "staging", ...args],
      process.env,
    );

  beforeEach(() => {
    project = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-promote-"));
    fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(project, "Pulumi.yaml"));
    fs.copyFileSync(path.join(ROOT, "Pulumi.staging.yaml"), stackFile());
  });
  afterEach(() => fs.rmSync(project, { recursive: true, force: true }));

  it("a preview needs a preview port: refused with the key and the fix, nothing written", async () => {
    const before = fs.readFileSync(stackFile(), "utf8");
    const run = await releaseRun(["--release", "r9", "--preview"]);
    assert.equal(run.code, 2, run.err);
    assert.match(
      run.err,
      /would not be valid after this release: greenlight:previewPort got \(not set\); expected a port for the preview front: greenlight:promote is false/,
    );
    assert.equal(fs.readFileSync(stackFile(), "utf8"), before);
  });

  it("release --preview writes promote false; promote writes true and then has nothing to promote; the next release promotes", async () => {
    const text = fs.readFileSync(stackFile(), "utf8");
    fs.writeFileSync(
      stackFile(),
      applyConfigChanges(text, { set: { "greenlight:previewPort": "8079" }, remove: [] }, "staging"),
    );
    const active = String(config()["greenlight:activeColor"]);
    const idle = active === "blue" ? "green" : "blue";
    const previewed = await releaseRun(["--release", "r9", "--preview"]);
    assert.equal(previewed.code, 0, previewed.err);
    assert.match(
      previewed.out,
      new RegExp(`^release r9 → staging: ${idle} gets it on the preview front only; users stay on ${active}`),
    );
    assert.equal(config()["greenlight:promote"], "false");
    assert.equal(config()["greenlight:activeColor"], idle);

    const promoted = await promoteRun();
    assert.equal(promoted.code, 0, promoted.err);
    assert.match(
      promoted.out,
      new RegExp(`^promote r9 → staging: the next update moves the users to ${idle} in one move`),
    );
    assert.equal(config()["greenlight:promote"], "true");
    assert.equal(config()["greenlight:activeColor"], idle, "nothing else changes");

    const again = await promoteRun();
    assert.equal(again.code, 1);
    assert.match(again.err, /nothing to promote: greenlight:promote is true/);

    assert.equal((await releaseRun(["--release", "r10", "--preview"])).code, 0);
    assert.equal(config()["greenlight:promote"], "false");
    assert.equal((await releaseRun(["--release", "r11"])).code, 0);
    assert.equal(config()["greenlight:promote"], "true", "a release without --preview takes the traffic");
  });
});
