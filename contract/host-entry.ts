// A host as the ops steps' command lines name it: `<name>=<user>@<address>[:<port>]` (the delivery's
// and the control plane's `--host`). One parser; each command line words its own error.
import { HOST, HOST_NAME, SSH_USER } from "./patterns";

/** A host's name (in reports and errors) and how to reach it over SSH. */
export interface HostEntry {
  name: string;
  user: string;
  address: string;
  port: number;
}

/** Parses `<name>=<user>@<address>[:<port>]` (port 22 when absent); undefined when it is not one. */
export function parseHostEntryText(value: string): HostEntry | undefined {
  const match = /^([^=]+)=([^@]+)@([^:]+)(?::(\d{1,5}))?$/.exec(value);
  if (!match) return undefined;
  const port = match[4] === undefined ? 22 : Number(match[4]);
  if (!HOST_NAME.test(match[1]) || !SSH_USER.test(match[2]) || !HOST.test(match[3])) return undefined;
  if (port < 1 || port > 65535) return undefined;
  return { name: match[1], user: match[2], address: match[3], port };
}
