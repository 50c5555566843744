// Patterns for values that reach a shell, SQL or a file name. Shared by the config schema, the
// components and the operational steps, so every layer refuses the same strings.

/** A release id: letters, digits, dot, underscore, dash; 1-64 characters. */
export const RELEASE_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** A PostgreSQL identifier greenlight creates or names (database, role): lower case, no quoting needed. */
export const SQL_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** An application name, used in container, network and bucket-key names. */
export const APP_NAME = /^[a-z][a-z0-9-]{0,30}$/;

/** A Docker image reference: [registry[:port]/]repository[:tag][@sha256:<64 hex>]. */
export const IMAGE_REF =
  /^(?:[a-z0-9]+(?:[.-][a-z0-9]+)*(?::[0-9]{1,5})?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

/** The digest part of an image reference that pins it. */
export const IMAGE_DIGEST = /@sha256:[a-f0-9]{64}$/;

/** An absolute URL path without query or shell metacharacters. */
export const URL_PATH = /^\/[A-Za-z0-9._~/-]*$/;

/** A host name or IPv4 address. */
/** A short name for a Docker host (greenlight:hosts[].name, greenlight:dataHost). */
export const HOST_NAME = /^[a-z][a-z0-9-]{0,31}$/;

/** An SSH user name. */
export const SSH_USER = /^[a-z_][a-z0-9_-]{0,31}$/;

export const HOST = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

/** An S3 bucket name (the DNS-compatible subset). */
export const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** An S3 key prefix: path segments of safe characters. */
export const KEY_PREFIX = /^[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;

/** A file-system path of safe characters (absolute or relative). */
export const FS_PATH = /^[A-Za-z0-9._/-]+$/;

/** One word of an exec-form command (no spaces, quotes or shell metacharacters). */
export const COMMAND_WORD = /^[A-Za-z0-9@%+=:,./_-]+$/;

/** An environment variable name. */
export const ENV_NAME = /^[A-Z_][A-Z0-9_]{0,127}$/;

/** A person or team handle (approver). */
export const HANDLE = /^[A-Za-z0-9._@+-]{2,64}$/;

/** A ticket reference such as INC-1234 or ops#77. */
export const TICKET = /^[A-Za-z0-9._#/-]{2,64}$/;

/** Environment variable names whose values must be Pulumi secrets. */
export const SECRET_ENV_NAME =
  /(PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|API_KEY|ACCESS_KEY|CREDENTIAL|DATABASE_URL|DSN)/;
