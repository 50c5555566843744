// A host's SSH key as the stack pins it (greenlight:hosts[].hostKey): "<type> <base64>", the public half
// of the host's key as /etc/ssh/ssh_host_<type>_key.pub holds it (a trailing comment is allowed). The
// config schema, the components (remote.Command's connection.hostKey, the docker provider's known_hosts
// file) and the ops steps (the coordinator, the host-key check) read it with the same functions.
/**
 * Key types accepted: ed25519 and ECDSA. Not ssh-rsa: remote.Command pins a key by offering only its type
 * as host-key algorithm (pulumi/pulumi-command provider/pkg/provider/remote/connection.go, SSHConfig:
 * HostKeyAlgorithms = publicKey.Type()), and for "ssh-rsa" that is the SHA-1 signature OpenSSH 8.8+ refuses.
 */
export const HOST_KEY =
  /^(ssh-ed25519|ecdsa-sha2-nistp(?:256|384|521)) (AAAA[A-Za-z0-9+/]+={0,2})(?: [!-~]{1,128})?$/;

export interface HostKey {
  type: string;
  /** The key blob, as SSH sends it during the key exchange. */
  blob: Buffer;
}

/** Parses a pinned host key; throws naming the value and the fix. */
export function parseHostKey(text: string): HostKey {
  const match = HOST_KEY.exec(text.trim());
  if (!match)
    throw new Error(
      `host key ${JSON.stringify(text.slice(0, 40))}: expected "<type> <base64>" of an ed25519 or ECDSA key, the second and third fields of "ssh-keyscan -t ed25519 <host>" (ssh-ed25519 AAAA…)`,
    );
  const blob = Buffer.from(match[2], "base64");
  // The blob starts with its own type as an SSH string: a pasted key of another type is refused here.
  const inner = blob.length > 4 ? blob.subarray(4, 4 + blob.readUInt32BE(0)).toString("latin1") : "";
  if (inner !== match[1])
    throw new Error(
      `host key ${JSON.stringify(text.slice(0, 40))}: its base64 body is a ${inner || "malformed"} key, not ${match[1]}`,
    );
  return { type: match[1], blob };
}

/** The key as "<type> <base64>" (no comment): what remote.Command's connection.hostKey and known_hosts take. */
export function hostKeyText(key: HostKey): string {
  return `${key.type} ${key.blob.toString("base64")}`;
}

/** The known_hosts line for a host: `[address]:port` unless the port is 22, as OpenSSH looks it up. */
export function knownHostsLine(address: string, port: number, key: HostKey): string {
  const pattern = port === 22 ? address : `[${address}]:${port}`;
  return `${pattern} ${hostKeyText(key)}`;
}
