// The blue-green deployment procedures build ":latest" and roll back by re-tagging; a tag can move under a running release, so the
// image that was tested must be the image that runs: pinned by digest in production, never "latest".
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { RESOURCE, STEP_ENV, isCommandType } from "../contract/resources";
import { commandEnvironment, label } from "./lib/graph";
import { PINNED_IMAGE } from "../contract/patterns";

export interface ImmutableImagesConfig {
  /** Images must be pinned by digest (name@sha256:<64 hex>). */
  requireDigest: boolean;
  /** Refuse ":latest" and untagged references (which mean latest). */
  forbidLatest: boolean;
}

/** Environment variables of greenlight steps that name an image (a migration runs in its release's image). */
const IMAGE_ENV_NAME = /(^|_)IMAGE$/;

/** An `--image <ref>` argument of a command line (the ops CLI's image check and switch take one). */
const IMAGE_ARGUMENT = /--image[= ]+["']?([^\s"']+)/g;

/** What is wrong with an image reference, or undefined when it is acceptable. */
export function imageProblem(image: string, config: ImmutableImagesConfig): string | undefined {
  if (PINNED_IMAGE.test(image)) return undefined;
  const lastSegment = image.slice(image.lastIndexOf("/") + 1);
  const tag = lastSegment.includes(":") ? lastSegment.slice(lastSegment.indexOf(":") + 1) : undefined;
  if (config.forbidLatest && (tag === undefined || tag === "latest")) {
    return `${tag === undefined ? "has no tag, which means latest" : "uses the latest tag"}; latest changes under a running release`;
  }
  if (config.requireDigest) return `is not pinned by digest; a tag can be moved to other content`;
  return undefined;
}

function imageFix(config: ImmutableImagesConfig): string {
  return config.requireDigest
    ? "pin it by digest (registry/name@sha256:<64 hex digits>, see docker buildx imagetools inspect) in greenlight:blueImage / greenlight:greenImage"
    : "use a release tag or a digest in greenlight:blueImage / greenlight:greenImage";
}

export const immutableImages: ResourceValidationPolicy = {
  name: "immutable-images",
  description:
    "Requires container images to be pinned by digest (where configured) and never to use the latest tag, including images greenlight commands name and the base the ops image is built from.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      requireDigest: {
        type: "boolean",
        description: "Images must be pinned by digest (name@sha256:<64 hex>); on in production.",
        default: true,
      },
      forbidLatest: {
        type: "boolean",
        description: "Refuse :latest and untagged image references.",
        default: true,
      },
    },
  },
  validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    const given = args.getConfig<Partial<ImmutableImagesConfig>>();
    const config: ImmutableImagesConfig = {
      requireDigest: given.requireDigest ?? true,
      forbidLatest: given.forbidLatest ?? true,
    };
    if (args.type === RESOURCE.container) {
      const image = args.props.image;
      if (typeof image !== "string") return;
      const problem = imageProblem(image, config);
      if (problem) {
        reportViolation(
          `container ${label(args)} runs image "${image}", which ${problem}; ${imageFix(config)}.`,
        );
      }
      return;
    }
    if (args.type === RESOURCE.image) {
      // The ops image each host builds (it receives the admin password and AWS keys): its base counts too.
      const buildArgs = (args.props.build as { args?: Record<string, unknown> } | undefined)?.args;
      const base = buildArgs?.BASE;
      if (typeof base !== "string") return;
      const problem = imageProblem(base, config);
      if (problem) {
        reportViolation(
          `image ${label(args)} is built on base "${base}", which ${problem}; pin greenlight:opsBaseImage by digest (node:22-bookworm-slim@sha256:<64 hex digits>, see docker buildx imagetools inspect).`,
        );
      }
      return;
    }
    if (!isCommandType(args.type)) return;
    for (const field of ["create", "update"] as const) {
      const line = args.props[field];
      if (typeof line !== "string") continue;
      for (const match of line.matchAll(IMAGE_ARGUMENT)) {
        const problem = imageProblem(match[1], config);
        if (problem) {
          reportViolation(
            `command ${label(args)} passes --image "${match[1]}", which ${problem}; ${imageFix(config)}.`,
          );
        }
      }
    }
    const env = commandEnvironment(args);
    if (env[STEP_ENV.step] === undefined) return;
    for (const [name, value] of Object.entries(env)) {
      if (!IMAGE_ENV_NAME.test(name)) continue;
      const problem = imageProblem(value, config);
      if (problem) {
        reportViolation(
          `step ${env[STEP_ENV.step]} ${label(args)} uses image ${name}="${value}", which ${problem}; ${imageFix(config)}.`,
        );
      }
    }
  },
};
