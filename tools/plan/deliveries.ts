// What an update sends to each host over SSH: the delivery steps (ops/deliver, STEP.deliver) this
// update runs — every one on a first update, with --diff-from only those created or replaced — with
// each image's size as this machine's Docker engine holds it (what a host lacking it receives before
// compression; the delivery skips the layers a host already holds).
import { spawnSync } from "child_process";
import { STEP, STEP_ENV, isCommandType } from "../../contract/resources";
import type { RecordedResource } from "../harness/types";
import { isSecretMarker } from "../harness/types";
import type { ResourceChange } from "./diff";

/** One image a host is sent. */
export interface PlannedDelivery {
  /** The delivery step's resource name. */
  step: string;
  /** The image as the runner's engine names it (the ops image by its content tag). */
  image: string;
  /** Its size in this machine's engine, bytes; null when it is not here yet (built or pulled by the update). */
  bytes: number | null;
}

export interface HostDeliveries {
  host: string;
  images: PlannedDelivery[];
  /** Sum of the known sizes. */
  bytes: number;
}

/** `--flag 'value'` of a command line the ops CLI's flag words produced. */
function flagOf(line: string, flag: string): string | undefined {
  const match = new RegExp(`--${flag} '([^']*)'`).exec(line);
  return match?.[1];
}

/** An image's size in this machine's Docker engine, or null (no engine, or not there). */
export function localImageBytes(image: string): number | null {
  const inspected = spawnSync("docker", ["image", "inspect", "--format", "{{.Size}}", image], {
    encoding: "utf8",
    timeout: 15_000,
  });
  const bytes = Number(inspected.stdout?.trim());
  return inspected.status === 0 && Number.isFinite(bytes) ? bytes : null;
}

/**
 * Per host, the images this update sends: from `resources`' delivery steps, only those in `changes`
 * that are created or replaced (a delivery updated in place keeps its report and sends nothing).
 */
export function plannedDeliveries(
  resources: RecordedResource[],
  changes?: ResourceChange[],
  sizeOf: (image: string) => number | null = localImageBytes,
): HostDeliveries[] {
  const runs = changes
    ? new Set(
        changes
          .filter((change) => change.action === "create" || change.action === "replace")
          .map((change) => change.urn),
      )
    : undefined;
  const byHost = new Map<string, PlannedDelivery[]>();
  for (const resource of resources) {
    if (!isCommandType(resource.type)) continue;
    const environment = resource.inputs.environment;
    if (!environment || typeof environment !== "object" || isSecretMarker(environment)) continue;
    const env = environment as Record<string, unknown>;
    if (env[STEP_ENV.step] !== STEP.deliver || (runs && !runs.has(resource.urn))) continue;
    const line = typeof resource.inputs.create === "string" ? resource.inputs.create : "";
    const named = env.GREENLIGHT_DELIVERS;
    const image =
      typeof named === "string" ? named : (flagOf(line, "tag-as") ?? flagOf(line, "image") ?? "?");
    const host = String(env.GREENLIGHT_HOST ?? flagOf(line, "host")?.split("=")[0] ?? "?");
    byHost.set(host, [...(byHost.get(host) ?? []), { step: resource.name, image, bytes: sizeOf(image) }]);
  }
  return [...byHost.entries()].map(([host, images]) => ({
    host,
    images,
    bytes: images.reduce((sum, delivery) => sum + (delivery.bytes ?? 0), 0),
  }));
}

/** 104.9 MB, as the plan prints a size. */
export function megabytes(bytes: number | null): string {
  return bytes === null ? "not on this machine yet" : `${(bytes / 1e6).toFixed(1)} MB`;
}
