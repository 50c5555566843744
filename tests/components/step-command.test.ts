import { strict as assert } from "assert";
import { opsCommand, stepOutputs } from "../../components/step-command";

describe("step command lines", () => {
  it("builds flags in order, repeats lists, keeps bare flags and drops unset ones", () => {
    assert.equal(
      opsCommand("switch", {
        color: "green",
        port: 8091,
        warmup: ["/", "/a b"],
        "no-pull": true,
        image: undefined,
        off: false,
      }),
      "node bin/greenlight-ops.js switch --color green --port 8091 --warmup / --warmup '/a b' --no-pull",
    );
    assert.throws(() => opsCommand("switch; rm -rf /", {}), /is not a step name/);
    assert.throws(() => opsCommand("switch", { "x y": "1" }), /is not a flag name/);
  });

  it("reads the JSON lines a step printed, skipping anything else", () => {
    assert.deepEqual(stepOutputs('{"a":1}\nnot json\n{"b":2}\n{broken\n'), [{ a: 1 }, { b: 2 }]);
    assert.deepEqual(stepOutputs(undefined), []);
  });
});
