// One image to several hosts at once: one `docker save` here, compressed once per codec the hosts need,
// each compressed stream copied to every host's SSH session (the slowest host sets the pace). A host
// whose session ends early is dropped from the stream and judged on its own; the others go on.
import { Readable } from "stream";
import { Meter, childExit, describeExit, fanOut, formatRate, newMeter, startProgress } from "../lib/stream";
import { StopRequest, progress } from "../lib/step";
import { killOnStop } from "../lib/stop";
import { Codec, RECEIVE_EXIT, receiveCommand } from "./remote";
import { DeliveryHost, Session, SshSettings, openSession, sessionError } from "./ssh";
import { SourceImage, compressor, exportImage } from "./source";

/** How one host's transfer ended. */
export interface TransferOutcome {
  host: string;
  codec: Codec;
  ok: boolean;
  /** Compressed bytes sent to this host's session before it ended. */
  bytes: number;
  ms: number;
  reason?: string;
}

interface Receiver {
  host: DeliveryHost;
  codec: Codec;
  session: Session;
  startedAt: number;
  /** Bytes this host's session accepted. */
  meter: Meter;
}

function judge(
  receiver: Receiver,
  image: SourceImage,
  exit: Awaited<Session["done"]>,
  sourceFailed?: string,
) {
  const { host } = receiver;
  const sent = `${(receiver.meter.bytes / 1e6).toFixed(1)} MB`;
  const verified = exit.stdout.split("\n").find((line) => line.startsWith("verified "));
  if (exit.code === 0 && verified?.split(" ")[2] === image.id && !sourceFailed) return undefined;
  if (sourceFailed) return `nothing was loaded on ${host.name}: ${sourceFailed}`;
  if (exit.code === RECEIVE_EXIT.wrongImage)
    return `${host.name} refused what arrived: ${sessionError(exit.stderr, exit.code)} (not the image sent; nothing was tagged)`;
  if (exit.code === RECEIVE_EXIT.tagMoved)
    return `${host.name} loaded ${image.id} but its tag moved: ${sessionError(exit.stderr, exit.code)}`;
  if (exit.code === 255 || exit.signal)
    return `the transfer to ${host.name} was cut after ${sent} (${exit.signal ? `signal ${exit.signal}` : sessionError(exit.stderr, exit.code)}); nothing of it was tagged`;
  if (exit.code === 0) return `${host.name} did not confirm the image's id after loading it`;
  return `docker load on ${host.name} failed after ${sent} (exit ${exit.code}): ${sessionError(exit.stderr, exit.code)}`;
}

/** Sends `image` to `targets` in one pass; never throws for a host's failure, only reports it. */
export async function transferImage(
  image: SourceImage,
  targets: { host: DeliveryHost; codec: Codec }[],
  settings: SshSettings & { progressSeconds: number },
  stop: StopRequest,
): Promise<TransferOutcome[]> {
  if (targets.length === 0) return [];
  const save = exportImage(image.id, settings.env);
  killOnStop(stop, save);
  const saveExit = childExit(save);
  const codecs = [...new Set(targets.map((target) => target.codec))];
  const compressors = codecs.map((codec) => compressor(codec, settings.env));
  for (const { child } of compressors) if (child) killOnStop(stop, child);
  const receivers: Receiver[] = targets.map(({ host, codec }) => ({
    host,
    codec,
    session: openSession(host, receiveCommand(image.id, image.tag, codec), settings, stop, "pipe"),
    startedAt: Date.now(),
    meter: newMeter(),
  }));
  const exported = newMeter();
  const stopProgress = startProgress(
    "deliver",
    () =>
      `${image.image}: ${formatRate(exported)} exported; ${receivers.map((receiver) => `${receiver.host.name} ${(receiver.meter.bytes / 1e6).toFixed(1)} MB`).join(", ")}`,
    settings.progressSeconds,
  );
  let sourceFailed: string | undefined;
  try {
    await Promise.all([
      fanOut(
        save.stdout as Readable,
        compressors.map((entry) => ({ name: `${entry.codec} compression`, stream: entry.input })),
        (chunk) => (exported.bytes += chunk.length),
      ),
      ...compressors.map((entry) => {
        const mine = receivers.filter((receiver) => receiver.codec === entry.codec);
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
  } catch (error) {
    sourceFailed = error instanceof Error ? error.message : String(error);
    for (const receiver of receivers) receiver.session.child.kill("SIGTERM");
  }
  const saved = await saveExit;
  if (saved.code !== 0 && !sourceFailed)
    sourceFailed = `docker save of ${image.image} failed here (${describeExit(saved)}): ${saved.stderr.trim().split("\n").pop() ?? ""}`;
  const outcomes = await Promise.all(
    receivers.map(async (receiver) => {
      const exit = await receiver.session.done;
      const reason = judge(receiver, image, exit, sourceFailed);
      return {
        host: receiver.host.name,
        codec: receiver.codec,
        ok: reason === undefined,
        bytes: receiver.meter.bytes,
        ms: Date.now() - receiver.startedAt,
        ...(reason === undefined ? {} : { reason }),
      };
    }),
  );
  stopProgress();
  for (const outcome of outcomes) {
    progress(
      "deliver",
      outcome.ok
        ? `${image.image} → ${outcome.host}: ${(outcome.bytes / 1e6).toFixed(1)} MB (${outcome.codec}) in ${(outcome.ms / 1000).toFixed(1)} s, id verified`
        : `${image.image} → ${outcome.host}: ${outcome.reason}`,
    );
  }
  return outcomes;
}
