// One image to several hosts at once, one SSH session per host: each host tells what it holds, the
// runner decides per host (nothing, a tag, or the image), then one `docker save` here, compressed once
// per codec the receivers need, is copied to every receiver's session (the slowest sets the pace). A
// host whose session ends early is dropped from the stream and judged on its own; the others go on.
import { newMeter } from "../lib/stream";
import { StopRequest, progress } from "../lib/step";
import {
  Codec,
  Decision,
  HostProbe,
  READY,
  RECEIVE_EXIT,
  chainIds,
  deliveryScript,
  parseProbe,
} from "./remote";
import { HostOutcome, Receiver, cancelExport, earlyExport, sendImage } from "./send";

export type { HostOutcome } from "./send";
import { DeliveryHost, Session, SshSettings, openSession, sessionError } from "./ssh";
import { SourceImage, canZstd } from "./source";

/** `auto`: zstd to hosts that have the zstd program, gzip to the others (docker load reads it itself). */
export type Compression = "auto" | Codec;

type Plan = { send: boolean; replaced?: string; held?: number } | { failed: string };

/** What one host needs of one image, from its probe: nothing, a tag, the image, or a refusal. */
export function planDelivery(host: string, image: SourceImage, probe: HostProbe): Plan {
  if (probe.platform !== image.platform)
    return { failed: `${host} runs ${probe.platform} but ${image.image} is built for ${image.platform}` };
  const tagged = probe.tags.get(image.tag);
  if (tagged !== undefined && tagged !== image.id && image.pinned) {
    return {
      failed: `${host} holds ${image.tag} as ${tagged}, not ${image.id}: a different image under a tag that names content; find out how it got there, then remove it (docker rmi ${image.tag})`,
    };
  }
  const replaced = tagged !== undefined && tagged !== image.id ? { replaced: tagged } : {};
  const send = !probe.images.has(image.id);
  if (!send || probe.chains === undefined) return { send, ...replaced };
  // The leading layers whose stack the host holds: docker load finds them and needs none of their files.
  const chains = chainIds(image.layers);
  let held = 0;
  while (held < chains.length && probe.chains.has(chains[held])) held++;
  return { send, ...replaced, held };
}

/** The host's probe, once it printed `ready`; undefined when the session ended first. */
function probeOf(session: Session): Promise<string | undefined> {
  const out = session.child.stdout;
  if (!out) return Promise.resolve(undefined);
  let text = "";
  return new Promise((resolve) => {
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      if (text.endsWith(`\n${READY}\n`)) {
        out.off("data", onData);
        resolve(text);
      }
    };
    out.on("data", onData);
    out.once("close", () => resolve(undefined));
  });
}

function unreachable(host: DeliveryHost, exit: Awaited<Session["done"]>): string {
  if (exit.code === 255)
    return `cannot reach ${host.name} over SSH (${host.user}@${host.address}:${host.port}): ${sessionError(exit.stderr, exit.code)}`;
  if (exit.code === RECEIVE_EXIT.noDocker)
    return `Docker on ${host.name} does not answer: ${sessionError(exit.stderr, exit.code)}`;
  return `${host.name} did not say what it holds (exit ${exit.code ?? exit.signal}): ${sessionError(exit.stderr, exit.code)}`;
}

/** How a session that was told `decision` ended: undefined when the host holds the image under its tag. */
function failure(receiver: Receiver, image: SourceImage, exit: Awaited<Session["done"]>): string | undefined {
  const { host } = receiver;
  const sent = `${(receiver.meter.bytes / 1e6).toFixed(1)} MB`;
  const verified = exit.stdout.split("\n").find((line) => line.startsWith("verified "));
  if (exit.code === 0 && (receiver.outcome.status === "present" || verified?.split(" ")[2] === image.id))
    return undefined;
  if (exit.code === RECEIVE_EXIT.wrongImage)
    return `${host.name} refused what arrived: ${sessionError(exit.stderr, exit.code)} (not the image sent; nothing was tagged)`;
  if (exit.code === RECEIVE_EXIT.tagMoved)
    return `${host.name} holds ${image.id} but its tag did not stay on it: ${sessionError(exit.stderr, exit.code)}`;
  if (exit.code === 255 || exit.signal)
    return `the transfer to ${host.name} was cut after ${sent} (${exit.signal ? `signal ${exit.signal}` : sessionError(exit.stderr, exit.code)}); nothing of it was tagged`;
  if (exit.code === 0) return `${host.name} did not confirm the image's id`;
  return `docker on ${host.name} failed after ${sent} (exit ${exit.code}): ${sessionError(exit.stderr, exit.code)}`;
}

