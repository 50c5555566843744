import * as pulumi from "@pulumi/pulumi";
import { ENV_NAMESPACE, NAMESPACE } from "./schema/keys";
import { parseStackConfig } from "./schema/parse";
import { StackSettings } from "./schema/types";

/** The stack configuration as the program uses it: every secret is a Pulumi secret Output. */
export interface GreenlightConfig extends Omit<StackSettings, "secrets"> {
  secrets: {
    dbAdminPassword?: pulumi.Output<string>;
    migratorPassword: pulumi.Output<string>;
    appPassword: pulumi.Output<string>;
    s3SecretAccessKey?: pulumi.Output<string>;
    webhookUrl?: pulumi.Output<string>;
    /** The hosts' SSH private key (stacks with hosts). */
    sshPrivateKey?: pulumi.Output<string>;
    /** Password of greenlight:registryServer, for the hosts' pulls. */
    registryPassword?: pulumi.Output<string>;
    /** Secret environment variables (named in greenlight:secretEnv): names in plain sight, each value a secret. */
    env: Record<string, pulumi.Output<string>>;
  };
}

/**
 * Reads and validates the whole stack configuration. The only module that touches Pulumi config, and
 * only through the SDK's public API: `pulumi.runtime.allConfig()` for the keys that are set, and
 * `pulumi.Config` getSecret/requireSecret for every secret the schema or greenlight:secretEnv names.
 * Throws a ConfigError listing every bad key before any resource is registered.
 * GREENLIGHT_AT (ISO-8601) sets the instant time-dependent rules are judged at; `npm run plan --at` sets it.
 */
export function loadConfig(): GreenlightConfig {
  const at = process.env.GREENLIGHT_AT;
  const now = at ? new Date(at) : new Date();
  if (Number.isNaN(now.getTime())) {
    throw new Error(
      `GREENLIGHT_AT=${JSON.stringify(at)} is not an ISO-8601 time: unset it or use e.g. 2026-11-25T11:00:00Z`,
    );
  }
  const settings = parseStackConfig({ stack: pulumi.getStack(), values: pulumi.runtime.allConfig(), now });
  const config = new pulumi.Config(NAMESPACE);
  const envConfig = new pulumi.Config(ENV_NAMESPACE);
  return {
    ...settings,
    secrets: {
      dbAdminPassword: config.getSecret("dbAdminPassword"),
      migratorPassword: config.requireSecret("migratorPassword"),
      appPassword: config.requireSecret("appPassword"),
      s3SecretAccessKey: config.getSecret("s3SecretAccessKey"),
      webhookUrl: config.getSecret("webhookUrl"),
      sshPrivateKey: config.getSecret("sshPrivateKey"),
      registryPassword: config.getSecret("registryPassword"),
      env: Object.fromEntries(
        Object.keys(settings.secrets.env).map((name) => [name, envConfig.requireSecret(name)]),
      ),
    },
  };
}
