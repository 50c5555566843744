// The known_hosts file the hosts' docker providers read: one line per host from its pinned key
// (greenlight:hosts[].hostKey), written by the program into .greenlight/known_hosts/<stack> and named
// relative to the project folder, where the engine starts provider plugins (pulumi/pulumi
// sdk/go/common/resource/plugin/plugin.go: cmd.Dir = pwd, the program's folder), so the provider's
// inputs stay the same on every machine and a changed key changes only the file.
import * as fs from "fs";
import * as path from "path";
import { knownHostsLine, parseHostKey } from "../../contract/host-key";
import { HostSettings } from "../../schema/types";

/** The file's path relative to the project folder. */
export function knownHostsPath(stack: string): string {
  return `.greenlight/known_hosts/${stack}`;
}

/** The file's text: `[address]:port <type> <base64>` per host, as OpenSSH looks a host up. */
export function knownHostsText(hosts: readonly HostSettings[]): string {
  return (
    hosts.map((host) => knownHostsLine(host.address, host.port, parseHostKey(host.hostKey))).join("\n") + "\n"
  );
}

/** Writes the file (mode 600) when its text changed; returns its path relative to the project folder. */
export function stageKnownHosts(
  stack: string,
  hosts: readonly HostSettings[],
  projectDir = process.cwd(),
): string {
  const relative = knownHostsPath(stack);
  const file = path.join(projectDir, relative);
  const text = knownHostsText(hosts);
  if (!fs.existsSync(file) || fs.readFileSync(file, "utf8") !== text) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, text, { mode: 0o600 });
  }
  return relative;
}
