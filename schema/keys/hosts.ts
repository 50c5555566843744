// The Docker hosts: SSH access, the image delivery, the proxies, the registry the hosts pull from.
// Keys of the `greenlight:` config namespace; schema/keys/index.ts merges every table.
import { z } from "zod";
import * as p from "../../contract/patterns";
import { HOST_KEY, parseHostKey } from "../../contract/host-key";
import { ConfigKey, text, port, imageRef, secretText } from "./types";

const HOST_KEY_EXPECTED =
  "the host's SSH key, pinned: '<type> <base64>' of its ed25519 or ECDSA key, from ssh-keyscan -t ed25519 <address> checked against the host's own /etc/ssh/ssh_host_ed25519_key.pub (RUNBOOK.md, Before the first release)";

/** One Docker host of a stack with hosts (greenlight:hosts). */
const dockerHost = z.object(
  {
    name: text(p.HOST_NAME, "a host name of lower-case letters, digits and '-' (e.g. web-1)"),
    address: text(p.HOST, "the address the runner reaches the host at over SSH (name or IP)"),
    user: text(p.SSH_USER, "an SSH user such as root or deploy").default("root"),
    port: port().default(22),
    hostKey: z
      .string({ message: `expected ${HOST_KEY_EXPECTED}` })
      .regex(HOST_KEY, `expected ${HOST_KEY_EXPECTED}`)
      .refine(
        (value) => {
          try {
            parseHostKey(value);
            return true;
          } catch {
            return false;
          }
        },
        { message: "expected a host key whose base64 body is a key of the type it names" },
      ),
    // Retired: the proxies' runtime API no longer listens on a private address (the switch goes over SSH).
    privateAddress: z
      .never({
        message:
          "expected no privateAddress: nothing listens on the private network any more (the switch reaches every proxy over SSH); remove it",
      })
      .optional(),
    replicaAddress: text(p.HOST, "the address the host's replicas publish on (default 127.0.0.1)").default(
      "127.0.0.1",
    ),
    platform: z
      .enum(["linux/amd64", "linux/arm64"], { message: "expected linux/amd64 or linux/arm64" })
      .default("linux/amd64"),
  },
  { message: "expected a host: {name, address, hostKey[, user, port, replicaAddress, platform]}" },
);

/** The Docker hosts, their SSH access, the images they get and their proxies. */
export const HOST_KEYS = {
  hosts: {
    type: "array",
    items: "object",
    description:
      "Docker hosts the app runs on, over SSH: [{name, address, hostKey, user, port, replicaAddress, platform}]; hostKey pins the host's SSH key; unset: this machine.",
    schema: z
      .array(dockerHost)
      .min(1, "expected at least one host, or leave greenlight:hosts unset for this machine")
      .max(32, "expected at most 32 hosts")
      .optional(),
    defaultText: "this machine (no SSH)",
  },
  sshPrivateKey: {
    type: "string",
    description: "Private key of the hosts' SSH user (secret): the remote steps connect with it.",
    schema: secretText().optional(),
    secret: true,
  },
  dataHost: {
    type: "string",
    description:
      "Name of the host that runs backup, drill and migration (it reaches the database); unset: the runner.",
    schema: text(p.HOST_NAME, "the name of one of greenlight:hosts").optional(),
    defaultText: "the runner",
  },
  imageDelivery: {
    type: "string",
    description:
      "How images reach the hosts: registry (each host pulls the release image) or ssh (the runner sends each image a host lacks over SSH, checked by image id; hosts need no registry).",
    schema: z.enum(["registry", "ssh"], { message: "expected registry or ssh" }).default("registry"),
  },
  opsBaseImage: {
    type: "string",
    description:
      "Base image of the ops image, built once where Pulumi runs for the hosts' platform (node 22 with Debian's haproxy and PostgreSQL client).",
    schema: imageRef().default("node:22-bookworm-slim"),
  },
  proxyListenAddress: {
    type: "string",
    description: "Address the traffic proxy listens on (0.0.0.0 on hosts behind DNS or a load balancer).",
    schema: text(p.HOST, "an IP address or host name such as 127.0.0.1 or 0.0.0.0").default("127.0.0.1"),
  },
  proxyPort: {
    type: "integer",
    description: "Port the traffic proxy listens on, at greenlight:proxyListenAddress.",
    schema: port().default(8080),
  },
  stateDir: {
    type: "string",
    description: "Directory for the proxy's configuration, state file, socket and access log.",
    schema: text(p.FS_PATH, "a directory path of letters, digits and . _ - /").optional(),
    defaultText: ".greenlight/<stack>",
  },
} satisfies Record<string, ConfigKey>;

/** The registry the hosts pull from (registry delivery). */
export const REGISTRY_KEYS = {
  registryServer: {
    type: "string",
    description:
      "Registry the hosts pull release images from (with registryUser and registryPassword); unset: images the hosts pull without credentials.",
    schema: text(
      /^[a-z0-9][a-z0-9.-]*(:\d{1,5})?$/,
      "a registry address such as registry.example.com",
    ).optional(),
  },
  registryUser: {
    type: "string",
    description: "User the hosts log in to greenlight:registryServer as.",
    schema: text(p.HANDLE, "a registry user name (letters, digits, . _ @ + -)").optional(),
  },
  registryPassword: {
    type: "string",
    description: "Password or token of greenlight:registryUser (secret): every host's pulls use it.",
    schema: secretText().optional(),
    secret: true,
  },
} satisfies Record<string, ConfigKey>;
