// The database's CA certificates as PEM text: parsed with node's X509Certificate for the config check
// (schema/keys/, schema/transport.ts), the components that pass them on and the steps that use them.
import { X509Certificate } from "crypto";

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
