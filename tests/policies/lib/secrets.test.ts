import { strict as assert } from "assert";
import { entrySecretness, secretness } from "../../../policies/lib/secrets";
import { SECRET_SIG, SECRET_SIG_KEY } from "../../../tools/harness/types";
import { POLICIES_DIR, toPolicyProps } from "../../../tools/policy-runner/pack";
import { secretInput } from "../release-graph";

// The analyzer's own modules, as the pack resolves them (policies/node_modules when it exists).
const packModule = <T>(id: string): T =>
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require(require.resolve(id, { paths: [POLICIES_DIR] })) as T;
const deserialize = packModule<{
  deserializeProperties(
    struct: { toJavaScript(): Record<string, unknown> },
    proxySecrets: boolean,
  ): Record<string, unknown>;
}>("@pulumi/policy/deserialize");
const proxy = packModule<{ unknownCheckingProxy<T>(value: T): T }>("@pulumi/policy/proxy");

const INPUTS = { create: "true", environment: { PLAIN: "x", PASSWORD: secretInput() } };

describe("policies/lib/secrets", () => {
  it("sees secret and plaintext entries in props as the runner hands them", () => {
    const props = toPolicyProps(INPUTS);
    assert.equal(entrySecretness(props, "environment", "PASSWORD"), "secret");
    assert.equal(entrySecretness(props, "environment", "PLAIN"), "plain");
    assert.equal(secretness(props, "create"), "plain");
    assert.equal(
      (props.environment as Record<string, unknown>).PASSWORD,
      "[secret]",
      "reads unwrap the value",
    );
  });

  it("sees secrets in the engine's remediate path (deserialize with secrets kept, then the unknown check)", () => {
    const props = proxy.unknownCheckingProxy(
      deserialize.deserializeProperties({ toJavaScript: () => INPUTS }, true),
    );
    assert.equal(entrySecretness(props, "environment", "PASSWORD"), "secret");
    assert.equal(entrySecretness(props, "environment", "PLAIN"), "plain");
  });

  it("answers unknown in the engine's validation path, where secrets arrive unwrapped", () => {
    const props = proxy.unknownCheckingProxy(
      deserialize.deserializeProperties({ toJavaScript: () => INPUTS }, false),
    );
    assert.equal(entrySecretness(props, "environment", "PASSWORD"), "unknown");
    assert.equal(entrySecretness(props, "environment", "PLAIN"), "unknown");
  });

  it("answers unknown for plain objects and non-objects", () => {
    assert.equal(secretness({ a: "b" }, "a"), "unknown");
    assert.equal(secretness(undefined, "a"), "unknown");
    assert.equal(secretness("text", 0), "unknown");
  });

  it("treats an entry of a secret property as secret", () => {
    const props = toPolicyProps({ environment: { [SECRET_SIG_KEY]: SECRET_SIG, value: { A: "1" } } });
    assert.equal(entrySecretness(props, "environment", "A"), "secret");
  });
});
