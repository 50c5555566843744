import { strict as assert } from "assert";
import {
  configKeyProblem,
  editDistance,
  lookalikeNamespace,
  namespaceProblem,
} from "../../schema/namespaces";

describe("schema/namespaces: keys in a namespace that looks like ours", () => {
  it("edit distance counts insertions, deletions and substitutions", () => {
    assert.equal(editDistance("greenlight", "greenlight"), 0);
    assert.equal(editDistance("greenlight", "greenlite"), 3);
    assert.equal(editDistance("greenlight", "greenligth"), 2);
    assert.equal(editDistance("", "abc"), 3);
  });

  it("names the namespace a lookalike was meant to be", () => {
    const cases: [string, string][] = [
      ["greenlite", "greenlight"],
      ["greenligth", "greenlight"],
      ["Greenlight", "greenlight"],
      ["green-light", "greenlight"],
      ["greenlight_env", "greenlight-env"],
      ["greenlightenv", "greenlight-env"],
      ["grenlight-env", "greenlight-env"],
      ["GREENLIGHT.ENV", "greenlight-env"],
    ];
    for (const [namespace, meant] of cases) assert.equal(lookalikeNamespace(namespace), meant, namespace);
  });

  it("leaves our own namespaces and unrelated ones (providers') alone", () => {
    for (const namespace of [
      "greenlight",
      "greenlight-env",
      "aws",
      "docker",
      "postgresql",
      "pulumi",
      "command",
    ]) {
      assert.equal(lookalikeNamespace(namespace), undefined, namespace);
    }
    assert.equal(namespaceProblem("greenlight:memoryMb"), undefined);
    assert.equal(namespaceProblem("aws:region"), undefined);
    assert.equal(namespaceProblem("noNamespace"), undefined);
  });

  it("refuses greenlite:memoryMb with did you mean greenlight:memoryMb", () => {
    assert.deepEqual(namespaceProblem("greenlite:memoryMb"), {
      key: "greenlite:memoryMb",
      suggestion: "greenlight:memoryMb",
      message:
        "greenlite:memoryMb: the namespace greenlite: is not greenlight's, so the program would never read this key; did you mean greenlight:memoryMb?",
    });
    assert.equal(
      namespaceProblem("greenlight_env:SESSION_SECRET")?.suggestion,
      "greenlight-env:SESSION_SECRET",
    );
    // Both halves misspelt: the key is corrected too.
    assert.equal(namespaceProblem("greenlite:memoryMB")?.suggestion, "greenlight:memoryMb");
  });

  it("refuses every key a one-key tool must not write: unknown keys, bad env names, other namespaces", () => {
    assert.equal(configKeyProblem("greenlight:appPassword"), undefined);
    assert.equal(configKeyProblem("greenlight-env:SESSION_SECRET"), undefined);
    assert.equal(configKeyProblem("greenlight:appPasword")?.suggestion, "greenlight:appPassword");
    assert.match(
      configKeyProblem("greenlight:appPasword")?.message ?? "",
      /did you mean greenlight:appPassword\?/,
    );
    assert.match(
      configKeyProblem("greenlight:somethingElseEntirely")?.message ?? "",
      /not a key greenlight reads; the keys are listed in schema\/keys\//,
    );
    assert.match(
      configKeyProblem("greenlight-env:session-secret")?.message ?? "",
      /"session-secret" is not an environment variable name/,
    );
    assert.match(
      configKeyProblem("aws:secretKey")?.message ?? "",
      /expected greenlight:<key> .* or greenlight-env:<NAME>/,
    );
    assert.match(configKeyProblem("appPassword")?.message ?? "", /expected greenlight:<key>/);
    assert.match(
      configKeyProblem("greenlite:appPassword")?.message ?? "",
      /did you mean greenlight:appPassword\?/,
    );
  });
});
