// The proxy's command line: `greenlight-ops proxy` (index.ts runs it), and the options every
// proxy-touching step (proxy, switch, guard) takes to describe the proxy (a ProxySpec, spec.ts).
import { Command, InvalidArgumentError } from "commander";
import * as path from "path";
import { FS_PATH } from "../../contract/patterns";
import { Color } from "../../schema/types";
import { color, host, integer, port, urlPath } from "../lib/options";
import { StepCommand, progress } from "../lib/step";
import { MaintenanceMode } from "./config";
import { ProxySpec } from "./spec";
import { runProxy } from "./run";

function stateDir(value: string): string {
  if (!FS_PATH.test(value)) throw new InvalidArgumentError("expected a path of letters, digits and . _ - /");
  return path.resolve(value);
}

function maintenance(value: string): MaintenanceMode {
  if (!["off", "on", "read-only"].includes(value))
    throw new InvalidArgumentError("expected off, on or read-only");
  return value as MaintenanceMode;
}

/** The options every proxy-touching step (switch, guard) takes. */
export function addProxyOptions(command: Command): Command {
  return command
    .requiredOption(
      "--state-dir <dir>",
      "directory for the proxy's config, socket, pidfile and state file",
      stateDir,
    )
    .requiredOption("--proxy-port <port>", "port the proxy listens on", port)
    .option(
      "--listen-address <address>",
      "address the proxy listens on (0.0.0.0: every address of the host)",
      host,
      "127.0.0.1",
    )
    .requiredOption("--blue-port <port>", "host port of blue replica 0", port)
    .requiredOption("--green-port <port>", "host port of green replica 0", port)
    .option("--replicas <n>", "replicas per color", integer(1, 16), 1)
    .option("--upstream-host <host>", "address the proxy reaches the replicas at", host, "127.0.0.1")
    .option("--health-path <path>", "path of HAProxy's own health checks", urlPath, "/health")
    .option(
      "--maintenance <mode>",
      "off, on (503 page) or read-only (only GET and HEAD pass)",
      maintenance,
      "off",
    )
    .option("--check-interval-ms <ms>", "interval of HAProxy's own health checks", integer(100, 60_000), 1000)
    .option("--preview-port <port>", "port of the preview front (the not-yet-promoted color only)", port)
    .option(
      "--preview-address <address>",
      "address of the preview front: loopback or the host's private address, never the public one",
      host,
      "127.0.0.1",
    );
}

export function proxySpecFromOptions(options: Record<string, unknown>): ProxySpec {
  return {
    stateDir: String(options.stateDir),
    proxyPort: Number(options.proxyPort),
    listenAddress: String(options.listenAddress),
    upstreamHost: String(options.upstreamHost),
    hostPorts: { blue: Number(options.bluePort), green: Number(options.greenPort) },
    replicas: Number(options.replicas),
    healthPath: String(options.healthPath),
    maintenanceMode: options.maintenance as MaintenanceMode,
    checkIntervalMs: Number(options.checkIntervalMs),
    ...(options.previewPort !== undefined
      ? { previewPort: Number(options.previewPort), previewAddress: String(options.previewAddress) }
      : {}),
  };
}

export const proxyCommand: StepCommand = {
  name: "proxy",
  description:
    "Runs this host's proxy in the foreground (a container's command): renders the config, runs HAProxy master-worker, keeps the served color across restarts",
  options: (command: Command) =>
    addProxyOptions(command).option(
      "--initial-color <color>",
      "the color that serves on a host whose state volume remembers none",
      color,
      "blue",
    ),
  run: (options) =>
    runProxy({
      spec: proxySpecFromOptions(options),
      initialColor: options.initialColor as Color,
      log: (message) => progress("proxy", message),
    }),
};
