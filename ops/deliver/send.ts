// The stream side of a delivery: the image exported once here, compressed once per codec the receivers
// need, and copied to every receiver's SSH session at the pace of the slowest. Hosts that hold some of
// the image's layers get the archive without those layers' files (tar.ts), one stream per such share.
import { ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Readable } from "stream";
import { Meter, childExit, describeExit, fanOut, formatRate, newMeter, startProgress } from "../lib/stream";
import { StopRequest } from "../lib/step";
import { killOnStop } from "../lib/stop";
import { Codec } from "./remote";
import { Session, SshSettings, DeliveryHost } from "./ssh";
import { SourceImage, compressor, exportImage, exportImageToFile } from "./source";
import { dropTarEntries, readTarEntry } from "./tar";

/** What became of the image on one host. */
export interface HostOutcome {
  host: string;
  platform?: string;
  /** present: held already; sent: loaded and verified; retagged: held, tag set or moved to it; failed. */
  status: "present" | "sent" | "retagged" | "failed";
  codec?: Codec;
  /** Compressed bytes sent. */
  bytes?: number;
  ms: number;
  /** The id the image's tag named on the host before (a different image under the same tag). */
  replaced?: string;
  /** Of the image's layers, how many the host held already (not sent) and how many it has. */
  layers?: { held: number; total: number };
  reason?: string;
}

/** One host's session that receives the image. */
export interface Receiver {
  host: DeliveryHost;
  session: Session;
  startedAt: number;
  outcome: HostOutcome;
  /** Bytes written to this host's session. */
  meter: Meter;
  /** Leading layers of the image the host holds already: their files are not sent. */
  held: number;
}

type Settings = SshSettings & { progressSeconds: number };

/** Copies `source` to the receivers, compressed per codec; resolves with why it failed, if it did. */
async function copyTo(
  image: SourceImage,
  source: Readable,
  receivers: Receiver[],
  settings: Settings,
  stop: StopRequest,
): Promise<string | undefined> {
  const codecs = [...new Set(receivers.map((receiver) => receiver.outcome.codec as Codec))];
  const compressors = codecs.map((codec) => compressor(codec, settings.env));
  for (const { child } of compressors) if (child) killOnStop(stop, child);
  const read = newMeter();
  const stopProgress = startProgress(
    "deliver",
    () =>
      `${image.image}: ${formatRate(read)} exported; ${receivers.map((receiver) => `${receiver.host.name} ${(receiver.meter.bytes / 1e6).toFixed(1)} MB`).join(", ")}`,
    settings.progressSeconds,
  );
  try {
    await Promise.all([
      fanOut(
        source,
        compressors.map((entry) => ({ name: `${entry.codec} compression`, stream: entry.input })),
        (chunk) => (read.bytes += chunk.length),
      ),
      ...compressors.map((entry) => {
        const mine = receivers.filter((receiver) => receiver.outcome.codec === entry.codec);
        return fanOut(
          entry.output,
          mine.map((receiver) => ({
            name: receiver.host.name,
            stream: receiver.session.child.stdin as NonNullable<typeof receiver.session.child.stdin>,
            // A host that stops reading is judged by its own exit; the others keep receiving.
            optional: true,
          })),
          (chunk) => {
            for (const receiver of mine)
              if (!receiver.session.child.stdin?.destroyed) receiver.meter.bytes += chunk.length;
          },
        );
      }),
    ]);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    stopProgress();
  }
}

const saveFailure = (image: SourceImage, exit: Awaited<ReturnType<typeof childExit>>) =>
  `docker save of ${image.image} failed here (${describeExit(exit)}): ${exit.stderr.trim().split("\n").pop() ?? ""}`;

/** The whole archive, streamed from `docker save` as it comes: no host holds any of its layers. */
async function sendWhole(
  image: SourceImage,
  receivers: Receiver[],
  settings: Settings,
  stop: StopRequest,
  save: ChildProcess,
) {
  const saved = childExit(save);
  const failed = await copyTo(image, save.stdout as Readable, receivers, settings, stop);
  const exit = await saved;
  return failed ?? (exit.code !== 0 ? saveFailure(image, exit) : undefined);
}

/** The archive saved here once, then to each share of receivers without the layer files they hold. */
async function sendParts(image: SourceImage, receivers: Receiver[], settings: Settings, stop: StopRequest) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-deliver-"));
  try {
    const file = path.join(dir, "image.tar");
    const save = exportImageToFile(image.id, file, settings.env);
    killOnStop(stop, save);
    const exit = await childExit(save);
    if (exit.code !== 0) return saveFailure(image, exit);
    const manifest = JSON.parse(readTarEntry(file, "manifest.json")?.toString() ?? "[]") as {
      Layers?: string[];
    }[];
    const files = manifest[0]?.Layers ?? [];
    if (manifest.length !== 1 || files.length !== image.layers.length)
      return `docker save of ${image.image} wrote ${manifest.length} images and ${files.length} layer files, not 1 and ${image.layers.length}`;
    const shares = [...new Set(receivers.map((receiver) => receiver.held))];
    const failures = await Promise.all(
      shares.map((held) => {
        // A file the missing layers also name (the same layer twice) still goes.
        const drop = new Set(files.slice(0, held).filter((name) => !files.slice(held).includes(name)));
        const source = fs.createReadStream(file).pipe(dropTarEntries(drop));
        const share = receivers.filter((receiver) => receiver.held === held);
        return copyTo(image, source, share, settings, stop);
      }),
    );
    return failures.find((failure) => failure !== undefined);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `docker save` of the image, started before the hosts said what they hold: the engine takes most of a
 * second to its first byte, which then passes while the hosts are probed. Its output waits in the pipe
 * until sendImage uses it, or is dropped (cancelExport) when no host needs the whole archive.
 */
export function earlyExport(image: SourceImage, env: NodeJS.ProcessEnv, stop: StopRequest): ChildProcess {
  const save = exportImage(image.id, env);
  save.once("error", () => undefined);
  killOnStop(stop, save);
  return save;
}

/** Drops an export nobody reads. */
export function cancelExport(save: ChildProcess): void {
  save.stdout?.destroy();
  save.kill("SIGTERM");
}

/** Sends the image to the receivers from `save` (earlyExport); resolves with why the source failed, if it did. */
export async function sendImage(
  image: SourceImage,
  receivers: Receiver[],
  settings: Settings,
  stop: StopRequest,
  save: ChildProcess,
): Promise<string | undefined> {
  const whole = receivers.every((receiver) => receiver.held === 0);
  if (!whole) cancelExport(save);
  const failed = whole
    ? await sendWhole(image, receivers, settings, stop, save)
    : await sendParts(image, receivers, settings, stop);
  // Whatever arrived of a failed export must not be loaded: end every session now.
  if (failed !== undefined) for (const receiver of receivers) receiver.session.child.kill("SIGTERM");
  return failed;
}
