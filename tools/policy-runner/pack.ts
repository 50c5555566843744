// The policy pack's own copies of @pulumi/policy's internals and the @pulumi/pulumi runtime, loaded from
// policies/ as the analyzer server would load them, so `Secret` and the proxies are the classes the
// pack's policies see. Inputs become policy props here, and isDryRun() is set for the run.
import * as path from "path";
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";

/** The policy pack's folder. */
export const POLICIES_DIR = path.resolve(__dirname, "..", "..", "policies");

interface DeserializeModule {
  deserializeProperties(
    struct: { toJavaScript(): Record<string, unknown> },
    proxySecrets: boolean,
  ): Record<string, unknown>;
}
interface SecretModule {
  Secret: new (value: unknown) => { value: unknown };
}
interface ProxyModule {
  isSpecialProxy: string;
  getSpecialProxyTarget: string;
  unknownCheckingProxy<T>(value: T): T;
  UnknownValueError: new (...args: never[]) => Error;
}
interface PolicyModule {
  getPulumiType(value: unknown): string | undefined;
  isResourcePolicy(policy: unknown): policy is ResourceValidationPolicy;
  isStackPolicy(policy: unknown): policy is StackValidationPolicy;
}
interface RuntimeModule {
  isDryRun(): boolean;
  _setIsDryRun?(value: boolean): void;
}

/** Loads a module as the pack resolves it, so `Secret` and the proxies are the classes its policies see. */
function fromPack<T>(id: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- resolved from the pack's folder at run time
  return require(require.resolve(id, { paths: [POLICIES_DIR] })) as T;
}

/**
 * @pulumi/policy's secretsPreservingProxy (secret.js): reads unwrap `Secret`, writes to a secret stay
 * secret, and the special-proxy markers reach the target. Unlike 1.21's, it returns non-configurable,
 * read-only properties as they are (as its unknownCheckingProxy does), so Array methods keep working.
 */
function secretsPreservingProxy(target: unknown, secret: SecretModule, proxy: ProxyModule): unknown {
  if (!(target instanceof Object)) return target;
  return new Proxy(target, {
    get: (object, key) => {
      if (key === proxy.isSpecialProxy) return true;
      if (key === proxy.getSpecialProxyTarget) return object;
      const value = (object as Record<string | symbol, unknown>)[key];
      const descriptor = Object.getOwnPropertyDescriptor(object, key);
      if (
        descriptor &&
        "value" in descriptor &&
        descriptor.configurable === false &&
        descriptor.writable === false
      ) {
        return value;
      }
      return secretsPreservingProxy(value instanceof secret.Secret ? value.value : value, secret, proxy);
    },
    set: (object, key, value) => {
      const record = object as Record<string | symbol, unknown>;
      record[key] = record[key] instanceof secret.Secret ? new secret.Secret(value) : value;
      return true;
    },
  });
}

export interface PackModules {
  deserialize: DeserializeModule;
  proxy: ProxyModule;
  secret: SecretModule;
  policy: PolicyModule;
  runtime: RuntimeModule;
}

let packModules: PackModules | undefined;

/** The pack's own @pulumi/policy internals and @pulumi/pulumi runtime, loaded once. */
export function pack(): PackModules {
  packModules ??= {
    deserialize: fromPack<DeserializeModule>("@pulumi/policy/deserialize"),
    proxy: fromPack<ProxyModule>("@pulumi/policy/proxy"),
    secret: fromPack<SecretModule>("@pulumi/policy/policy"),
    policy: fromPack<PolicyModule>("@pulumi/policy/policy"),
    runtime: fromPack<{ runtime: RuntimeModule }>("@pulumi/pulumi").runtime,
  };
  return packModules;
}

/**
 * Recorded inputs as a policy sees them: the pack's deserializer (secret markers become `Secret`),
 * behind the secrets-preserving proxy and the unknown-checking proxy, in the server's order.
 */
export function toPolicyProps(inputs: Record<string, unknown>): Record<string, unknown> {
  const { deserialize, proxy, secret } = pack();
  const deserialized = deserialize.deserializeProperties({ toJavaScript: () => inputs }, true);
  const raw = (deserialized as Record<string, unknown>)[proxy.getSpecialProxyTarget];
  return proxy.unknownCheckingProxy(secretsPreservingProxy(raw, secret, proxy) as Record<string, unknown>);
}

/** Runs `body` with pulumi.runtime.isDryRun() answering `preview`, as PULUMI_NODEJS_DRY_RUN does for a real pack. */
export async function withDryRun<T>(preview: boolean, body: () => Promise<T> | T): Promise<T> {
  const { runtime } = pack();
  const previous = runtime.isDryRun();
  setDryRun(runtime, preview);
  try {
    return await body();
  } finally {
    setDryRun(runtime, previous);
  }
}

/** Tells the policies whether this is a preview, as PULUMI_NODEJS_DRY_RUN does for a real pack. */
function setDryRun(runtime: RuntimeModule, preview: boolean): void {
  if (typeof runtime._setIsDryRun !== "function") {
    throw new Error(
      "this @pulumi/pulumi has no runtime._setIsDryRun; pin @pulumi/pulumi 3.x as in policies/package.json",
    );
  }
  runtime._setIsDryRun(preview);
}
