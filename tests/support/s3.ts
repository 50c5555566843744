// An S3-compatible server (s3rver) on a free loopback port, with its own temp directory.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { freePort } from "./ports";

// s3rver ships no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require("s3rver") as new (options: Record<string, unknown>) => {
  run(): Promise<unknown>;
  close(): Promise<void>;
};

export interface S3Server {
  endpoint: string;
  port: number;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  directory: string;
  client(): S3Client;
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** Starts s3rver; `port` lets a test restart it on the same address after stopping it. */
export async function startS3(options: { port?: number; directory?: string } = {}): Promise<S3Server> {
  const port = options.port ?? (await freePort());
  const directory = options.directory ?? fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-s3-"));
  const server = new S3rver({ port, address: "127.0.0.1", directory, silent: true });
  await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const settings = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER", region: "us-east-1" };
  const client = () =>
    new S3Client({
      endpoint,
      region: settings.region,
      forcePathStyle: true,
      credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
    });
  return {
    endpoint,
    port,
    ...settings,
    directory,
    client,
    async createBucket(name: string) {
      await client().send(new CreateBucketCommand({ Bucket: name }));
    },
    async stop() {
      await server.close();
    },
  };
}
