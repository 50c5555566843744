// The connection string a container gets as DATABASE_URL: the app's replicas (its role) and the
// migration's one-off container (the migrator role). One builder, so both encode the password and carry
// sslmode the same way. The result holds a password: callers keep it a Pulumi secret.

/** Where a role connects: host, port, database and user, and libpq's sslmode when one is set. */
export interface DatabaseUrlTarget {
  host: string;
  port: number;
  database: string;
  user: string;
  sslmode?: string;
}

/** postgresql://user:password@host:port/database[?sslmode=…], user and password URL-encoded. */
export function databaseUrl(target: DatabaseUrlTarget, password: string): string {
  const query = target.sslmode ? `?sslmode=${encodeURIComponent(target.sslmode)}` : "";
  return `postgresql://${encodeURIComponent(target.user)}:${encodeURIComponent(password)}@${target.host}:${target.port}/${target.database}${query}`;
}
