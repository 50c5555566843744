import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parseDocument } from "yaml";
import { noCanaryOfBreakingSchema } from "../../policies/no-canary-of-breaking-schema";
import { STEP_ENV } from "../../contract/resources";
import type { RecordedResource } from "../../tools/harness/types";
import { violationsAfter } from "./support/args";
import { copyProject, judgeProgram } from "./support/program";
import { byName, releaseGraph, stepEnvironment } from "./support/release-graph";

const check = (change: (graph: RecordedResource[]) => void) =>
  violationsAfter(noCanaryOfBreakingSchema, change, { graph: { color: "blue" } });

/** Marks the release schema-breaking and gives the switch `env`. */
const breakingWith = (env: Record<string, string>) => (graph: RecordedResource[]) => {
  stepEnvironment(byName(graph, "release-record"))[STEP_ENV.schemaBreaking] = "true";
  Object.assign(stepEnvironment(byName(graph, "switch-run")), env);
};

describe("policies/no-canary-of-breaking-schema", function () {
  this.timeout(300_000);

  it("passes a canary of a compatible release, and a breaking release in one move", async () => {
    assert.deepEqual(
      await check(
        (graph) => void (stepEnvironment(byName(graph, "switch-run"))[STEP_ENV.trafficSteps] = "10,100"),
      ),
      [],
    );
    assert.deepEqual(await check(breakingWith({})), []);
  });

  it("fails a schema-breaking release with canary steps or a preview, on the switch, naming both fixes", async () => {
    const canary = await check(breakingWith({ [STEP_ENV.trafficSteps]: "10,50,100" }));
    assert.deepEqual(canary, [
      {
        message:
          "traffic switch switch-run (command:local:Command) of a schema-breaking release (greenlight:schemaBreaking true) runs canary steps 10,50,100 (greenlight:trafficSteps): both colors would serve at once on the new schema, and the old code cannot; " +
          "release it in one move (greenlight:promote true, greenlight:trafficSteps []) or make the migration expand/contract-safe and set greenlight:expandContractSafe true.",
        urn: byName(releaseGraph(), "switch-run").urn,
      },
    ]);
    const preview = await check(breakingWith({ [STEP_ENV.preview]: "true" }));
    assert.match(
      preview[0].message,
      /runs a preview \(greenlight:promote false\): both colors would serve at once/,
    );
  });

  it("passes a schema-breaking canary declared expand/contract-safe", async () => {
    assert.deepEqual(
      await check(breakingWith({ [STEP_ENV.trafficSteps]: "10,100", [STEP_ENV.expandContractSafe]: "true" })),
      [],
    );
  });

  it("on the real program (local): a schema-breaking release with canary steps is refused; declared expand/contract-safe it passes", async () => {
    const copy = copyProject();
    try {
      const file = path.join(copy.dir, "Pulumi.local.yaml");
      const original = fs.readFileSync(file, "utf8");
      const judge = async (safe: boolean) => {
        const document = parseDocument(original);
        document.setIn(["config", "greenlight:schemaBreaking"], "true");
        document.setIn(["config", "greenlight:trafficSteps"], [10, 50, 100]);
        document.setIn(["config", "greenlight:expandContractSafe"], String(safe));
        fs.writeFileSync(file, document.toString());
        const judged = await judgeProgram("local", {
          at: new Date("2026-11-25T11:00:00Z"),
          projectDir: copy.dir,
        });
        return judged.verdicts.filter((verdict) => verdict.policy === "no-canary-of-breaking-schema");
      };
      const refused = await judge(false);
      assert.equal(refused.length, 1);
      assert.equal(refused[0].level, "mandatory");
      assert.match(
        refused[0].message,
        /^traffic switch switch-run \(command:local:Command\) of a schema-breaking release/,
      );
      assert.deepEqual(await judge(true), []);
    } finally {
      copy.cleanup();
    }
  });
});
