// The switch's command lines: `switch` moves the proxy on this machine (index.ts), `switch-hosts`
// every host's proxy from one coordinator (hosts.ts). Both take the same target, warm-up and guard options.
import { Command, InvalidArgumentError } from "commander";
import { Color } from "../../schema/types";
import { guardThresholdOptions, thresholdsFromOptions } from "../guard/cli";
import { addProxyOptions, proxySpecFromOptions } from "../proxy/cli";
import { addHostOptions, hostsFromOptions } from "../control/cli";
import { discardEarly, preconnect } from "../control/preconnect";
import { color, imageRef, integer, port, releaseId, repeatable, urlPath } from "../lib/options";
import { StepCommand, StepError, progress } from "../lib/step";
import type { SwitchSettings } from ".";
import type { HostsSwitchOptions } from "./hosts";
import type { CanarySettings } from "./canary";

/** The options every switch takes: the color, its release and image, the warm-up paths (the guard's come apart). */
export function switchTargetOptions(command: Command): Command {
  return command
    .requiredOption("--color <color>", "the color that serves afterwards: blue or green", color)
    .requiredOption("--release <id>", "release the color runs", releaseId)
    .option("--image <ref>", "image the color runs (reported)", imageRef)
    .option(
      "--warmup <path>",
      "path requested through every proxy after the switch; repeatable",
      repeatable(urlPath),
    )
    .option(
      "--traffic-step <percent>",
      "a canary step: percent of new requests on the color, judged against the other color; repeatable, ascending, the last 100",
      repeatable(integer(1, 100)),
    )
    .option("--traffic-step-seconds <seconds>", "how long each canary step is judged", integer(1, 3600), 60)
    .option(
      "--canary-error-margin <points>",
      "error-rate points the new color may be above the old one at a step",
      integer(0, 100),
      1,
    )
    .option("--preview", "bring the color to every proxy's preview front only; move no user traffic")
    .option(
      "--canary-p95-margin <percent>",
      "percent the new color's p95 may be above the old one's at a step",
      integer(0, 1000),
      50,
    )
    .option(
      "--canary-p95-floor-ms <ms>",
      "a p95 difference below this many milliseconds never fails a step, whatever the ratio (timer noise)",
      integer(0, 60_000),
      25,
    );
}

/** The canary's settings, or undefined without steps; steps must ascend and end at 100. */
export function canaryFromOptions(options: Record<string, unknown>): CanarySettings | undefined {
  const steps = (options.trafficStep as number[] | undefined) ?? [];
  if (steps.length === 0) return undefined;
  const ascending = steps.every((percent, index) => index === 0 || percent > steps[index - 1]);
  if (!ascending || steps[steps.length - 1] !== 100) {
    throw new StepError(
      `--traffic-step ${steps.join(",")}: steps must ascend and end at 100, e.g. --traffic-step 10 --traffic-step 50 --traffic-step 100`,
      2,
    );
  }
  return {
    steps,
    stepSeconds: Number(options.trafficStepSeconds),
    margins: {
      errorRatePoints: Number(options.canaryErrorMargin),
      p95Percent: Number(options.canaryP95Margin),
      p95FloorMs: Number(options.canaryP95FloorMs),
      minRequests: Number(options.guardMinRequests),
    },
  };
}

/** The settings every switch reads from its options, warm-up and guard included. */
export function switchSettingsFromOptions(
  options: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): SwitchSettings {
  return {
    color: options.color as Color,
    release: String(options.release),
    image: options.image === undefined ? undefined : String(options.image),
    warmupPaths: (options.warmup as string[] | undefined) ?? [],
    guardSeconds: Number(options.guardSeconds),
    thresholds: thresholdsFromOptions(options),
    canary: canaryFromOptions(options),
    previewOnly: options.preview === true,
    env,
    log: (message) => progress("switch", message),
  };
}

export const switchCommand: StepCommand = {
  name: "switch",
  description:
    "Points the proxy at a color without dropping requests, warms it up, guards it, reverts on a breach",
  options: (command: Command) => guardThresholdOptions(addProxyOptions(switchTargetOptions(command))),
  run: async (options, env) => {
    const { switchTraffic } = await import(".");
    return switchTraffic({ spec: proxySpecFromOptions(options), ...switchSettingsFromOptions(options, env) });
  },
};

function containerName(value: string): string {
  if (!/^greenlight-proxy-[a-z][a-z0-9-]*-[A-Za-z0-9._-]+$/.test(value) || value.length > 128)
    throw new InvalidArgumentError("expected greenlight-proxy-<app>-<stack>");
  return value;
}

function controlChannel(value: string): "auto" | "socket" | "relay" {
  if (value !== "auto" && value !== "socket" && value !== "relay")
    throw new InvalidArgumentError("expected auto, socket or relay");
  return value;
}

export const switchHostsCommand: StepCommand = {
  name: "switch-hosts",
  description:
    "Moves every host's proxy to a color over SSH (host keys pinned), all or nothing; warms up, guards every host, reverts every host on a breach",
  options: (command: Command) =>
    guardThresholdOptions(
      addHostOptions(switchTargetOptions(command))
        .requiredOption(
          "--container <name>",
          "the proxy container on every host (greenlight-proxy-<app>-<stack>); the relay runs in it",
          containerName,
        )
        .requiredOption("--proxy-port <port>", "port every host's proxy listens on", port)
        .option("--preview-port <port>", "port of every host's preview front (reported)", port)

        .option(
          "--check-interval-ms <ms>",
          "interval of HAProxy's own health checks",
          integer(100, 60_000),
          1000,
        )
        .option(
          "--control-channel <how>",
          "how each proxy is reached: auto (its admin socket forwarded by sshd where allowed, else the relay), socket or relay",
          controlChannel,
          "auto",
        ),
    ),
  run: async (options, env) => {
    const hosts = hostsFromOptions(options);
    // Before loading the switch and ssh2: each host's sshd starts its session meanwhile.
    const early = preconnect(hosts);
    try {
      const [{ switchHosts }, { sshAuthFromEnv }] = await Promise.all([
        import("./hosts"),
        import("../control/ssh"),
      ]);
      return await switchHosts({
        hosts,
        early,
        container: String(options.container),
        auth: sshAuthFromEnv(env),
        proxyPort: Number(options.proxyPort),
        checkIntervalMs: Number(options.checkIntervalMs),
        via: options.controlChannel as HostsSwitchOptions["via"],
        ...(options.previewPort !== undefined ? { previewPort: Number(options.previewPort) } : {}),
        ...switchSettingsFromOptions(options, env),
      });
    } finally {
      discardEarly(early);
    }
  },
};
