// The second `pulumi up` changes nothing: for each stack the real program runs, the providers' read-back
// of what it registered becomes the state (tools/harness/readback: what each provider stores after
// create, with its source), the program runs again, and the engine's and providers' diff of the second
// run against that state must find no replace and no update of any resource, commands included.
import { strict as assert } from "assert";
import { ProgramRun, runProgram } from "../../../tools/harness/run";
import { updateDiff } from "../../../tools/plan/steps";

const AT = "2026-12-02T11:00:00Z";

async function run(stack: string): Promise<Extract<ProgramRun, { ok: true }>> {
  const result = await runProgram({ stack, at: AT });
  assert.ok(result.ok, result.ok ? "" : result.message);
  return result;
}

describe("a second pulumi up against the providers' read-back state changes nothing", function () {
  this.timeout(300_000);
  for (const stack of ["local", "staging", "production"]) {
    it(`${stack}: no replace and no update of any resource`, async () => {
      const first = await run(stack);
      const second = await run(stack);
      const { resources, refusals } = updateDiff(first.resources, second.resources);
      const changed = resources
        .filter((change) => change.action !== "same")
        .map((change) => `${change.name} (${change.type}) ${change.action}: ${change.reasons.join("; ")}`);
      assert.deepEqual(changed, [], `the second update would change:\n${changed.join("\n")}`);
      assert.deepEqual(refusals, []);
      assert.ok(resources.length > 20, `${resources.length} resources compared`);
    });
  }
});
