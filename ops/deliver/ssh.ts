// The delivery's SSH sessions: the runner's OpenSSH client, as the hosts' ssh:// docker providers use it
// (its agent, its config, and known_hosts or the file given), never asking anything (BatchMode).
import { ChildProcess, spawn } from "child_process";
import { HostEntry, parseHostEntryText } from "../../contract/host-entry";
import { childExit, collectStdout } from "../lib/stream";
import { StopRequest } from "../lib/step";
import { killOnStop } from "../lib/stop";

/** A host the image goes to: its name (in reports and failures) and how to reach it. */
export type DeliveryHost = HostEntry;

/** `name=user@address[:port]`, the form the command line takes. */
export function parseDeliveryHost(value: string): DeliveryHost {
  const host = parseHostEntryText(value);
  if (host === undefined)
    throw new Error("expected <name>=<user>@<address>[:<port>], e.g. web-1=deploy@10.0.0.11:22");
  return host;
}

export interface SshSettings {
  /** A known_hosts file holding the hosts' keys: then only those keys are accepted. */
  knownHosts?: string;
  /** A private key file to log in with (and no other key): the stack's key, from the environment. */
  identityFile?: string;
  connectTimeoutSeconds: number;
  env: NodeJS.ProcessEnv;
}

/** ssh's arguments: no prompt, a bounded connect, a dead peer noticed within a minute. */
export function sshArgs(host: DeliveryHost, command: string, settings: Omit<SshSettings, "env">): string[] {
  return [
    "-o",
    "BatchMode=yes",
    "-o",
    `ConnectTimeout=${settings.connectTimeoutSeconds}`,
    "-o",
    "ServerAliveInterval=15",
    "-o",
    "ServerAliveCountMax=4",
    ...(settings.knownHosts
      ? ["-o", `UserKnownHostsFile=${settings.knownHosts}`, "-o", "StrictHostKeyChecking=yes"]
      : []),
    ...(settings.identityFile ? ["-i", settings.identityFile, "-o", "IdentitiesOnly=yes"] : []),
    "-p",
    String(host.port),
    `${host.user}@${host.address}`,
    command,
  ];
}

/** A session that runs one command; `stdin` is piped when the command reads a stream. */
export interface Session {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

export function openSession(
  host: DeliveryHost,
  command: string,
  settings: SshSettings,
  stop: StopRequest,
  stdin: "pipe" | "ignore" = "ignore",
): Session {
  const child = spawn("ssh", sshArgs(host, command, settings), {
    env: settings.env,
    stdio: [stdin, "pipe", "pipe"],
  });
  killOnStop(stop, child);
  const stdout = collectStdout(child, 4 * 1024 * 1024);
  const done = childExit(child).then(async (exit) => ({ ...exit, stdout: await stdout }));
  return { child, done };
}

/** The line of an ssh failure worth showing: ssh's own complaint, or the remote command's last line. */
export function sessionError(stderr: string, code: number | null): string {
  const lines = stderr
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
  return lines[lines.length - 1] ?? `exit ${code ?? "by signal"}`;
}
