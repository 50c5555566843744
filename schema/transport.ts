// Rules for what crosses a network the stack does not control: TLS to PostgreSQL (the admin password
// and every dump travel there), the webhook (its URL carries a token, its body release details), the
// base image every host builds the ops image from (it receives the admin password and AWS keys), and
// the object lock that keeps backups when credentials leak. Each refusal names the key and the fix.
import { PLAINTEXT_SSL_MODES, SslMode, VERIFYING_SSL_MODES } from "../contract/database-tls";
import { caCertificateProblem, parseCaCertificates } from "./database-ca";
import { IMAGE_DIGEST, SECRET_PLACEHOLDER, isLoopbackHost } from "../contract/patterns";
import type { Decoded, Fail, RuleContext } from "./rules";

/** The stack whose connections must verify the server: the one named production. */
export const PRODUCTION_STACK = "production";

/** The only stack that may talk in clear: everything on this machine. */
export const LOCAL_STACK = "local";

/**
 * sslmode when greenlight:dbSslMode is unset: verify-full on production, disable on local when the
 * database is this machine's loopback, require everywhere else.
 */
export function defaultSslMode(stack: string, dbHost: string | undefined): SslMode {
  if (stack === PRODUCTION_STACK) return "verify-full";
  if (stack === LOCAL_STACK && isLoopbackHost(dbHost ?? "127.0.0.1")) return "disable";
  return "require";
}

const SET_MODE = "pulumi config set greenlight:dbSslMode verify-full";
const SET_CA = 'pulumi config set greenlight:dbSslRootCert -- "$(cat db-ca.pem)" (or the file\'s path)';

export function transportRules(c: Partial<Decoded>, context: RuleContext, fail: Fail): void {
  databaseTlsRules(c, context, fail);
  // A value the reader could not decrypt is judged where it is read: the steps refuse it too (ops/notify).
  if (c.webhookUrl !== undefined && c.webhookUrl !== SECRET_PLACEHOLDER)
    webhookRules(c.webhookUrl, context, fail);
  if (c.requireDigest === true && c.hosts !== undefined && c.opsBaseImage !== undefined) {
    if (!IMAGE_DIGEST.test(c.opsBaseImage))
      fail(
        "opsBaseImage",
        "expected the ops image's base pinned by digest (name@sha256:<64 hex digits>): greenlight:requireDigest is true, and the ops image built from it (where Pulumi runs) receives the admin password and the AWS keys; fix: pulumi config set greenlight:opsBaseImage node:22-bookworm-slim@sha256:<digest> (docker buildx imagetools inspect node:22-bookworm-slim)",
      );
  }
  if (c.backupObjectLockMode !== undefined && c.backupObjectLockDays === 0)
    fail(
      "backupObjectLockMode",
      "expected no object-lock mode without greenlight:backupObjectLockDays (0 disables the lock); set the days, or remove the mode",
    );
}

function databaseTlsRules(c: Partial<Decoded>, context: RuleContext, fail: Fail): void {
  if (context.present.has("dbSslMode") && c.dbSslMode === undefined) return;
  const sslmode = c.dbSslMode ?? defaultSslMode(context.stack, c.dbHost);
  const where = `on stack ${context.stack}`;
  if (context.stack === PRODUCTION_STACK && !VERIFYING_SSL_MODES.includes(sslmode)) {
    const why = PLAINTEXT_SSL_MODES.includes(sslmode)
      ? "may connect without TLS, so the admin password and every dump could cross the network in clear"
      : "encrypts but never checks who answers, so whoever sits on the path can pose as the server and read the admin password and every dump";
    fail("dbSslMode", `expected verify-full (or verify-ca) ${where}: ${sslmode} ${why}; fix: ${SET_MODE}`);
  } else if (context.stack !== LOCAL_STACK && PLAINTEXT_SSL_MODES.includes(sslmode)) {
    fail(
      "dbSslMode",
      `expected require, verify-ca or verify-full ${where}: ${sslmode} may connect without TLS, so the admin password and every dump could cross the network in clear; fix: ${SET_MODE} (or require)`,
    );
  }
  if (context.present.has("dbSslRootCert") && c.dbSslRootCert === undefined) return;
  if (c.dbSslRootCert === undefined) {
    if (VERIFYING_SSL_MODES.includes(sslmode))
      fail(
        "dbSslRootCert",
        `expected the CA certificate that signed the database server's certificate: dbSslMode ${sslmode} checks the server against it; fix: ${SET_CA}`,
      );
    return;
  }
  if (sslmode === "disable")
    fail(
      "dbSslRootCert",
      "expected no CA with dbSslMode disable (nothing is verified); remove it or turn TLS on",
    );
  const certificates = parseCaCertificates(c.dbSslRootCert);
  const problem =
    typeof certificates === "string" ? certificates : caCertificateProblem(certificates, context.now);
  if (problem !== undefined) fail("dbSslRootCert", `${problem}; fix: ${SET_CA}`);
}

function webhookRules(webhookUrl: string, context: RuleContext, fail: Fail): void {
  let url: URL;
  try {
    url = new URL(webhookUrl);
  } catch {
    fail(
      "webhookUrl",
      "expected an https: URL; fix: pulumi config set --secret greenlight:webhookUrl https://…",
    );
    return;
  }
  if (url.protocol === "https:") return;
  const loopback = isLoopbackHost(url.hostname.replace(/^\[|\]$/g, ""));
  if (url.protocol === "http:" && context.stack === LOCAL_STACK && loopback) return;
  fail(
    "webhookUrl",
    `expected an https: URL${context.stack === LOCAL_STACK ? " (http: only to this machine on the local stack)" : ` on stack ${context.stack}`}: the URL carries the webhook's token and the notices name releases and hosts; fix: pulumi config set --secret greenlight:webhookUrl https://…`,
  );
}
