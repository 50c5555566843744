// S3 for the data steps, configured only from the environment: GREENLIGHT_S3_ENDPOINT (optional,
// path-style S3-compatible server), AWS_REGION, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (optional:
// the AWS default credential chain otherwise).
import * as crypto from "crypto";
import * as fs from "fs";
import { Readable, Writable } from "stream";
import { pipeline } from "stream/promises";
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { StepError } from "./step";

export interface S3Settings {
  endpoint?: string;
  region: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** Reads the S3 settings from the environment. */
export function s3Settings(env: NodeJS.ProcessEnv): S3Settings {
  const endpoint = env.GREENLIGHT_S3_ENDPOINT || undefined;
  if (endpoint !== undefined && !/^https?:\/\/[A-Za-z0-9.-]+(?::\d{1,5})?\/?$/.test(endpoint)) {
    throw new StepError(
      `GREENLIGHT_S3_ENDPOINT=${JSON.stringify(endpoint)} is not an http(s) URL such as http://127.0.0.1:4569`,
      2,
    );
  }
  const accessKeyId = env.AWS_ACCESS_KEY_ID || undefined;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY || undefined;
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new StepError(
      "set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither (the AWS default credential chain is used then)",
      2,
    );
  }
  return {
    endpoint,
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || "us-east-1",
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
  };
}

export function s3Client(settings: S3Settings): S3Client {
  return new S3Client({
    region: settings.region,
    endpoint: settings.endpoint,
    forcePathStyle: settings.endpoint !== undefined,
    credentials: settings.credentials,
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 5000, requestTimeout: 120_000 },
  });
}

/** Where the bucket lives, for messages. */
export function describeBucket(settings: S3Settings, bucket: string): string {
  return settings.endpoint
    ? `s3://${bucket} at ${settings.endpoint}`
    : `s3://${bucket} (AWS ${settings.region})`;
}

/** Turns an S3 failure into a one-line reason that names what to fix. */
export function describeS3Error(error: unknown, settings: S3Settings, bucket: string, what: string): string {
  const failure = error as {
    name?: string;
    code?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const where = describeBucket(settings, bucket);
  const text = `${failure.name ?? ""} ${failure.code ?? ""} ${failure.message ?? ""}`;
  if (failure.name === "NoSuchBucket")
    return `${what}: bucket ${where} does not exist: create it (pulumi up creates it with the BackupBucket component) or fix greenlight:backupBucket`;
  if (/ECONNREFUSED|ECONNRESET|ENOTFOUND|EHOSTUNREACH|socket hang up|TimeoutError|ETIMEDOUT/i.test(text))
    return `${what}: the S3 endpoint for ${where} is unreachable (${(failure.message ?? failure.name ?? "").trim()}): is it running, and is GREENLIGHT_S3_ENDPOINT/AWS_REGION right?`;
  if (
    /AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|ExpiredToken|CredentialsProviderError/.test(text)
  )
    return `${what}: S3 refused the credentials for ${where} (${failure.name}): fix AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (greenlight:s3AccessKeyId/s3SecretAccessKey)`;
  return `${what}: ${where}: ${failure.name ?? "error"}: ${failure.message ?? String(error)}`;
}

/** Runs an S3 call; a failure becomes a StepError naming the fix. */
export async function s3Call<T>(
  settings: S3Settings,
  bucket: string,
  what: string,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof StepError) throw error;
    throw new StepError(describeS3Error(error, settings, bucket, what));
  }
}

/** Every key under a prefix (all pages). */
export async function listKeys(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/** Size of an object, or undefined when it does not exist. */
export async function objectSize(client: S3Client, bucket: string, key: string): Promise<number | undefined> {
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return head.ContentLength ?? 0;
  } catch (error) {
    const failure = error as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (
      failure.name === "NotFound" ||
      failure.name === "NoSuchKey" ||
      failure.$metadata?.httpStatusCode === 404
    )
      return undefined;
    throw error;
  }
}

export async function getText(client: S3Client, bucket: string, key: string): Promise<string> {
  const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!object.Body) throw new Error(`s3://${bucket}/${key} has no body`);
  return object.Body.transformToString("utf8");
}

export async function putJson(client: S3Client, bucket: string, key: string, value: unknown): Promise<void> {
  await client.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: JSON.stringify(value, null, 2) + "\n",
      ContentType: "application/json",
    }),
  );
}

/** Streams an object through sha256 into `destination` (a file, or nothing to only hash it). */
export async function hashObject(
  client: S3Client,
  bucket: string,
  key: string,
  options: { destination?: Writable; onBytes?: (bytes: number) => void; signal?: AbortSignal } = {},
): Promise<{ bytes: number; sha256: string }> {
  const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), {
    abortSignal: options.signal,
  });
  if (!object.Body) throw new Error(`s3://${bucket}/${key} has no body`);
  const hash = crypto.createHash("sha256");
  let bytes = 0;
  const destination =
    options.destination ??
    new Writable({
      write(_chunk, _encoding, callback) {
        callback();
      },
    });
  const body = object.Body as Readable;
  body.on("data", (chunk: Buffer) => {
    hash.update(chunk);
    bytes += chunk.length;
    options.onBytes?.(bytes);
  });
  await pipeline(body, destination, { signal: options.signal });
  return { bytes, sha256: hash.digest("hex") };
}

/** Downloads an object to a file while hashing it. */
export async function downloadObject(
  client: S3Client,
  bucket: string,
  key: string,
  file: string,
  onBytes?: (bytes: number) => void,
  signal?: AbortSignal,
): Promise<{ bytes: number; sha256: string }> {
  return hashObject(client, bucket, key, {
    destination: fs.createWriteStream(file, { mode: 0o600 }),
    onBytes,
    signal,
  });
}

/** Starts a multipart upload of a dump (a stream or a file's read stream), four parts in flight. */
export function uploadDump(
  client: S3Client,
  bucket: string,
  key: string,
  body: Readable,
  partSize: number,
): Upload {
  return new Upload({
    client,
    params: { Bucket: bucket, Key: key, Body: body, ContentType: "application/octet-stream" },
    partSize,
    queueSize: 4,
  });
}

/**
 * Removes what a failed backup may have left: an open multipart upload and the object itself.
 * Returns what could not be removed (S3 down), so the caller can say so; nothing is thrown.
 */
export async function removePartial(
  client: S3Client,
  bucket: string,
  key: string,
  uploadId: string | undefined,
): Promise<string[]> {
  const problems: string[] = [];
  if (uploadId) {
    await client
      .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
      .catch((error: Error) => {
        // Already aborted by the upload itself: nothing left to remove.
        if ((error as { name?: string }).name !== "NoSuchUpload")
          problems.push(`multipart upload ${uploadId} not aborted (${error.name})`);
      });
  }
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch((error: Error) => {
    problems.push(`${key} not deleted (${error.name})`);
  });
  return problems;
}
