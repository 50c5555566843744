// The plan of a preview, of its promotion and of a canary, on the real program (local stack variations).
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseDocument } from "yaml";
import { EXIT, plan } from "../../../tools/plan";

const PROJECT_DIR = path.join(__dirname, "..", "..", "..");
const AT = new Date("2026-12-02T11:00:00Z");

describe("npm run plan: preview, promotion and canary steps", function () {
  this.timeout(300_000);
  let dir: string;
  const localWith = (name: string, changes: Record<string, unknown>) => {
    const document = parseDocument(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.local.yaml"), "utf8"));
    for (const [key, value] of Object.entries(changes))
      document.setIn(["config", `greenlight:${key}`], value);
    const file = path.join(dir, `${name}.yaml`);
    fs.writeFileSync(file, document.toString());
    return file;
  };
  const human = async (stackFile: string, diffFrom?: string) => {
    let stdout = "";
    let stderr = "";
    const code = await plan(
      // --wide: the assertions read whole lines (the default output wraps at 100 columns).
      {
        stack: "local",
        stackFile,
        at: AT,
        json: false,
        preview: true,
        wide: true,
        ...(diffFrom ? { diffFrom } : {}),
      },
      (text) => (stdout += text),
      (text) => (stderr += text),
    );
    return { code, stdout, stderr };
  };
  // v3 released to green on the preview front only: what `npm run release -- --preview` writes.
  const previewRelease = {
    greenRelease: "v3",
    greenImage: "greenlight-sample:v3",
    activeColor: "green",
    latestColor: "green",
    promote: "false",
    previewPort: 18079,
    trafficSteps: [10, 50, 100],
    trafficStepSeconds: 30,
  };
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-plan-progressive-"))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("a preview: the header says which color is previewed on which port and where the users stay", async () => {
    const run = await human(localWith("previewed", previewRelease));
    assert.equal(run.code, EXIT.ok, run.stderr);
    assert.match(run.stdout, /^ {2}previewing green on :18079, users on blue$/m);
    assert.match(
      run.stdout,
      /^ {2}green .*\n {9}previewed after this update \(users stay on the other color\)/m,
    );
  });

  it("a promotion: the switch runs, nothing else; the header shows the steps and their total time", async () => {
    const previewed = localWith("previewed", previewRelease);
    const promoted = localWith("promoted", { ...previewRelease, promote: "true" });
    const run = await human(promoted, previewed);
    assert.equal(run.code, EXIT.ok, run.stderr);
    assert.match(
      run.stdout,
      /^ {2}canary 10 % → 50 % → 100 % of new requests on green, each step below 100 % judged 30 s against blue, then the guard \d+ s: about \d+ s in all \([\d.]+ min\), at most \d+ s if every step waits for its minimum sample$/m,
    );
    const runs = run.stdout.split("\n").filter((line) => line.startsWith("  ▶"));
    assert.deepEqual(
      runs.map((line) => line.replace(/\s+runs$/, "").slice(4)),
      ["switch and guard"],
    );
    assert.match(run.stdout, /^ {2}= the switch runs, nothing else/m);
  });
});
