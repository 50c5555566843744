// Throwaway PostgreSQL 15 clusters for tests: initdb in a temp dir, loopback only, password auth over
// TCP (so a wrong password is a real failure), trust over the private socket for setup.
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { freePort } from "./ports";
import type { ServerCertificate } from "./tls";

const BIN_DIRS = ["/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin"];

export interface PgCluster {
  host: string;
  port: number;
  adminUser: string;
  adminPassword: string;
  /** libpq connection string for the admin role (contains the password: tests only). */
  url(database?: string, user?: string, password?: string): string;
  /** Runs SQL as the admin and returns the rows. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[], database?: string): Promise<T[]>;
  binDir: string;
  dataDir: string;
  /** Stops the server immediately (SIGKILL to the postmaster), as a crash would. */
  kill(): void;
  stop(): Promise<void>;
}

export function postgresBinDir(): string {
  const dir = BIN_DIRS.find((candidate) => fs.existsSync(path.join(candidate, "postgres")));
  if (!dir)
    throw new Error(
      `PostgreSQL server binaries not found in ${BIN_DIRS.join(", ")}; apt-get install postgresql`,
    );
  return dir;
}

export interface PgClusterOptions {
  /**
   * Serve TLS with this certificate (`ssl = on`) and refuse every TCP connection without it
   * (pg_hba.conf: hostssl only, hostnossl rejected); setup queries then use the private socket.
   */
  tls?: ServerCertificate;
  /** Addresses besides 127.0.0.1, e.g. the runner's address on the air-gapped hosts' network. */
  listen?: string[];
  /** CIDR ranges that may connect from there with a password (pg_hba host … scram-sha-256). */
  clients?: string[];
}

/** Starts a new cluster on a free loopback port (and on `options.listen`, for the hosts there). */
export async function startPostgres(options: PgClusterOptions = {}): Promise<PgCluster> {
  const binDir = postgresBinDir();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-pg-"));
  fs.chmodSync(root, 0o755);
  const dataDir = path.join(root, "data");
  const socketDir = path.join(root, "sock");
  fs.mkdirSync(socketDir);
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? "postgres" : os.userInfo().username;
  if (asRoot) execFileSync("chown", ["-R", "postgres:postgres", root]);
  const run = (binary: string, args: string[]) =>
    asRoot
      ? execFileSync("runuser", ["-u", "postgres", "--", path.join(binDir, binary), ...args], {
          stdio: "pipe",
        })
      : execFileSync(path.join(binDir, binary), args, { stdio: "pipe" });

  const adminPassword = "greenlight-test-admin";
  const passwordFile = path.join(root, "pwfile");
  fs.writeFileSync(passwordFile, adminPassword);
  if (asRoot) execFileSync("chown", ["postgres:postgres", passwordFile]);
  run("initdb", [
    "-D",
    dataDir,
    "-U",
    "postgres",
    "--auth-local=trust",
    "--auth-host=scram-sha-256",
    `--pwfile=${passwordFile}`,
    "-E",
    "UTF8",
    "--no-locale",
  ]);
  const tlsArgs: string[] = [];
  if (options.tls) {
    const certFile = path.join(root, "server.crt");
    const keyFile = path.join(root, "server.key");
    fs.copyFileSync(options.tls.certFile, certFile);
    fs.copyFileSync(options.tls.keyFile, keyFile);
    // The server refuses a key others can read.
    fs.chmodSync(keyFile, 0o600);
    if (asRoot) execFileSync("chown", ["postgres:postgres", certFile, keyFile]);
    fs.writeFileSync(
      path.join(dataDir, "pg_hba.conf"),
      [
        "local all all trust",
        "hostssl all all 127.0.0.1/32 scram-sha-256",
        "hostnossl all all 0.0.0.0/0 reject",
        "",
      ].join("\n"),
    );
    tlsArgs.push("-c", "ssl=on", "-c", `ssl_cert_file=${certFile}`, "-c", `ssl_key_file=${keyFile}`);
  }
  for (const cidr of options.clients ?? [])
    fs.appendFileSync(path.join(dataDir, "pg_hba.conf"), `host all all ${cidr} scram-sha-256\n`);
  const port = await freePort();
  const logFile = path.join(root, "postgres.log");
  const args = [
    "-D",
    dataDir,
    "-p",
    String(port),
    "-k",
    socketDir,
    "-c",
    `listen_addresses=${["127.0.0.1", ...(options.listen ?? [])].join(",")}`,
    "-c",
    "fsync=off",
    ...tlsArgs,
  ];
  const server: ChildProcess = asRoot
    ? spawn("runuser", ["-u", "postgres", "--", path.join(binDir, "postgres"), ...args], {
        stdio: ["ignore", fs.openSync(logFile, "a"), fs.openSync(logFile, "a")],
      })
    : spawn(path.join(binDir, "postgres"), args, {
        stdio: ["ignore", fs.openSync(logFile, "a"), fs.openSync(logFile, "a")],
      });

  const url = (database = "postgres", user = "postgres", password = adminPassword) =>
    `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  const query = async <T>(sql: string, params: unknown[] = [], database = "postgres") => {
    // A TLS-only cluster is set up over its private socket (trust), plain TCP being refused.
    const client = options.tls
      ? new Client({ host: socketDir, port, user: "postgres", database })
      : new Client({ connectionString: url(database) });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows as T[];
    } finally {
      await client.end();
    }
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await query("SELECT 1");
      break;
    } catch (error) {
      if (server.exitCode !== null || Date.now() > deadline) {
        throw new Error(
          `PostgreSQL did not start (${(error as Error).message}); log: ${fs.readFileSync(logFile, "utf8").slice(-500)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const postmasterPid = () =>
    Number(fs.readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  return {
    host: "127.0.0.1",
    port,
    adminUser: owner === "postgres" ? "postgres" : "postgres",
    adminPassword,
    url,
    query,
    binDir,
    dataDir,
    kill() {
      try {
        process.kill(postmasterPid(), "SIGKILL");
      } catch {
        // Already gone: nothing to kill.
      }
    },
    async stop() {
      if (server.exitCode === null && fs.existsSync(path.join(dataDir, "postmaster.pid"))) {
        try {
          process.kill(postmasterPid(), "SIGQUIT");
        } catch {
          // Already gone.
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 5000);
          server.once("exit", () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
