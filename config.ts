import * as pulumi from "@pulumi/pulumi";
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
    /** Secret environment variables: names in plain sight, each value a secret. */
    env: Record<string, pulumi.Output<string>>;
  };
}

// The engine passes which keys are secret; @pulumi/pulumi reads that list with an @internal helper.
const runtimeWithSecrets = pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean };

function isConfigSecret(key: string): boolean {
  if (typeof runtimeWithSecrets.isConfigSecret !== "function") {
    throw new Error(
      "this @pulumi/pulumi does not expose which config keys are secret: pin @pulumi/pulumi 3.x as in package.json",
    );
  }
  return runtimeWithSecrets.isConfigSecret(key);
}

/**
 * Reads and validates the whole stack configuration. The only module that touches Pulumi config.
 * Throws a ConfigError listing every bad key before any resource is registered.
 * GREENLIGHT_AT (ISO-8601) sets the instant time-dependent rules are judged at; `npm run plan --at` sets it.
 */
export function loadConfig(): GreenlightConfig {
  const values = pulumi.runtime.allConfig();
  const secretKeys = new Set(Object.keys(values).filter(isConfigSecret));
  const at = process.env.GREENLIGHT_AT;
  const now = at ? new Date(at) : new Date();
  if (Number.isNaN(now.getTime())) {
    throw new Error(
      `GREENLIGHT_AT=${JSON.stringify(at)} is not an ISO-8601 time: unset it or use e.g. 2026-11-25T11:00:00Z`,
    );
  }
  const settings = parseStackConfig({ stack: pulumi.getStack(), values, secretKeys, now });
  const secret = (value: string | undefined) => (value === undefined ? undefined : pulumi.secret(value));
  return {
    ...settings,
    secrets: {
      dbAdminPassword: secret(settings.secrets.dbAdminPassword),
      migratorPassword: pulumi.secret(settings.secrets.migratorPassword),
      appPassword: pulumi.secret(settings.secrets.appPassword),
      s3SecretAccessKey: secret(settings.secrets.s3SecretAccessKey),
      webhookUrl: secret(settings.secrets.webhookUrl),
      env: Object.fromEntries(
        Object.entries(settings.secrets.env).map(([name, value]) => [name, pulumi.secret(value)]),
      ),
    },
  };
}
