// The switch's command lines: `switch` moves the proxy on this machine (index.ts), `switch-hosts`
// every host's proxy from one coordinator (hosts.ts). Both take the same target, warm-up and guard options.
import { Command } from "commander";
import { Color } from "../../schema/types";
import { guardThresholdOptions, thresholdsFromOptions } from "../guard/cli";
import { addProxyOptions, proxySpecFromOptions } from "../proxy/cli";
import { color, host, imageRef, integer, port, releaseId, repeatable, urlPath } from "../lib/options";
import { StepCommand, StepError, progress } from "../lib/step";
import { SwitchSettings, switchTraffic } from ".";
import { HostEntry, parseHostEntry, switchHosts } from "./hosts";

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
    );
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
    env,
    log: (message) => progress("switch", message),
  };
}

export const switchCommand: StepCommand = {
  name: "switch",
  description:
    "Points the proxy at a color without dropping requests, warms it up, guards it, reverts on a breach",
  options: (command: Command) => guardThresholdOptions(addProxyOptions(switchTargetOptions(command))),
  run: (options, env) =>
    switchTraffic({ spec: proxySpecFromOptions(options), ...switchSettingsFromOptions(options, env) }),
};

export const switchHostsCommand: StepCommand = {
  name: "switch-hosts",
  description:
    "Moves every host's proxy to a color through its TCP runtime API, all or nothing; warms up, guards every host, reverts every host on a breach",
  options: (command: Command) =>
    guardThresholdOptions(
      switchTargetOptions(command)
        .requiredOption(
          "--host <name=address[:admin-port]>",
          "a host whose proxy moves, at its private address; repeatable, in order",
          repeatable(parseHostEntry),
        )
        .requiredOption("--admin-port <port>", "TCP port of every host's runtime API", port)
        .requiredOption("--proxy-port <port>", "port every host's proxy listens on", port)
        .requiredOption(
          "--log-address <address>",
          "this host's private address: every proxy sends its access log here, the guard listens here",
          host,
        )
        .requiredOption("--log-port <port>", "UDP port of the access log", port)
        .option(
          "--check-interval-ms <ms>",
          "interval of HAProxy's own health checks",
          integer(100, 60_000),
          1000,
        ),
    ),
  run: (options, env) => {
    const hosts = options.host as HostEntry[];
    const names = hosts.map((entry) => entry.name);
    const twice = names.find((name, index) => names.indexOf(name) !== index);
    if (twice !== undefined) throw new StepError(`host ${twice} is given twice: name each host once`, 2);
    return switchHosts({
      hosts,
      adminPort: Number(options.adminPort),
      proxyPort: Number(options.proxyPort),
      logAddress: String(options.logAddress),
      logPort: Number(options.logPort),
      checkIntervalMs: Number(options.checkIntervalMs),
      ...switchSettingsFromOptions(options, env),
    });
  },
};
