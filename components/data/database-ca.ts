// The database CA as a file for the roles provider: @pulumi/postgresql's `sslrootcert` is a path
// (cyrilgdn/terraform-provider-postgresql postgresql/provider.go "The SSL server root certificate file
// path", passed to lib/pq as sslrootcert by config.go connParams), read by the provider process. The
// engine starts providers in the project directory (pulumi/pulumi pkg/engine/deployment.go
// ProjectInfoContext → plugin.NewContextWithRoot(pwd); sdk/go/common/resource/plugin/plugin.go
// `cmd.Dir = pwd`), so a path relative to it is the same on every runner: no provider diff between
// machines. The name is a hash of the content: a new CA is a new path, an unchanged one keeps it.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

/** Folder of the staged CA files, relative to the project directory. */
export const DATABASE_CA_DIR = path.join(".greenlight", "db-ca");

/** Writes the PEM once per content under the project directory; returns its path relative to it. */
export function stageDatabaseCa(pem: string, projectDir = process.cwd()): string {
  const name = `${crypto.createHash("sha256").update(pem).digest("hex").slice(0, 16)}.pem`;
  const relative = path.join(DATABASE_CA_DIR, name);
  const file = path.join(projectDir, relative);
  if (!fs.existsSync(file) || fs.readFileSync(file, "utf8") !== pem) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, pem, { mode: 0o644 });
  }
  return relative;
}
