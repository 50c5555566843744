// The plan of the next update reports what the last migration rehearsal found, from the stack's
// outputs (--outputs-file): its classification and every ACCESS EXCLUSIVE lock on a large table.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { main } from "../../../tools/plan/cli";

async function planCli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, process.env, {
    out: (text) => (stdout += text),
    err: (text) => (stderr += text),
    stdinIsTTY: false,
  });
  return { code, stdout, stderr };
}

const WARNING =
  "ACCESS EXCLUSIVE lock on public.orders (2.4 GB) for about 3.4 s: production's migration blocks every read and write of it that long, longer while it queues behind the app's transactions";

describe("npm run plan --outputs-file: the last migration rehearsal", function () {
  this.timeout(180_000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-plan-rehearsal-"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const outputsFile = (outputs: unknown) => {
    const file = path.join(dir, `outputs-${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(file, JSON.stringify(outputs));
    return file;
  };

  it("reports the classification, the breaking changes and the ACCESS EXCLUSIVE lock, in text and JSON", async () => {
    const file = outputsFile({
      activeRelease: "v1",
      schemaCompatibility: {
        release: "v1",
        classification: "breaking",
        verdict: "passed",
        durationMs: 3400,
        breakingChanges: ["dropped column public.orders.status"],
        warnings: [WARNING],
      },
    });
    const text = await planCli(["--stack", "local", "--outputs-file", file]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      /\nLast migration rehearsal: release v1, breaking \(passed\), its migration 3\.4 s\n {2}breaking: dropped column public\.orders\.status\n {2}! ACCESS EXCLUSIVE lock on public\.orders \(2\.4 GB\) for about 3\.4 s: /,
    );
    const json = await planCli(["--stack", "local", "--outputs-file", file, "--json"]);
    assert.deepEqual(JSON.parse(json.stdout).lastRehearsal, {
      release: "v1",
      classification: "breaking",
      verdict: "passed",
      durationMs: 3400,
      breakingChanges: ["dropped column public.orders.status"],
      warnings: [WARNING],
    });
  });

  it("a release whose migrations production had already applied: no migration pending", async () => {
    const file = outputsFile({
      schemaCompatibility: {
        release: "v2",
        classification: "additive",
        verdict: "passed",
        durationMs: 0,
        migration: "skipped",
        breakingChanges: [],
        warnings: [],
      },
    });
    const text = await planCli(["--stack", "local", "--outputs-file", file]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      /\nLast migration rehearsal: release v2, additive \(passed\), no migration pending\n/,
    );
  });

  it("says when the outputs hold no rehearsal; a file that is not outputs is bad input (exit 2, nothing planned)", async () => {
    const none = await planCli(["--stack", "local", "--outputs-file", outputsFile({ activeRelease: "v1" })]);
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stdout, /Last migration rehearsal: none in the stack outputs/);
    const bad = await planCli(["--stack", "local", "--outputs-file", outputsFile(["not", "outputs"])]);
    assert.equal(bad.code, 2);
    assert.equal(bad.stdout, "");
    assert.match(bad.stderr, /^plan: .*expected the JSON object `pulumi stack output --json` prints\n$/);
    const missing = await planCli(["--stack", "local", "--outputs-file", path.join(dir, "missing.json")]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^plan: --outputs-file .*missing\.json: ENOENT\n$/);
  });
});
