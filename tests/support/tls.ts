// Certificates for tests, made with the openssl command line: a CA, and a server certificate it signs
// for the names and addresses a test server answers at (subjectAltName), so TLS clients can verify it.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

export interface TestCa {
  /** The CA certificate, PEM. */
  pem: string;
  certFile: string;
  keyFile: string;
}

export interface ServerCertificate {
  certFile: string;
  keyFile: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: "pipe" });
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** A new CA (CA:TRUE, keyCertSign), valid for `days`, written into `dir` as <name>.pem and <name>.key. */
export function makeCa(dir: string, name: string, days = 2): TestCa {
  fs.mkdirSync(dir, { recursive: true });
  const certFile = path.join(dir, `${name}.pem`);
  const keyFile = path.join(dir, `${name}.key`);
  openssl(
    [
      "req",
      "-x509",
      ...EC_KEY,
      "-keyout",
      keyFile,
      "-out",
      certFile,
      "-days",
      String(days),
      "-subj",
      `/CN=${name}`,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ],
    dir,
  );
  return { pem: fs.readFileSync(certFile, "utf8"), certFile, keyFile };
}

/** A server certificate signed by `ca` for `altNames` (e.g. ["IP:127.0.0.1", "DNS:db.test"]). */
export function makeServerCertificate(
  dir: string,
  name: string,
  ca: TestCa,
  altNames: string[],
): ServerCertificate {
  const keyFile = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const certFile = path.join(dir, `${name}.crt`);
  const extensions = path.join(dir, `${name}.ext`);
  openssl(["req", ...EC_KEY, "-keyout", keyFile, "-out", csr, "-subj", `/CN=${name}`], dir);
  fs.writeFileSync(
    extensions,
    `subjectAltName=${altNames.join(",")}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`,
  );
  openssl(
    [
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      ca.certFile,
      "-CAkey",
      ca.keyFile,
      "-CAcreateserial",
      "-out",
      certFile,
      "-days",
      "2",
      "-extfile",
      extensions,
    ],
    dir,
  );
  return { certFile, keyFile };
}
