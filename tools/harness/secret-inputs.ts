// Which inputs of a recorded graph should be Pulumi secrets and are not. The engine hands a policy every
// secret unwrapped (so the pack can only judge command lines); the mock runtime still marks secrets, so
// this check runs on the harness's graph: every secret-looking environment entry of a step command or
// an app container, and every value holding a URL with a password, must be a secret.
import { COMMAND_LINE_CREDENTIALS, SECRET_ENV_NAME } from "../../contract/patterns";
import { RecordedResource, isSecretMarker } from "./types";

/** One plaintext input that should be secret. */
export interface PlaintextSecret {
  urn: string;
  /** The property and entry, e.g. environment.PGPASSWORD or envs[3] (SESSION_SECRET). */
  where: string;
}

const URL_WITH_PASSWORD = COMMAND_LINE_CREDENTIALS[0].pattern;

function plaintext(name: string, value: unknown): boolean {
  if (isSecretMarker(value) || typeof value !== "string" || value === "") return false;
  return SECRET_ENV_NAME.test(name) || URL_WITH_PASSWORD.test(value);
}

/** Every plaintext input of `resources` that looks secret, in graph order. */
export function plaintextSecrets(resources: RecordedResource[]): PlaintextSecret[] {
  const found: PlaintextSecret[] = [];
  for (const resource of resources) {
    const environment = resource.inputs.environment;
    if (environment && typeof environment === "object" && !isSecretMarker(environment)) {
      for (const [name, value] of Object.entries(environment as Record<string, unknown>)) {
        if (plaintext(name, value)) found.push({ urn: resource.urn, where: `environment.${name}` });
      }
    }
    const envs = resource.inputs.envs;
    if (Array.isArray(envs)) {
      envs.forEach((entry: unknown, index) => {
        if (typeof entry !== "string") return;
        const name = entry.split("=")[0];
        if (plaintext(name, entry.slice(name.length + 1)))
          found.push({ urn: resource.urn, where: `envs[${index}] (${name})` });
      });
    }
  }
  return found;
}
