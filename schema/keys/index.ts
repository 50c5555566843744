// The `greenlight:` config namespace: every key, merged from the tables by topic (app.ts, data.ts,
// hosts.ts, release.ts), in the order the README's reference lists them.
import { ConfigKey } from "./types";
import { APP_KEYS } from "./app";
import { DATA_KEYS } from "./data";
import { HOST_KEYS, REGISTRY_KEYS } from "./hosts";
import { RELEASE_KEYS } from "./release";

export type { ConfigKey, PulumiConfigType } from "./types";

/**
 * Every key greenlight reads from the `greenlight:` namespace. Pulumi.yaml's `config:` block and the
 * README's configuration reference are generated from this table (`npm run gen:config`) and a test
 * checks that they agree. Environment variables for the app live in the `greenlight-env:` namespace.
 */
export const CONFIG_KEYS = {
  ...APP_KEYS,
  ...DATA_KEYS,
  ...HOST_KEYS,
  ...RELEASE_KEYS,
  ...REGISTRY_KEYS,
} satisfies Record<string, ConfigKey>;

export type ConfigKeyName = keyof typeof CONFIG_KEYS;

/** The project's config namespace. */
export const NAMESPACE = "greenlight";

/** The namespace whose keys become the app's environment variables. */
export const ENV_NAMESPACE = "greenlight-env";

/** Keys greenlight no longer reads, each with why and what to do (a stack still setting one is refused). */
export const RETIRED_KEYS: Record<string, string> = {
  proxyAdminPort:
    "expected no proxyAdminPort: the proxies' runtime API no longer listens on TCP (the switch reaches each proxy's UNIX socket over SSH); remove the key",
  proxyLogPort:
    "expected no proxyLogPort: the guard reads each proxy's access log over SSH, no UDP port listens; remove the key",
};
