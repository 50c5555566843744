// TLS of the data steps' connections, the same for the `pg` client and for libpq's children (pg_dump,
// pg_restore): PGSSLMODE, verify-full when unset (a step never falls back to plaintext on its own), and
// the CA the program passes as PEM text in GREENLIGHT_DB_CA, written to a private file that
// PGSSLROOTCERT names (libpq takes a file; a host's step container has no file of the runner's).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DATABASE_CA_ENV, SSL_MODES, SslMode } from "../../../contract/database-tls";
import { caBundle, parseCaCertificates } from "../../../schema/database-ca";
import { StepError } from "../step";

/** The sslmode a step connects with: PGSSLMODE, else verify-full. */
export function stepSslMode(env: NodeJS.ProcessEnv): SslMode {
  const sslmode = env.PGSSLMODE ?? "verify-full";
  if (!(SSL_MODES as readonly string[]).includes(sslmode))
    throw new StepError(
      `PGSSLMODE=${sslmode} is not a libpq sslmode: use ${SSL_MODES.join(", ")} (greenlight:dbSslMode)`,
      2,
    );
  return sslmode as SslMode;
}

/** The CA file's text, when PGSSLROOTCERT names one. */
export function rootCertificate(env: NodeJS.ProcessEnv): string | undefined {
  if (!env.PGSSLROOTCERT) return undefined;
  try {
    return fs.readFileSync(env.PGSSLROOTCERT, "utf8");
  } catch (error) {
    throw new StepError(
      `PGSSLROOTCERT=${env.PGSSLROOTCERT} cannot be read (${(error as NodeJS.ErrnoException).code}): name the CA's PEM file, or pass it as ${DATABASE_CA_ENV}`,
      2,
    );
  }
}

/**
 * Runs `run` with the connection environment every part of a data step must use: PGSSLMODE set (so
 * pg_dump and pg_restore do not fall back to libpq's `prefer`), and GREENLIGHT_DB_CA written to a
 * mode-600 file in a private folder, named by PGSSLROOTCERT and removed afterwards.
 */
export async function withDatabaseTls<T>(
  env: NodeJS.ProcessEnv,
  run: (env: NodeJS.ProcessEnv) => Promise<T>,
): Promise<T> {
  const sslmode = stepSslMode(env);
  const pem = env[DATABASE_CA_ENV];
  if (pem === undefined || pem === "") return run({ ...env, PGSSLMODE: sslmode });
  const certificates = parseCaCertificates(pem);
  if (typeof certificates === "string")
    throw new StepError(`${DATABASE_CA_ENV}: ${certificates} (greenlight:dbSslRootCert)`, 2);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-db-ca-"));
  try {
    const file = path.join(dir, "root.crt");
    fs.writeFileSync(file, caBundle(certificates), { mode: 0o600 });
    return await run({ ...env, PGSSLMODE: sslmode, PGSSLROOTCERT: file });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
