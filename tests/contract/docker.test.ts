// The docker provider's read-back of the values greenlight sets, as contract/docker.ts computes it:
// cpus through nanoInt64ToDecimalString (kreuzwerker internal/provider/helpers.go:133-150) and
// healthcheck durations through Go's Duration.String().
import { strict as assert } from "assert";
import {
  canonicalDockerCpus,
  dockerCpusReadBack,
  goDuration,
  goDurationReadBack,
  nanoCpus,
} from "../../contract/docker";

describe("contract/docker: what the docker provider reads back", () => {
  it("reads cpus back as nanoInt64ToDecimalString does: nine zeros make one decimal, else trailing zeros go", () => {
    const cases: [string, string][] = [
      ["2", "2.0"],
      ["1", "1.0"],
      ["0.5", "0.5"],
      ["1.5", "1.5"],
      ["0.25", "0.25"],
      ["0.125", "0.125"],
      ["2.0", "2.0"],
      ["10", "10."],
      ["10.5", "10.5"],
      ["100.5", "100.5"],
      ["0.05", "0.1"],
      ["0.005", "0.0"],
    ];
    for (const [given, stored] of cases) assert.equal(dockerCpusReadBack(given), stored, given);
    assert.equal(nanoCpus("1.5"), 1_500_000_000n);
    assert.equal(dockerCpusReadBack("two"), undefined);
  });

  it("passes cpus in the read-back form when that is the same number, and refuses one that reads back as another", () => {
    assert.equal(canonicalDockerCpus("2"), "2.0");
    assert.equal(canonicalDockerCpus("0.5"), "0.5");
    assert.equal(canonicalDockerCpus("10"), "10.");
    assert.equal(canonicalDockerCpus("0.05"), undefined, "0.05 CPUs read back as 0.1");
    assert.equal(canonicalDockerCpus("0.005"), undefined);
    for (const value of ["0.5", "1", "2", "1.25", "3", "16", "0.75", "10", "20"]) {
      const canonical = canonicalDockerCpus(value) as string;
      assert.equal(dockerCpusReadBack(canonical), canonical, `${value}: its read-back reads back unchanged`);
    }
  });

  it("writes durations as Go's Duration.String()", () => {
    assert.equal(goDuration(0), "0s");
    assert.equal(goDuration(5), "5s");
    assert.equal(goDuration(59), "59s");
    assert.equal(goDuration(60), "1m0s");
    assert.equal(goDuration(90), "1m30s");
    assert.equal(goDuration(300), "5m0s");
    assert.equal(goDuration(3600), "1h0m0s");
    assert.equal(goDuration(3725), "1h2m5s");
    assert.equal(goDurationReadBack("60s"), "1m0s");
    assert.equal(goDurationReadBack("1m30s"), "1m30s");
    assert.equal(goDurationReadBack("2m"), "2m0s");
    assert.throws(() => goDuration(1.5), /not a whole number of seconds/);
  });
});
