// How a release goes: health gate, guard, traffic steps, canary, preview, maintenance, notification, override.
// Keys of the `greenlight:` config namespace; schema/keys/index.ts merges every table.
import { z } from "zod";
import { MAX_OVERRIDE_HOURS } from "../../contract/override";
import * as p from "../../contract/patterns";
import { ConfigKey, text, int, port, seconds, secretText } from "./types";

/** The release itself: health gate, guard, traffic steps, canary, maintenance, notification, override. */
export const RELEASE_KEYS = {
  gateIntervalSeconds: {
    type: "integer",
    description: "Seconds between health-gate probes.",
    schema: seconds(1, 300).default(5),
  },
  gateTimeoutSeconds: {
    type: "integer",
    description: "Timeout of one health-gate probe, in seconds.",
    schema: seconds(1, 120).default(3),
  },
  gateAttempts: {
    type: "integer",
    description: "Consecutive 200 answers /health and /health/ready must give.",
    schema: int(1, 100, "attempts").default(5),
  },
  gateDeadlineSeconds: {
    type: "integer",
    description: "Longest the health gate waits for those consecutive answers.",
    schema: seconds(5, 3600).default(120),
  },
  guardErrorRatePercent: {
    type: "integer",
    description: "Post-switch guard: revert when the 5xx/connection-error rate exceeds this percent.",
    schema: int(1, 100, "percent").default(5),
  },
  guardP95Ms: {
    type: "integer",
    description: "Post-switch guard: revert when p95 latency exceeds this many milliseconds.",
    schema: int(1, 600000, "milliseconds").default(2000),
  },
  guardDurationSeconds: {
    type: "integer",
    description: "How long the post-switch guard watches the new color.",
    schema: seconds(1, 86400).default(300),
  },
  guardMinRequests: {
    type: "integer",
    description: "Requests the guard needs before it judges a window.",
    schema: int(1, 1000000, "requests").default(20),
  },
  promote: {
    type: "boolean",
    description:
      "The new color takes the traffic in this update; false: it comes up migrated, gated and smoke-tested on the preview front only (npm run promote moves the users).",
    schema: z.boolean().default(true),
  },
  trafficSteps: {
    type: "array",
    itemType: "integer",
    description:
      "Canary steps: percentages of new requests on the new color, ascending, ending at 100 (e.g. [10, 50, 100]); empty: one move.",
    schema: z.array(text(/^\d{1,3}$/, "a whole percentage from 1 to 100").transform(Number)).default([]),
  },
  trafficStepSeconds: {
    type: "integer",
    description: "How long each canary step below 100 % is judged against the old color.",
    schema: seconds(5, 3600).default(60),
  },
  canaryErrorRatePoints: {
    type: "integer",
    description:
      "Canary steps: error-rate points the new color may be above the old one over a step's window (1: 1.4 % against 0.5 % passes).",
    schema: int(0, 100, "percentage points").default(1),
  },
  canaryP95MarginPercent: {
    type: "integer",
    description: "Canary steps: percent the new color's p95 may be above the old one's over a step's window.",
    schema: int(0, 1000, "percent").default(50),
  },
  canaryP95FloorMs: {
    type: "integer",
    description:
      "Canary steps: a p95 difference below this many milliseconds never fails a step, whatever the ratio (timer noise).",
    schema: int(0, 60000, "milliseconds").default(25),
  },
  expandContractSafe: {
    type: "boolean",
    description:
      "The release's schema change is expand/contract-safe: old and new code both run on the new schema, so a schema-breaking release may still canary or preview.",
    schema: z.boolean().default(false),
  },
  previewPort: {
    type: "integer",
    description:
      "Port of each proxy's preview front (the not-yet-promoted color only), on loopback or the host's private address.",
    schema: port().optional(),
  },
  maintenanceMode: {
    type: "string",
    description: "off, on (503 page for every request) or read-only (only GET and HEAD pass).",
    schema: z.enum(["off", "on", "read-only"], { message: "expected off, on or read-only" }).default("off"),
  },
  webhookUrl: {
    type: "string",
    description: "Slack-compatible webhook for gate failures, switches and reverts (secret).",
    schema: secretText().optional(),
    secret: true,
  },
  overrideReason: {
    type: "string",
    description: "Emergency override: why this release may leave the deployment window.",
    schema: z
      .string()
      .min(10, "expected a reason of at least 10 characters")
      .max(500, "expected a reason of at most 500 characters")
      .optional(),
  },
  overrideApprover: {
    type: "string",
    description: "Emergency override: the on-call approver.",
    schema: text(p.HANDLE, "an approver handle (letters, digits, . _ @ + -)").optional(),
  },
  overrideTicket: {
    type: "string",
    description: "Emergency override: the incident or change ticket.",
    schema: text(p.TICKET, "a ticket reference such as INC-1234").optional(),
  },
  overrideExpiresAt: {
    type: "string",
    description: `Emergency override: ISO-8601 expiry with a zone, at most ${MAX_OVERRIDE_HOURS} h ahead.`,
    schema: z.iso
      .datetime({ offset: true, message: "expected an ISO-8601 time with a zone, e.g. 2026-11-24T18:00:00Z" })
      .optional(),
  },
} satisfies Record<string, ConfigKey>;
