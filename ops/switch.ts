// The traffic switch (seed 001: "switch traffic, monitor, roll back above 5 %"): points the proxy at the
// target color without dropping a request, warms caches through the proxy (seed 000), then lets the
// guard watch the new color and flips back on a breach — exiting non-zero so `pulumi up` fails and the
// stack's recorded state still says the old color.
import { Command } from "commander";
import { Color } from "../schema/types";
import {
  AccessLogListener,
  GuardReport,
  describeGuard,
  guardThresholdOptions,
  thresholdsFromOptions,
  watchGuard,
} from "./guard";
import { Activation, activate } from "./haproxy/proxy";
import { ProxySpec, addProxyOptions, proxySpecFromOptions, proxyUrl } from "./haproxy/spec";
import { probe } from "./http-probe";
import { NotifyResult, notifyFromStep } from "./notify";
import { color, imageRef, releaseId, repeatable, urlPath } from "./options";
import { GuardThresholds } from "./stats";
import { StepCommand, StepError, progress } from "./step";

export interface SwitchOptions {
  spec: ProxySpec;
  /** The color that serves afterwards. */
  color: Color;
  release: string;
  /** Image the color runs (reported, and shown in notifications). */
  image?: string;
  /** Paths requested through the proxy right after the switch. */
  warmupPaths: string[];
  /** Seconds the guard watches; 0 skips it. */
  guardSeconds: number;
  thresholds: GuardThresholds;
  /** Where notifications go (GREENLIGHT_WEBHOOK_URL). */
  env?: NodeJS.ProcessEnv;
  binary?: string;
  log?: (message: string) => void;
}

export interface WarmupResult {
  path: string;
  status?: number;
  ms: number;
  error?: string;
}

export interface SwitchReport {
  step: "switch";
  activeColor: Color;
  release: string;
  image?: string;
  proxyUrl: string;
  previousColor?: Color;
  method: Activation["method"];
  /** Milliseconds the runtime API took to move traffic. */
  runtimeMs?: number;
  /** Milliseconds the whole switch took, guard included. */
  totalMs: number;
  warmup: WarmupResult[];
  guard?: GuardReport | { skipped: string };
  notified?: NotifyResult;
}

async function warmUp(spec: ProxySpec, paths: string[]): Promise<WarmupResult[]> {
  const results: WarmupResult[] = [];
  for (const path of paths) {
    const answer = await probe(`${proxyUrl(spec)}${path.slice(1)}`, 10_000);
    results.push({ path, status: answer.status, ms: answer.ms, error: answer.error });
  }
  return results;
}

/** Switches, warms up, guards; throws StepError (with the report) when the guard reverted. */
export async function switchTraffic(options: SwitchOptions): Promise<SwitchReport> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const env = options.env ?? {};
  const { spec } = options;
  // Listen before traffic moves: a guard that cannot listen must stop the switch, not watch nothing.
  let listener: AccessLogListener | undefined;
  if (options.guardSeconds > 0) {
    listener = await AccessLogListener.open(spec.logPort).catch((error: Error) => {
      throw new StepError(`${error.message}; traffic was not switched`, 2);
    });
  }
  try {
    const activation = await activate(spec, options.color, { binary: options.binary, log });
    const moved = activation.method !== "unchanged";
    const warmup = await warmUp(spec, options.warmupPaths);
    const report: SwitchReport = {
      step: "switch",
      activeColor: options.color,
      release: options.release,
      image: options.image,
      proxyUrl: proxyUrl(spec),
      previousColor: activation.previousColor,
      method: activation.method,
      runtimeMs: activation.runtimeMs,
      totalMs: 0,
      warmup,
    };
    if (!listener) {
      report.guard = { skipped: "guard window is 0 s" };
    } else if (!moved) {
      report.guard = { skipped: `${options.color} already served; traffic did not move` };
    } else {
      log(`guard watches ${options.color} for ${options.guardSeconds} s`);
      const guard = await watchGuard({
        listener,
        color: options.color,
        durationSeconds: options.guardSeconds,
        thresholds: options.thresholds,
      });
      report.guard = guard;
      log(describeGuard(guard));
      if (guard.verdict === "breach") {
        const previous = activation.previousColor;
        const why = (guard.reasons ?? []).join("; ");
        if (previous === undefined || previous === options.color) {
          report.totalMs = Date.now() - started;
          throw new StepError(
            `guard: ${why} (${describeGuard(guard)}); no previous color served, so there is nothing to revert to`,
            1,
            report,
          );
        }
        await activate(spec, previous, { binary: options.binary, log });
        report.notified = await notifyFromStep(
          "switch",
          {
            event: "revert",
            text: `release ${options.release} on ${options.color} reverted to ${previous}: ${why}`,
            fields: { measured: describeGuard(guard), proxy: report.proxyUrl },
          },
          env,
        );
        report.totalMs = Date.now() - started;
        throw new StepError(`guard reverted traffic to ${previous}: ${why} (${describeGuard(guard)})`, 1, {
          ...report,
          activeColor: previous,
          revertedFrom: options.color,
        });
      }
    }
    if (moved) {
      report.notified = await notifyFromStep(
        "switch",
        {
          event: "switch",
          text: `traffic moved to ${options.color} (release ${options.release})${activation.previousColor ? ` from ${activation.previousColor}` : ""}`,
          fields: {
            image: options.image ?? "(not given)",
            proxy: report.proxyUrl,
            method: activation.method,
          },
        },
        env,
      );
    }
    report.totalMs = Date.now() - started;
    return report;
  } finally {
    await listener?.close();
  }
}

export const switchCommand: StepCommand = {
  name: "switch",
  description:
    "Points the proxy at a color without dropping requests, warms it up, guards it, reverts on a breach",
  options: (command: Command) =>
    guardThresholdOptions(
      addProxyOptions(
        command
          .requiredOption("--color <color>", "the color that serves afterwards: blue or green", color)
          .requiredOption("--release <id>", "release the color runs", releaseId)
          .option("--image <ref>", "image the color runs (reported)", imageRef)
          .option(
            "--warmup <path>",
            "path requested through the proxy after the switch; repeatable",
            repeatable(urlPath),
          ),
      ),
    ),
  run: (options, env) =>
    switchTraffic({
      spec: proxySpecFromOptions(options),
      color: options.color as Color,
      release: String(options.release),
      image: options.image === undefined ? undefined : String(options.image),
      warmupPaths: (options.warmup as string[] | undefined) ?? [],
      guardSeconds: Number(options.guardSeconds),
      thresholds: thresholdsFromOptions(options),
      env,
      log: (message) => progress("switch", message),
    }),
};