/** Delivers one image to every host that lacks it; never throws for a host, reports each. */
export async function deliverImage(
  image: SourceImage,
  hosts: DeliveryHost[],
  settings: SshSettings & { progressSeconds: number; compression: Compression },
  stop: StopRequest,
): Promise<HostOutcome[]> {
  const receivers: Receiver[] = hosts.map((host) => {
    const session = openSession(host, deliveryScript(image.id, image.tag), settings, stop, "pipe");
    return {
      host,
      session,
      startedAt: Date.now(),
      meter: newMeter(),
      held: 0,
      outcome: { host: host.name, status: "failed", ms: 0 },
    };
  });
  const save = earlyExport(image, settings.env, stop);
  const senders: Receiver[] = [];
  await Promise.all(
    receivers.map(async (receiver) => {
      const { host, session, outcome } = receiver;
      const said = await probeOf(session);
      let decision: Decision = "skip";
      if (said === undefined) {
        outcome.reason = unreachable(host, await session.done);
      } else {
        let probe: HostProbe;
        try {
          probe = parseProbe(said);
        } catch (error) {
          probe = { platform: "unknown", images: new Map(), tags: new Map(), zstd: false };
          outcome.reason = `${host.name}: ${(error as Error).message}`;
        }
        outcome.platform = probe.platform;
        const plan: Plan = outcome.reason
          ? { failed: outcome.reason }
          : planDelivery(host.name, image, probe);
        if ("failed" in plan) outcome.reason = plan.failed;
        else {
          if (plan.replaced) {
            outcome.replaced = plan.replaced;
            progress(
              "deliver",
              `${host.name} held ${image.tag} as ${plan.replaced}, not ${image.id}: moving the tag`,
            );
          }
          if (plan.send) {
            receiver.held = plan.held ?? 0;
            outcome.layers = { held: receiver.held, total: image.layers.length };
            outcome.codec =
              settings.compression !== "auto"
                ? settings.compression
                : probe.zstd && canZstd(settings.env)
                  ? "zstd"
                  : "gzip";
            decision = outcome.codec === "zstd" ? "zstd" : "plain";
            senders.push(receiver);
          } else if (plan.replaced || !probe.tags.has(image.tag)) decision = "retag";
          else outcome.status = "present";
        }
      }
      const stdin = session.child.stdin;
      if (stdin && !stdin.destroyed) {
        // Each session's own pipe error is judged by its exit.
        stdin.on("error", () => undefined);
        if (decision === "skip" || decision === "retag") stdin.end(`${decision}\n`);
        else stdin.write(`${decision}\n`);
      }
    }),
  );
  if (senders.length === 0) cancelExport(save);
  const sourceFailed = senders.length > 0 ? await sendImage(image, senders, settings, stop, save) : undefined;
  return Promise.all(
    receivers.map(async (receiver) => {
      const exit = await receiver.session.done;
      const { outcome } = receiver;
      outcome.ms = Date.now() - receiver.startedAt;
      if (outcome.reason !== undefined) return outcome;
      const sending = senders.includes(receiver);
      const reason =
        sending && sourceFailed !== undefined
          ? `nothing was loaded on ${receiver.host.name}: ${sourceFailed}`
          : failure(receiver, image, exit);
      if (sending) outcome.bytes = receiver.meter.bytes;
      if (reason !== undefined) outcome.reason = reason;
      else if (outcome.status !== "present") outcome.status = sending ? "sent" : "retagged";
      progress(
        "deliver",
        reason !== undefined
          ? `${image.image} → ${outcome.host}: ${reason}`
          : `${image.image} → ${outcome.host}: ${outcome.status}${sending ? `, ${((outcome.bytes ?? 0) / 1e6).toFixed(1)} MB (${outcome.codec}) in ${(outcome.ms / 1000).toFixed(1)} s, id verified` : ""}`,
      );
      return outcome;
    }),
  );
}
