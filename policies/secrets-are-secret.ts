// Seeds 002 and 003: "No hardcoded secrets or credentials"; secrets reach steps through environment
// variables, never argv (ops/ contract). A password in a command line shows in `ps`, logs and state.
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { RESOURCE } from "./lib/contract";
import { label } from "./lib/graph";
import { COMMAND_LINE_CREDENTIALS, SECRET_ENV_NAME } from "./lib/patterns";
import { entrySecretness, secretness } from "./lib/secrets";

/** The command lines of command:local:Command. */
const COMMAND_FIELDS = ["create", "update", "delete"] as const;

/** A URL carrying a password, as a plaintext environment value must never be. */
const URL_WITH_PASSWORD = COMMAND_LINE_CREDENTIALS[0].pattern;

function credentialIn(text: string): string | undefined {
  return COMMAND_LINE_CREDENTIALS.find(({ pattern }) => pattern.test(text))?.what;
}

function checkCommand(args: ResourceValidationArgs, reportViolation: ReportViolation): void {
  for (const field of COMMAND_FIELDS) {
    const line = args.props[field];
    if (line === undefined || line === null) continue;
    if (secretness(args.props, field) === "secret") {
      reportViolation(
        `command ${label(args)}: its ${field} line is a secret, so a secret value was interpolated into the command line, ` +
          `where ps, logs and the state show it; pass it through environment (a secret entry) and read it there.`,
      );
      continue;
    }
    const what = typeof line === "string" ? credentialIn(line) : undefined;
    if (what) {
      reportViolation(
        `command ${label(args)}: its ${field} line contains ${what}; pass credentials through environment (a secret entry), never in the command line.`,
      );
    }
  }
  const environment = args.props.environment;
  if (typeof environment !== "object" || environment === null) return;
  for (const [name, value] of Object.entries(environment as Record<string, unknown>)) {
    if (typeof value !== "string" || value === "") continue;
    if (entrySecretness(args.props, "environment", name) !== "plain") continue;
    if (SECRET_ENV_NAME.test(name)) {
      reportViolation(
        `command ${label(args)}: environment ${name} looks secret but is plaintext; wrap it with pulumi.secret (or read it from a --secret config key).`,
      );
    } else if (URL_WITH_PASSWORD.test(value)) {
      reportViolation(
        `command ${label(args)}: environment ${name} holds a URL with a password in plaintext; make it a secret.`,
      );
    }
  }
}

function checkContainer(args: ResourceValidationArgs, reportViolation: ReportViolation): void {
  const envs = args.props.envs;
  if (!Array.isArray(envs)) return;
  envs.forEach((entry: unknown, index: number) => {
    if (typeof entry !== "string" || entrySecretness(args.props, "envs", index) !== "plain") return;
    const separator = entry.indexOf("=");
    const name = separator < 0 ? entry : entry.slice(0, separator);
    const value = separator < 0 ? "" : entry.slice(separator + 1);
    if (value === "") return;
    if (SECRET_ENV_NAME.test(name)) {
      reportViolation(
        `container ${label(args)}: envs ${name} looks secret but is plaintext; set it with pulumi config set --secret greenlight-env:${name} (components keep it secret).`,
      );
    } else if (URL_WITH_PASSWORD.test(value)) {
      reportViolation(
        `container ${label(args)}: envs ${name} holds a URL with a password in plaintext; make it a secret.`,
      );
    }
  });
}

export const secretsAreSecret: ResourceValidationPolicy = {
  name: "secrets-are-secret",
  description:
    "Requires passwords and connection strings to be secret inputs: never in command lines, and every secret-looking environment entry of a command or container a Pulumi secret.",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Pass credentials to steps through environment entries wrapped in pulumi.secret; set app secrets with pulumi config set --secret greenlight-env:<NAME>.",
  validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    if (args.type === RESOURCE.command) checkCommand(args, reportViolation);
    else if (args.type === RESOURCE.container) checkContainer(args, reportViolation);
  },
};
