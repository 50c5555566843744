// The download phase: the dump from the bucket into a local file, hashed as it streams; a sha256 or
// size that differs from the manifest refuses (exit 3) before anything is restored.
import type { S3Client } from "@aws-sdk/client-s3";
import { BackupManifest, checkDigest } from "../lib/manifest";
import { S3Settings, downloadObject, s3Call } from "../lib/s3";
import { StopRequest, progress } from "../lib/step";
import { formatRate, newMeter, startProgress } from "../lib/stream";

export interface DownloadRequest {
  client: S3Client;
  settings: S3Settings;
  bucket: string;
  manifest: BackupManifest;
  /** Where the dump is written. */
  file: string;
  /** Seconds between progress lines; 0 silences them. */
  progressSeconds: number;
  stop: StopRequest;
  /** The step named in progress lines. */
  step: string;
}

/** Phase "download": the dump on disk with the manifest's size and sha256, or a StepError (exit 3). */
export async function downloadDump(request: DownloadRequest): Promise<{ bytes: number }> {
  const { manifest, step } = request;
  const meter = newMeter();
  const stopProgress = startProgress(step, () => `download: ${formatRate(meter)}`, request.progressSeconds);
  const stored = await s3Call(request.settings, request.bucket, `downloading ${manifest.dumpKey}`, () =>
    downloadObject(
      request.client,
      request.bucket,
      manifest.dumpKey,
      request.file,
      (bytes) => (meter.bytes = bytes),
      request.stop.abortSignal,
    ),
  ).finally(stopProgress);
  checkDigest(manifest, stored);
  progress(step, `${manifest.dumpKey}: sha256 matches the manifest (${stored.bytes} bytes)`);
  return { bytes: stored.bytes };
}
