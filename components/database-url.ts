// The connection string a container gets as DATABASE_URL: the app's replicas (its role) and the
// migration's one-off container (the migrator role). One builder, so both encode the password and carry
// TLS the same way: sslmode, and sslrootcert naming the CA file greenlight puts in the container (libpq
// URI parameters, which node-postgres's pg-connection-string reads too). The result holds a password:
// callers keep it a Pulumi secret.
import { DATABASE_CA_FILE } from "../contract/database-tls";

/** Where a role connects: host, port, database and user, and libpq's sslmode when one is set. */
export interface DatabaseUrlTarget {
  host: string;
  port: number;
  database: string;
  user: string;
  sslmode?: string;
  /** The CA is in the container at DATABASE_CA_FILE: the URL names it as sslrootcert. */
  withRootCert?: boolean;
}

/** postgresql://user:password@host:port/database[?sslmode=…&sslrootcert=…], user and password URL-encoded. */
export function databaseUrl(target: DatabaseUrlTarget, password: string): string {
  const query = new URLSearchParams();
  if (target.sslmode) query.set("sslmode", target.sslmode);
  if (target.withRootCert) query.set("sslrootcert", DATABASE_CA_FILE);
  const search = query.size > 0 ? `?${query.toString()}` : "";
  return `postgresql://${encodeURIComponent(target.user)}:${encodeURIComponent(password)}@${target.host}:${target.port}/${target.database}${search}`;
}
