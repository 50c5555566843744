import { z } from "zod";
import { CONFIG_KEYS, ConfigKeyName, ENV_NAMESPACE } from "./keys";
import { MAX_OVERRIDE_HOURS, OVERRIDE_KEYS, judgeExpiry, missingOverrideFields } from "../contract/override";
import { IMAGE_DIGEST } from "../contract/patterns";
import { parseSmokeCheck } from "./smoke";
import { COMPUTED_ENV } from "./types";

/** Every greenlight: key decoded and validated on its own. */
export type Decoded = { [K in ConfigKeyName]: z.output<(typeof CONFIG_KEYS)[K]["schema"]> };

/** Records one problem with a key: what was expected (the received value is looked up by the caller). */
export type Fail = (key: ConfigKeyName, expected: string, received?: string) => void;

export interface RuleContext {
  stack: string;
  now: Date;
  /** Names set in the greenlight-env: namespace (valid or not: a bad one is reported once, there). */
  envNames: string[];
  /** greenlight: keys that are set at all (valid or not). */
  present: ReadonlySet<string>;
}

/**
 * Rules that relate several keys. Each rule judges only keys that were valid on their own, so it can
 * run even when other keys are bad and the user sees every problem at once.
 */
export function crossKeyRules(c: Partial<Decoded>, context: RuleContext, fail: Fail): void {
  c.smokeChecks?.forEach((line, index) => {
    const check = parseSmokeCheck(line);
    if (typeof check === "string") fail("smokeChecks", `item ${index}: ${check}`, line);
  });

  if (c.blueRelease !== undefined && c.blueRelease === c.greenRelease) {
    fail(
      "greenRelease",
      `expected a release different from blueRelease (${c.blueRelease}); each color runs its own release`,
    );
  }
  if (c.requireDigest === true) {
    for (const key of ["blueImage", "greenImage"] as const) {
      const image = c[key];
      if (image !== undefined && !IMAGE_DIGEST.test(image)) {
        fail(
          key,
          "expected an image pinned by digest (name@sha256:<64 hex digits>): greenlight:requireDigest is true on this stack, and a tag can move",
        );
      }
    }
  }

  if (
    c.replicas !== undefined &&
    c.proxyPort !== undefined &&
    c.bluePort !== undefined &&
    c.greenPort !== undefined
  ) {
    const ranges: [ConfigKeyName, number, number][] = [
      ["proxyPort", c.proxyPort, c.proxyPort],
      ["bluePort", c.bluePort, c.bluePort + c.replicas - 1],
      ["greenPort", c.greenPort, c.greenPort + c.replicas - 1],
    ];
    for (let i = 0; i < ranges.length; i++) {
      for (let j = i + 1; j < ranges.length; j++) {
        const [nameA, lowA, highA] = ranges[i];
        const [nameB, lowB, highB] = ranges[j];
        if (lowA <= highB && lowB <= highA) {
          fail(
            nameB,
            `expected ports ${lowB}-${highB} not to overlap ${nameA} (${lowA}-${highA}); pick another port`,
          );
        }
      }
    }
    if (Math.max(c.bluePort, c.greenPort) + c.replicas - 1 > 65535) {
      fail("replicas", "expected every replica's port (color port + replica index) to stay within 65535");
    }
  }

  hostRules(c, context, fail);
  progressiveRules(c, fail);

  const missingOverride = missingOverrideFields((field) => context.present.has(OVERRIDE_KEYS[field]));
  for (const field of missingOverride ?? []) {
    fail(
      OVERRIDE_KEYS[field],
      "expected a value: an emergency override needs reason, approver, ticket and expiresAt together",
    );
  }
  if (c.overrideExpiresAt !== undefined) {
    const expiry = judgeExpiry(new Date(Date.parse(c.overrideExpiresAt)), context.now);
    if (expiry.status === "too-far") {
      fail(
        "overrideExpiresAt",
        `expected an expiry at most ${MAX_OVERRIDE_HOURS} h after ${context.now.toISOString()} (it is ${(expiry.msAhead / 3_600_000).toFixed(1)} h ahead); an override is for one emergency`,
      );
    }
  }

  if (
    c.backupColdAfterDays !== undefined &&
    c.backupRetentionDays !== undefined &&
    c.backupColdAfterDays > 0 &&
    c.backupColdAfterDays >= c.backupRetentionDays
  ) {
    fail(
      "backupColdAfterDays",
      `expected fewer days than backupRetentionDays (${c.backupRetentionDays}), or 0 to never move`,
    );
  }
  if (
    c.backupKmsKeyId !== undefined &&
    c.backupEncryption !== undefined &&
    c.backupEncryption !== "aws:kms"
  ) {
    fail("backupKmsKeyId", "expected no KMS key unless backupEncryption is aws:kms");
  }
  const registry = (["registryServer", "registryUser", "registryPassword"] as const).filter((key) =>
    context.present.has(key),
  );
  if (registry.length > 0 && registry.length < 3) {
    const missing = (["registryServer", "registryUser", "registryPassword"] as const).find(
      (key) => !context.present.has(key),
    ) as ConfigKeyName;
    fail(
      missing,
      `expected registryServer, registryUser and registryPassword together; fix: pulumi config set${missing === "registryPassword" ? " --secret" : ""} greenlight:${missing} <value>`,
    );
  }
  if (registry.length > 0 && c.hosts === undefined && context.present.has("hosts") === false) {
    fail(
      registry[0],
      "expected greenlight:hosts: the registry credentials are for the hosts' pulls (this machine pulls with its own docker login)",
    );
  }
  if (c.imageDelivery === "ssh" && c.hosts === undefined)
    fail(
      "imageDelivery",
      "expected greenlight:hosts: ssh delivery sends images to the hosts (this machine already holds them); fix: pulumi config rm greenlight:imageDelivery",
    );
  if (c.imageDelivery === "ssh" && registry.length > 0)
    fail(
      registry[0],
      "expected no registry credentials with greenlight:imageDelivery ssh: the hosts pull nothing (the runner pulls with its own docker login); fix: pulumi config rm greenlight:registryServer greenlight:registryUser greenlight:registryPassword",
    );
  if (context.present.has("s3AccessKeyId") !== context.present.has("s3SecretAccessKey")) {
    fail(
      context.present.has("s3AccessKeyId") ? "s3SecretAccessKey" : "s3AccessKeyId",
      "expected s3AccessKeyId and s3SecretAccessKey together",
    );
  }
  if (
    c.gateDeadlineSeconds !== undefined &&
    c.gateIntervalSeconds !== undefined &&
    c.gateAttempts !== undefined &&
    c.gateTimeoutSeconds !== undefined
  ) {
    const needed = c.gateIntervalSeconds * (c.gateAttempts - 1) + c.gateTimeoutSeconds;
    if (c.gateDeadlineSeconds < needed) {
      fail(
        "gateDeadlineSeconds",
        `expected at least gateIntervalSeconds × (gateAttempts − 1) + gateTimeoutSeconds = ${needed} s, or the gate can never pass`,
      );
    }
  }

  if (c.requiredEnv !== undefined) {
    const available = new Set<string>([...COMPUTED_ENV, ...context.envNames]);
    const missing = c.requiredEnv.filter((name) => !available.has(name));
    if (missing.length > 0) {
      fail(
        "requiredEnv",
        `expected every required variable to be set; missing ${missing.join(", ")}; fix: pulumi config set [--secret] ${ENV_NAMESPACE}:<NAME> <value>`,
      );
    }
  }
}

