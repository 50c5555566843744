import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import { shellQuote } from "../../contract/shell";

describe("contract/shell", () => {
  const roundTrip = (word: string) =>
    execFileSync("sh", ["-c", `printf '%s' ${shellQuote(word)}`], { encoding: "utf8" });

  it("shell-quotes every word so sh hands it over unchanged, and leaves safe words alone", () => {
    for (const word of [
      "v1",
      "/health",
      `it's`,
      `text="a b"`,
      "$(reboot)",
      "`id`",
      "a;b && c",
      "'",
      "",
      "x\ny",
    ]) {
      assert.equal(roundTrip(word), word, JSON.stringify(word));
    }
    assert.equal(shellQuote("registry.example.com/shop@sha256:abc"), "registry.example.com/shop@sha256:abc");
    assert.equal(shellQuote("it's"), `'it'\\''s'`);
    assert.equal(shellQuote(""), "''");
  });
});
