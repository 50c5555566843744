// TLS to PostgreSQL, as every layer names it: libpq's sslmodes, which of them may send the admin
// password and the dumps in clear, how the CA reaches a data step (an environment variable, not a file
// the host would need) and where it lies in the app's and the migration's containers.
import { X509Certificate } from "crypto";

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

/** The PEM blocks of certificates in a text, in order. */
function certificateBlocks(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
}

/**
 * Parses PEM text holding one or more CA certificates; the problem, as "expected …" text, when it
 * holds none or one that is not a certificate.
 */
export function parseCaCertificates(pem: string): X509Certificate[] | string {
  const blocks = certificateBlocks(pem);
  if (blocks.length === 0)
    return "expected PEM text with at least one -----BEGIN CERTIFICATE----- block, or the path of such a file";
  const certificates: X509Certificate[] = [];
  for (const [index, block] of blocks.entries()) {
    try {
      certificates.push(new X509Certificate(block));
    } catch (error) {
      return `expected certificate ${index + 1} to be X.509 PEM (${(error as Error).message})`;
    }
  }
  return certificates;
}

/** What makes parsed CA certificates unusable at `now` (not a CA, expired, not yet valid), or undefined. */
export function caCertificateProblem(certificates: X509Certificate[], now: Date): string | undefined {
  for (const certificate of certificates) {
    const name = certificate.subject.replace(/\n/g, ", ");
    if (!certificate.ca)
      return `expected CA certificates; "${name}" is not one (basicConstraints CA:FALSE): give the CA that signed the server's certificate`;
    if (Date.parse(certificate.validTo) <= now.getTime())
      return `expected a valid CA; "${name}" expired ${new Date(certificate.validTo).toISOString()}`;
    if (Date.parse(certificate.validFrom) > now.getTime())
      return `expected a valid CA; "${name}" is valid only from ${new Date(certificate.validFrom).toISOString()}`;
  }
  return undefined;
}

/** The certificates as normalized PEM text, one block per certificate. */
export function caBundle(certificates: X509Certificate[]): string {
  return certificates.map((certificate) => certificate.toString().trim()).join("\n") + "\n";
}
