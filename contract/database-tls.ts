// TLS to PostgreSQL, as every layer names it: libpq's sslmodes, which of them may send the admin
// password and the dumps in clear, how the CA reaches a data step (an environment variable, not a file
// the host would need) and where it lies in the app's and the migration's containers. Plain data: the
// policy pack compiles contract/ too; reading certificates is schema/database-ca.ts.
/** libpq's sslmode values, weakest first (https://www.postgresql.org/docs/15/libpq-ssl.html, table 34.1). */
export const SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] as const;

export type SslMode = (typeof SSL_MODES)[number];

/** Modes that connect without TLS (disable), or fall back to it when the server or a man in the middle says so. */
export const PLAINTEXT_SSL_MODES: readonly SslMode[] = ["disable", "allow", "prefer"];

/** Modes that check the server's certificate against a CA: they need one. */
export const VERIFYING_SSL_MODES: readonly SslMode[] = ["verify-ca", "verify-full"];

/** The data steps' variable carrying the CA certificate(s) as PEM text (not secret: a CA is public). */
export const DATABASE_CA_ENV = "GREENLIGHT_DB_CA";

/** Where the CA lies in the app's containers and the migration's one-off container (sslrootcert). */
export const DATABASE_CA_FILE = "/etc/greenlight/db-ca.pem";
