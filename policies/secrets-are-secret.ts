// "No hardcoded secrets or credentials": secrets reach steps through environment variables, never argv
// (ops/ contract). A password in a command line shows in `ps`, in the update's log and in the state.
// The engine hands a policy every secret already unwrapped (pulumi/pulumi-policy server.ts
// deserializeProperties(…, false)), so a policy cannot tell a secret input from a plaintext one; what
// it can see is a credential written into a command line, and that is what this policy judges. That
// secret-looking environment entries are Pulumi secrets is proven on the program's own graph by the
// tests (tests/components/secrets.test.ts), where the mock runtime still marks them.
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { isCommandType } from "../contract/resources";
import { label } from "./lib/graph";
import { COMMAND_LINE_CREDENTIALS } from "../contract/patterns";

/** The command lines of a command resource. */
const COMMAND_FIELDS = ["create", "update", "delete"] as const;

function credentialIn(text: string): string | undefined {
  return COMMAND_LINE_CREDENTIALS.find(({ pattern }) => pattern.test(text))?.what;
}

function checkCommand(args: ResourceValidationArgs, reportViolation: ReportViolation): void {
  for (const field of COMMAND_FIELDS) {
    const line = args.props[field];
    const what = typeof line === "string" ? credentialIn(line) : undefined;
    if (what) {
      reportViolation(
        `command ${label(args)}: its ${field} line contains ${what}; pass credentials through environment (a secret entry), never in the command line.`,
      );
    }
  }
}

export const secretsAreSecret: ResourceValidationPolicy = {
  name: "secrets-are-secret",
  description:
    "Requires credentials to stay out of command lines: no password, secret-named assignment or URL with a password in a step's create, update or delete line.",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Pass credentials to steps through environment entries wrapped in pulumi.secret; set app secrets with pulumi config set --secret greenlight-env:<NAME> and list the name in greenlight:secretEnv.",
  validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    if (isCommandType(args.type)) checkCommand(args, reportViolation);
  },
};
