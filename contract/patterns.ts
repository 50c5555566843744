// Patterns for values that reach a shell, SQL or a file name, and for what the policies look for in a
// resource's inputs. Defined once for the config schema, the components, the operational steps, the
// tools and the policy pack, so every layer refuses the same strings.

/** A release id: letters, digits, dot, underscore, dash; 1-64 characters. */
export const RELEASE_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** A Pulumi stack name greenlight accepts (also a segment of every backup key). */
export const STACK_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** A PostgreSQL identifier greenlight creates or names (database, role): lower case, no quoting needed. */
export const SQL_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** An application name, used in container, network and bucket-key names. */
export const APP_NAME = /^[a-z][a-z0-9-]{0,30}$/;

/** A Docker image reference: [registry[:port]/]repository[:tag][@sha256:<64 hex>]. */
export const IMAGE_REF =
  /^(?:[a-z0-9]+(?:[.-][a-z0-9]+)*(?::[0-9]{1,5})?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

/** A bare image id, as `docker image inspect` or a build reports it. */
export const IMAGE_ID = /^sha256:[a-f0-9]{64}$/;

/** An image a container can run: a reference (IMAGE_REF) or a bare image id (IMAGE_ID). */
export function isImageRef(value: string): boolean {
  return IMAGE_REF.test(value) || IMAGE_ID.test(value);
}

/** The digest part of an image reference that pins it. */
export const IMAGE_DIGEST = /@sha256:[a-f0-9]{64}$/;

/** An image pinned by content: name@sha256:<64 hex> (IMAGE_DIGEST), or a bare image id sha256:<64 hex>. */
export const PINNED_IMAGE = /(?:@|^)sha256:[a-f0-9]{64}$/;

/** An absolute URL path without query or shell metacharacters. */
export const URL_PATH = /^\/[A-Za-z0-9._~/-]*$/;

/** A short name for a Docker host (greenlight:hosts[].name, greenlight:dataHost). */
export const HOST_NAME = /^[a-z][a-z0-9-]{0,31}$/;

/** An SSH user name. */
export const SSH_USER = /^[a-z_][a-z0-9_-]{0,31}$/;

/** A host name or IPv4 address. */
export const HOST = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

/** Whether a host is this machine's loopback (what travels there never crosses a network). */
export function isLoopbackHost(host: string): boolean {
  return /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|::1)$/.test(host);
}

/** An S3 bucket name (the DNS-compatible subset). */
export const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** An AWS region such as eu-central-1. */
export const AWS_REGION = /^[a-z]{2}(?:-[a-z]+)+-\d$/;

/** An S3 key prefix: path segments of safe characters. */
export const KEY_PREFIX = /^[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;

/** A file-system path of safe characters (absolute or relative). */
export const FS_PATH = /^[A-Za-z0-9._/-]+$/;

/** One word of an exec-form command (no spaces, quotes or shell metacharacters). */
export const COMMAND_WORD = /^[A-Za-z0-9@%+=:,./_-]+$/;

/** "host" or a Docker network name. */
export const DOCKER_NETWORK = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** An environment variable name. */
export const ENV_NAME = /^[A-Z_][A-Z0-9_]{0,127}$/;

/** A person or team handle (approver). */
export const HANDLE = /^[A-Za-z0-9._@+-]{2,64}$/;

/** A ticket reference such as INC-1234 or ops#77. */
export const TICKET = /^[A-Za-z0-9._#/-]{2,64}$/;

/** Environment variable names whose values must be Pulumi secrets. */
export const SECRET_ENV_NAME =
  /(PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|API_KEY|ACCESS_KEY|CREDENTIAL|DATABASE_URL|DSN)/;

/** Secret variables whose names SECRET_ENV_NAME does not catch (a webhook URL carries its token). */
export const ALSO_SECRET_ENV_NAMES: readonly string[] = ["GREENLIGHT_WEBHOOK_URL"];

/** Whether a variable holds a secret: by its name's pattern, or listed in ALSO_SECRET_ENV_NAMES. */
export function isSecretEnvName(name: string): boolean {
  return SECRET_ENV_NAME.test(name) || ALSO_SECRET_ENV_NAMES.includes(name);
}

/** Credentials that must never stand in a command line, each with what it is. */
export const COMMAND_LINE_CREDENTIALS: readonly { pattern: RegExp; what: string }[] = [
  {
    pattern: /\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@'"]+:[^\s@'"]+@/i,
    what: "a URL with a password (scheme://user:password@…)",
  },
  { pattern: /\bPGPASSWORD=(?!["']?\$)\S/, what: "a PGPASSWORD= assignment" },
  { pattern: /--password(?:=|\s+)(?!["']?\$)\S/, what: "a --password argument" },
  { pattern: /(?:^|[\s'"])password=(?!["']?\$)[^\s'"]/i, what: "a password= connection-string keyword" },
  {
    pattern: /\b[A-Z0-9_]*(?:PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|API_KEY)[A-Z0-9_]*=(?!["']?\$)\S/,
    what: "a secret-named variable assigned inline",
  },
];

/**
 * A secret whose value is not known where it is read: the offline readers of stack files (plan, release,
 * rollback) put it for every `secure:` value, and `plan --json` prints it for every secret input.
 */
export const SECRET_PLACEHOLDER = "[secret]";