/**
 * A stack with hosts: names unique, the SSH key set, the data host one of them, and replicas spread so
 * no host is without a replica of each color (every host's proxy serves its own replicas, so a color
 * on one host of several is a front with nothing behind it).
 */
function hostRules(c: Partial<Decoded>, context: RuleContext, fail: Fail): void {
  const hosts = c.hosts;
  if (hosts === undefined) {
    if (c.dataHost !== undefined)
      fail("dataHost", "expected no data host without greenlight:hosts (the runner runs the data steps)");
    return;
  }
  const seen = new Set<string>();
  for (const host of hosts) {
    if (seen.has(host.name)) fail("hosts", `expected each host name once; ${host.name} is there twice`);
    seen.add(host.name);
  }
  if (!context.present.has("sshPrivateKey"))
    fail(
      "sshPrivateKey",
      "expected the hosts' SSH private key with greenlight:hosts; fix: pulumi config set --secret greenlight:sshPrivateKey < ~/.ssh/greenlight",
    );
  if (c.dataHost !== undefined && !seen.has(c.dataHost))
    fail("dataHost", `expected one of greenlight:hosts (${[...seen].join(", ")})`);
  if (c.replicas !== undefined && c.replicas < hosts.length)
    fail(
      "replicas",
      `expected at least one replica of each color per host: ${c.replicas} replica${c.replicas === 1 ? "" : "s"} over ${hosts.length} hosts leaves a host's front with no ${c.replicas === 1 ? "second " : ""}color behind it; set greenlight:replicas to ${hosts.length} or more`,
    );
}

/** Canary steps and the preview front (issue 22): each problem names the key and the fix. */
function progressiveRules(c: Partial<Decoded>, fail: Fail): void {
  const steps = c.trafficSteps;
  if (steps !== undefined && steps.length > 0) {
    const outOfRange = steps.filter((percent) => percent < 1 || percent > 100);
    const ascending = steps.every((percent, index) => index === 0 || percent > steps[index - 1]);
    if (outOfRange.length > 0 || !ascending || steps[steps.length - 1] !== 100) {
      fail(
        "trafficSteps",
        "expected percentages from 1 to 100, strictly ascending, the last one 100 (e.g. [10, 50, 100]); or [] for one move",
      );
    }
  }
  if (c.promote === false && c.previewPort === undefined) {
    fail(
      "previewPort",
      "expected a port for the preview front: greenlight:promote is false, so the new color is reachable only there; set greenlight:previewPort (e.g. 8081) or promote",
    );
  }
  if (c.previewPort !== undefined && c.previewPort === c.proxyPort) {
    fail(
      "previewPort",
      `expected a port other than greenlight:proxyPort (${c.proxyPort}); pick another port`,
    );
  }
  if (
    c.previewPort !== undefined &&
    c.replicas !== undefined &&
    [c.bluePort, c.greenPort].some(
      (first) =>
        first !== undefined &&
        c.previewPort !== undefined &&
        c.previewPort >= first &&
        c.previewPort < first + (c.replicas ?? 1),
    )
  ) {
    fail(
      "previewPort",
      "expected a port no color's replica uses (bluePort/greenPort + replica); pick another port",
    );
  }
}
