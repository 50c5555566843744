// The application: its name, port, health paths, containers, environment and the two colors.
// Keys of the `greenlight:` config namespace; schema/keys/index.ts merges every table.
import { z } from "zod";
import { canonicalDockerCpus, dockerCpusReadBack } from "../../contract/docker";
import * as p from "../../contract/patterns";
import { ConfigKey, text, int, port, releaseId, imageRef, urlPath } from "./types";

/** The application, its containers and its two colors. */
export const APP_KEYS = {
  appName: {
    type: "string",
    description: "Name of the application; used in container, network and backup names.",
    schema: text(p.APP_NAME, "a lower-case name of letters, digits and '-', starting with a letter"),
  },
  appPort: {
    type: "integer",
    description: "Port the application listens on inside its container.",
    schema: port().default(3000),
  },
  healthPath: {
    type: "string",
    description: "Liveness path that must answer 200 (Docker healthcheck and health gate).",
    schema: urlPath().default("/health"),
  },
  readinessPath: {
    type: "string",
    description: "Readiness path that must answer 200 once the app can serve (checks its database).",
    schema: urlPath().default("/health/ready"),
  },
  replicas: {
    type: "integer",
    description: "Containers per color.",
    schema: int(1, 16, "replicas").default(1),
  },
  memoryMb: {
    type: "integer",
    description: "Memory limit per container, in MB.",
    schema: int(16, 262144, "MB").default(512),
  },
  cpus: {
    type: "string",
    description: "CPU limit per container, in CPUs (for example 0.5).",
    schema: z
      .string()
      .regex(/^(?:\d{1,3})(?:\.\d{1,3})?$/, "expected a number of CPUs such as 0.5 or 2")
      .refine((value) => Number(value) > 0, "expected more than 0 CPUs")
      // The docker provider reads some values back as another number (0.05 → "0.1"): every update would replace.
      .superRefine((value, context) => {
        if (!/^\d+(\.\d+)?$/.test(value) || canonicalDockerCpus(value) !== undefined) return;
        context.addIssue({
          code: "custom",
          message: `expected a number of CPUs the docker provider reads back unchanged: it stores ${value} as ${dockerCpusReadBack(value)}, so every update would replace the containers; use a value such as 0.1 or 1.5`,
        });
      })
      .default("1"),
  },
  requiredEnv: {
    type: "array",
    description: "Environment variable names that must be set for the app before anything deploys.",
    schema: z.array(text(p.ENV_NAME, "an environment variable name ([A-Z_][A-Z0-9_]*)")).default([]),
  },
  secretEnv: {
    type: "array",
    description:
      "Names of greenlight-env: variables that are secrets: read with requireSecret, and set with --secret.",
    schema: z.array(text(p.ENV_NAME, "an environment variable name ([A-Z_][A-Z0-9_]*)")).default([]),
  },
  smokeChecks: {
    type: "array",
    description: "Smoke checks run against the target color: '<path> <status> [text=\"…\"] [maxMs=<n>]'.",
    schema: z.array(z.string()).default(["/ 200"]),
  },
  warmupPaths: {
    type: "array",
    description: "Paths requested through the proxy right after the switch to warm caches.",
    schema: z.array(urlPath()).default([]),
  },
  activeColor: {
    type: "string",
    description: "The color that serves traffic after this update: blue or green.",
    schema: z.enum(["blue", "green"], { message: "expected blue or green" }),
  },
  latestColor: {
    type: "string",
    description:
      "The color that received the newest release: its release is the one backed up and migrated. A flip back leaves it.",
    schema: z.enum(["blue", "green"], { message: "expected blue or green" }),
  },
  blueRelease: {
    type: "string",
    description: "Release id deployed to the blue color.",
    schema: releaseId(),
  },
  blueImage: {
    type: "string",
    description:
      "Image of the blue color; pinned by digest (name@sha256:…) where greenlight:requireDigest is true.",
    schema: imageRef(),
  },
  bluePort: {
    type: "integer",
    description: "First host port of the blue color's containers (replica i listens on bluePort+i).",
    schema: port().default(8081),
  },
  greenRelease: {
    type: "string",
    description: "Release id deployed to the green color.",
    schema: releaseId(),
  },
  greenImage: {
    type: "string",
    description:
      "Image of the green color; pinned by digest (name@sha256:…) where greenlight:requireDigest is true.",
    schema: imageRef(),
  },
  greenPort: {
    type: "integer",
    description: "First host port of the green color's containers (replica i listens on greenPort+i).",
    schema: port().default(8091),
  },
  dockerNetworkMode: {
    type: "string",
    description:
      "bridge: containers on a shared Docker network with ports published on 127.0.0.1; host: host network.",
    schema: z.enum(["bridge", "host"], { message: "expected bridge or host" }).default("bridge"),
  },
} satisfies Record<string, ConfigKey>;
