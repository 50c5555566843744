// What the release-layer tests run on: sample-app replicas as containers (host network, PORT per
// replica, labels as ColorSlot sets them), the ops CLI as the command resources run it, and a local
// webhook receiver.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { LABEL } from "../../../contract/resources";
import { removeContainers } from "../../support/docker";
import { waitForPort } from "../../support/ports";
import { spawnOps } from "./cli";

export { PROJECT_DIR } from "./cli";

/** True when something accepts TCP connections on 127.0.0.1:port. */
function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(true));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(false)));
  });
}

/** A base port with `count` consecutive free TCP ports (replica i on base+i). */
export async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 30000);
    let free = true;
    for (let offset = 0; offset < count && free; offset++) free = !(await portTaken(base + offset));
    if (free) return base;
  }
  throw new Error(`no ${count} consecutive free ports found between 20000 and 50000`);
}

export interface ColorRun {
  color: "blue" | "green";
  release: string;
  image: string;
  port: number;
  replicas: number;
  containers: string[];
}

/** `docker run` arguments of one sample-app replica: host network, its port and address, labels as ColorSlot sets them. */
export function replicaRunArgs(replica: {
  name: string;
  app: string;
  color: "blue" | "green";
  release: string;
  image: string;
  port: number;
  bindHost: string;
  databaseUrl: string;
}): string[] {
  return [
    "run",
    "-d",
    "--name",
    replica.name,
    "--network",
    "host",
    "--memory",
    "256m",
    "--cpus",
    "1",
    "-e",
    `PORT=${replica.port}`,
    "-e",
    `BIND_HOST=${replica.bindHost}`,
    "-e",
    `APP_COLOR=${replica.color}`,
    "-e",
    `RELEASE_ID=${replica.release}`,
    "-e",
    `DATABASE_URL=${replica.databaseUrl}`,
    "--label",
    `${LABEL.app}=${replica.app}`,
    "--label",
    `${LABEL.color}=${replica.color}`,
    "--label",
    `${LABEL.release}=${replica.release}`,
    replica.image,
  ];
}

/** Starts the replicas of one color and waits until each listens. */
export async function startColor(options: {
  prefix: string;
  color: "blue" | "green";
  release: string;
  image: string;
  port: number;
  replicas?: number;
  databaseUrl: string;
}): Promise<ColorRun> {
  const replicas = options.replicas ?? 1;
  const containers: string[] = [];
  for (let replica = 0; replica < replicas; replica++) {
    const name = `${options.prefix}-${options.color}-${replica}`;
    removeContainers(name);
    containers.push(name);
    execFileSync(
      "docker",
      replicaRunArgs({
        name,
        app: options.prefix,
        color: options.color,
        release: options.release,
        image: options.image,
        port: options.port + replica,
        bindHost: "127.0.0.1",
        databaseUrl: options.databaseUrl,
      }),
      { stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 },
    );
  }
  for (let replica = 0; replica < replicas; replica++) await waitForPort(options.port + replica, 20_000);
  return { ...options, replicas, containers };
}

export interface OpsRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The JSON objects printed on stdout, one per line. */
  json: Record<string, unknown>[];
  ms: number;
}

/** Runs `node bin/greenlight-ops.js <args>` as a command resource would. */
export async function runOps(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 120_000,
): Promise<OpsRun> {
  const run = await spawnOps(args, { ...process.env, GREENLIGHT_WEBHOOK_URL: "", ...env }, timeoutMs).done;
  const json = run.stdout
    .split("\n")
    .filter((line) => line.trim().startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { ...run, code: run.code ?? -1, json };
}

/** A Slack-compatible webhook receiver on loopback that keeps every message. */
export interface WebhookReceiver {
  url: string;
  messages: { event: string; text: string }[];
  close(): Promise<void>;
}

export function startWebhook(options: { answer?: "ok" | "hang" } = {}): Promise<WebhookReceiver> {
  const messages: { event: string; text: string }[] = [];
  const hanging: http.ServerResponse[] = [];
  const server = http.createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      messages.push(JSON.parse(body) as { event: string; text: string });
      if (options.answer === "hang") hanging.push(response);
      else response.end("ok");
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const address = server.address() as net.AddressInfo;
      resolve({
        url: `http://127.0.0.1:${address.port}/hooks/release`,
        messages,
        close: () =>
          new Promise((done) => {
            for (const response of hanging) response.destroy();
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

/** A fresh state directory for one proxy. */
export function tempStateDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "gl-proxy-"));
}

/** The flags every switch/guard call in the tests shares. */
export function proxyFlags(options: {
  stateDir: string;
  proxyPort: number;
  bluePort: number;
  greenPort: number;
  replicas?: number;
}): string[] {
  return [
    "--state-dir",
    options.stateDir,
    "--proxy-port",
    String(options.proxyPort),
    "--blue-port",
    String(options.bluePort),
    "--green-port",
    String(options.greenPort),
    "--replicas",
    String(options.replicas ?? 1),
    "--check-interval-ms",
    "500",
  ];
}
