// Text patterns the policies judge values with. Policies may not import outside policies/, so the ones
// the program also uses are copies; tests/policies/patterns.test.ts fails when a copy drifts.

/** Environment variable names whose values must be Pulumi secrets (copy of schema/patterns.ts SECRET_ENV_NAME). */
export const SECRET_ENV_NAME =
  /(PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|API_KEY|ACCESS_KEY|CREDENTIAL|DATABASE_URL|DSN)/;

/** schema/patterns.ts IMAGE_DIGEST (name@sha256:<64 hex>), also accepting a bare image id (sha256:<64 hex>). */
export const PINNED_IMAGE = /(?:@|^)sha256:[a-f0-9]{64}$/;

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
