// An S3-compatible server (s3rver) on a free loopback port, with its own temp directory.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { freePort } from "./ports";

/** The part of a Koa context the multipart middleware reads and writes. */
interface KoaContext {
  method: string;
  path: string;
  query: Record<string, unknown>;
  status: number;
  type: string;
  body: unknown;
}
type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

// s3rver ships no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require("s3rver") as new (options: Record<string, unknown>) => {
  run(): Promise<unknown>;
  close(): Promise<void>;
  /** Koa's middleware list, composed when the server starts listening. */
  middleware: Middleware[];
};

const XML_HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n';

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * s3rver 3.7 keeps open multipart uploads in <directory>/<bucket>/._S3rver_uploads/<uploadId>/ but
 * answers neither ListMultipartUploads nor AbortMultipartUpload. Tests prove that a step leaves no
 * upload open, so this middleware implements both on that folder, as S3 answers them.
 */
function multipartUploads(directory: string): Middleware {
  return async (ctx, next) => {
    const [bucket, ...key] = ctx.path.split("/").filter(Boolean);
    const uploads = path.join(directory, bucket ?? "", "._S3rver_uploads");
    if (ctx.method === "GET" && bucket && key.length === 0 && "uploads" in ctx.query) {
      const entries = fs.existsSync(uploads) ? fs.readdirSync(uploads) : [];
      const listed = entries.map(
        (uploadId) =>
          `<Upload><Key>${escapeXml(fs.readFileSync(path.join(uploads, uploadId, "key"), "utf8"))}</Key><UploadId>${uploadId}</UploadId></Upload>`,
      );
      ctx.type = "application/xml";
      ctx.body = `${XML_HEADER}<ListMultipartUploadsResult><Bucket>${escapeXml(bucket)}</Bucket><IsTruncated>false</IsTruncated>${listed.join("")}</ListMultipartUploadsResult>`;
      return;
    }
    if (ctx.method === "DELETE" && key.length > 0 && typeof ctx.query.uploadId === "string") {
      const upload = path.join(uploads, path.basename(ctx.query.uploadId));
      ctx.type = "application/xml";
      if (!fs.existsSync(upload)) {
        ctx.status = 404;
        ctx.body = `${XML_HEADER}<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message></Error>`;
        return;
      }
      fs.rmSync(upload, { recursive: true, force: true });
      ctx.status = 204;
      ctx.body = "";
      return;
    }
    await next();
  };
}

export interface S3Server {
  endpoint: string;
  port: number;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  directory: string;
  client(): S3Client;
  createBucket(name: string): Promise<void>;
  /** Stops the server and removes its directory, unless a restart on it follows (keepDirectory). */
  stop(options?: { keepDirectory?: boolean }): Promise<void>;
}

/** Starts s3rver; `port` lets a test restart it on the same address after stopping it. */
export async function startS3(options: { port?: number; directory?: string } = {}): Promise<S3Server> {
  const port = options.port ?? (await freePort());
  const directory = options.directory ?? fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-s3-"));
  const server = new S3rver({ port, address: "127.0.0.1", directory, silent: true });
  server.middleware.unshift(multipartUploads(directory));
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
    async stop(options: { keepDirectory?: boolean } = {}) {
      await server.close();
      if (!options.keepDirectory) fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}
