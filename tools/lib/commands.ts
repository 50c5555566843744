// The exact Pulumi commands the lifecycle tools print and run. Pure: argv arrays plus a copy-paste form.
import { shellQuote } from "../../contract/shell";

/** A command the user runs (or the tool runs with --yes), with why it is there. */
export interface PlannedCommand {
  argv: string[];
  purpose: string;
  /** Reads a value from the terminal (a secret the tool must not print). */
  interactive?: boolean;
  /** The config key a `pulumi config set` writes, and its value (absent: a secret typed at the prompt). */
  sets?: { key: string; value?: string };
}

/** The copy-paste form of a command. */
export function formatCommand(argv: readonly string[]): string {
  return argv.map(shellQuote).join(" ");
}

/** The policy pack and its per-stack config, as every preview and update of greenlight runs them. */
export function policyPackArgs(stack: string): string[] {
  return ["--policy-pack", "policies", "--policy-pack-config", `policies/config/${stack}.json`];
}

export function pulumiConfigSet(stack: string, key: string, value: string): string[] {
  return ["pulumi", "config", "set", key, value, "--stack", stack];
}

export function pulumiPreview(stack: string): string[] {
  return ["pulumi", "preview", "--stack", stack, ...policyPackArgs(stack)];
}

/** `pulumi up`; `yes` skips the confirmation prompt (the tools' --yes mode). */
export function pulumiUp(stack: string, message: string, yes: boolean): string[] {
  return [
    "pulumi",
    "up",
    ...(yes ? ["--yes"] : []),
    "--stack",
    stack,
    ...policyPackArgs(stack),
    "--message",
    message,
  ];
}

/** How the tools read a stack's history; the CLI's default page size is 10, so ask for more. */
export function pulumiStackHistory(stack: string, pageSize: number): string[] {
  return [
    "pulumi",
    "stack",
    "history",
    "--json",
    "--show-secrets=false",
    "--stack",
    stack,
    "--page-size",
    String(pageSize),
  ];
}
