import * as pulumi from "@pulumi/pulumi";
import { COMPONENT, STEP, STEP_ENV } from "../../contract/resources";
import { FS_PATH } from "../../contract/patterns";
import { Color } from "../../schema/types";
import { ArgChecker } from "../arg-checker";
import { StepResource, opsCommand, stepCommand, stepOutputs } from "../step-command";
import type { DockerHost } from "./DockerHost";
import { HealthGate } from "./HealthGate";

/** Post-switch guard thresholds (seeds 001/002). */
export interface GuardSettings {
  /** Revert above this 5xx/connection-error rate, in percent (default 5). */
  errorRatePercent: number;
  /** Revert above this p95 latency, in milliseconds (default 2000). */
  p95Ms: number;
  /** Seconds the guard watches the new color (0: no guard). */
  durationSeconds: number;
  /** Requests needed before the guard judges. */
  minRequests: number;
}

export interface TrafficSwitchArgs {
  /** The color that serves after this update (config activeColor). */
  activeColor: Color;
  /** Release and image of that color. */
  release: string;
  image: string;
  /** The health gate of `activeColor`; the switch waits for it (policy health-gate-before-switch). */
  gate: HealthGate;
  /** Port the proxy listens on, on 127.0.0.1. */
  proxyPort: number;
  /** Directory for the proxy's config, socket, pidfile and server-state file (relative to the project). */
  stateDir: string;
  /** Host port of replica 0 of each color. */
  hostPorts: Record<Color, number>;
  /** Replicas per color. */
  replicas: number;
  /** Address the proxy reaches the replicas at (default 127.0.0.1). */
  upstreamHost?: string;
  /** Path of HAProxy's own health checks (default /health). */
  healthPath?: string;
  /** off, on (503 page) or read-only (only GET and HEAD pass). */
  maintenanceMode: "off" | "on" | "read-only";
  /** Paths requested through the proxy right after the switch (cache warm-up, the production rollout checklist). */
  warmupPaths: string[];
  guard: GuardSettings;
  /** Slack-compatible webhook for switch and revert (secret). */
  webhookUrl?: pulumi.Input<string>;
  /** Address the proxy listens on (default 127.0.0.1). */
  listenAddress?: string;
  /**
   * Stacks with hosts: every host's proxy moves, all or nothing, driven from here (the coordinator runs
   * where `pulumi up` runs) over SSH to each host, host keys pinned, through the relay in each host's
   * proxy container (`container`); its guard reads every proxy's access log the same way.
   */
  hosts?: { all: DockerHost[]; container: string };
  /** false: bring activeColor to every proxy's preview front only, users stay where they are (default true). */
  promote?: boolean;
  /** Canary steps in percent, ascending, ending at 100 (default none: one move). */
  steps?: number[];
  /** Seconds each canary step is judged (default 60). */
  stepSeconds?: number;
  /**
   * How far the new color may be from the old at a step: error-rate points, p95 percent, and the p95
   * difference in milliseconds below which no ratio counts (default 1, 50, 25).
   */
  canaryMargins?: { errorRatePoints: number; p95Percent: number; p95FloorMs: number };
  /** Port of each proxy's preview front (the local proxy's; hosts' proxies get theirs from DockerHost). */
  previewPort?: number;
  /** The release is declared expand/contract-safe (policy no-canary-of-breaking-schema reads it). */
  expandContractSafe?: boolean;
}

/**
 * Points the proxy at `activeColor` with `greenlight-ops switch` (HAProxy runtime API: no reload, no
 * dropped request), warms it up and guards it; a breach flips back and fails the update. Runs when the
 * active color, its release, its image or its containers change, and when proxy settings change. With
 * hosts, `greenlight-ops switch-hosts` runs here and reaches every host's proxy over SSH (the hosts' key
 * in GREENLIGHT_SSH_PRIVATE_KEY, a secret; each host's key pinned on its command line).
 */
export class TrafficSwitch extends pulumi.ComponentResource {
  readonly activeColor: Color;
  readonly release: string;
  readonly image: string;
  readonly proxyUrl: string;
  /** The gate report the switch waited for. */
  readonly gateReport: pulumi.Output<Record<string, unknown>[]>;
  /** The switch's own report: method, flip time, warm-up, guard numbers (empty during preview). */
  readonly report: pulumi.Output<Record<string, unknown> | undefined>;
  readonly run: StepResource;

  constructor(name: string, args: TrafficSwitchArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT.trafficSwitch, name, {}, opts);
    const check = new ArgChecker("TrafficSwitch", name);
    check.color("activeColor", args.activeColor);
    check.release("release", args.release);
    check.image("image", args.image);
    check.require(args.gate instanceof HealthGate, "gate", typeof args.gate, "the HealthGate of activeColor");
    check.require(
      args.gate.color === args.activeColor && args.gate.release === args.release,
      "gate",
      `${args.gate.color}/${args.gate.release}`,
      `the gate of ${args.activeColor}/${args.release}, the color and release this switch activates`,
    );
    check.port("proxyPort", args.proxyPort);
    check.require(
      FS_PATH.test(args.stateDir),
      "stateDir",
      args.stateDir,
      "a path of letters, digits and . _ - /",
    );
    check.integer("replicas", args.replicas, 1, 16, "replicas");
    check.portRange("hostPorts.blue", args.hostPorts.blue, args.replicas);
    check.portRange("hostPorts.green", args.hostPorts.green, args.replicas);
    const upstreamHost = args.upstreamHost ?? "127.0.0.1";
    check.host("upstreamHost", upstreamHost);
    const healthPath = args.healthPath ?? "/health";
    check.path("healthPath", healthPath);
    check.require(
      ["off", "on", "read-only"].includes(args.maintenanceMode),
      "maintenanceMode",
      args.maintenanceMode,
      "off, on or read-only",
    );
    args.warmupPaths.forEach((path, index) => check.path(`warmupPaths[${index}]`, path));
    check.integer("guard.errorRatePercent", args.guard.errorRatePercent, 1, 100, "percent");
    check.integer("guard.p95Ms", args.guard.p95Ms, 1, 600_000, "ms");
    check.integer("guard.durationSeconds", args.guard.durationSeconds, 0, 86400, "seconds");
    check.integer("guard.minRequests", args.guard.minRequests, 1, 1_000_000, "requests");
    const steps = args.steps ?? [];
    steps.forEach((percent, index) => check.integer(`steps[${index}]`, percent, 1, 100, "percent"));
    check.require(
      steps.length === 0 ||
        (steps.every((percent, index) => index === 0 || percent > steps[index - 1]) &&
          steps[steps.length - 1] === 100),
      "steps",
      JSON.stringify(steps),
      "percentages ascending, the last one 100",
    );
    const stepSeconds = args.stepSeconds ?? 60;
    check.integer("stepSeconds", stepSeconds, 1, 3600, "seconds");
    const margins = args.canaryMargins ?? { errorRatePoints: 1, p95Percent: 50, p95FloorMs: 25 };
    check.integer("canaryMargins.errorRatePoints", margins.errorRatePoints, 0, 100, "points");
    check.integer("canaryMargins.p95Percent", margins.p95Percent, 0, 1000, "percent");
    check.integer("canaryMargins.p95FloorMs", margins.p95FloorMs, 0, 60_000, "ms");
    if (args.previewPort !== undefined) check.port("previewPort", args.previewPort);
    const promote = args.promote ?? true;
    check.require(
      promote || args.previewPort !== undefined || args.hosts !== undefined,
      "previewPort",
      "undefined",
      "a preview port when promote is false: the previewed color is reachable only there",
    );

    this.activeColor = args.activeColor;
    this.release = args.release;
    this.image = args.image;
    const listenAddress = args.listenAddress ?? "127.0.0.1";
    check.host("listenAddress", listenAddress);
    const coordinator = args.hosts?.all[0];
    this.proxyUrl = `http://${coordinator ? coordinator.settings.address : listenAddress === "0.0.0.0" ? "127.0.0.1" : listenAddress}:${args.proxyPort}/`;
    this.gateReport = args.gate.report;

    const common = {
      color: args.activeColor,
      release: args.release,
      image: args.image,
    };
    const guard = {
      ...(promote ? {} : { preview: true }),
      ...(steps.length > 0
        ? {
            "traffic-step": steps,
            "traffic-step-seconds": stepSeconds,
            "canary-error-margin": margins.errorRatePoints,
            "canary-p95-margin": margins.p95Percent,
            "canary-p95-floor-ms": margins.p95FloorMs,
          }
        : {}),
      ...(args.previewPort !== undefined ? { "preview-port": args.previewPort } : {}),
      warmup: args.warmupPaths,
      "guard-seconds": args.guard.durationSeconds,
      "guard-error-rate": args.guard.errorRatePercent,
      "guard-p95-ms": args.guard.p95Ms,
      "guard-min-requests": args.guard.minRequests,
    };
    const hosts = args.hosts;
    const create =
      hosts && coordinator
        ? // Each host's admin socket (its state volume's mountpoint) lets sshd forward it: no Docker asked.
          pulumi.all(hosts.all.map((host) => host.adminSocket)).apply((sockets) =>
            opsCommand("switch-hosts", {
              ...common,
              host: hosts.all.map(
                (host) => `${host.name}=${host.settings.user}@${host.settings.address}:${host.settings.port}`,
              ),
              "host-key": hosts.all.map((host) => `${host.name}=${host.settings.hostKey}`),
              "admin-socket": hosts.all.map((host, index) => `${host.name}=${sockets[index]}`),
              container: hosts.container,
              "proxy-port": args.proxyPort,
              ...guard,
            }),
          )
        : opsCommand("switch", {
            ...common,
            "state-dir": args.stateDir,
            ...(listenAddress !== "127.0.0.1" ? { "listen-address": listenAddress } : {}),
            "proxy-port": args.proxyPort,
            "blue-port": args.hostPorts.blue,
            "green-port": args.hostPorts.green,
            replicas: args.replicas,
            "upstream-host": upstreamHost,
            "health-path": healthPath,
            maintenance: args.maintenanceMode,
            ...guard,
          });

    this.run = stepCommand(
      `${name}-run`,
      {
        create,
        environment: {
          [STEP_ENV.step]: STEP.switch,
          [STEP_ENV.color]: args.activeColor,
          [STEP_ENV.release]: args.release,
          // What the policy pack judges: both colors serve at once during a preview or a canary.
          ...(promote ? {} : { [STEP_ENV.preview]: "true" }),
          ...(steps.length > 0 ? { [STEP_ENV.trafficSteps]: steps.join(",") } : {}),
          ...(args.expandContractSafe ? { [STEP_ENV.expandContractSafe]: "true" } : {}),
          ...(args.webhookUrl !== undefined
            ? { GREENLIGHT_WEBHOOK_URL: pulumi.secret(args.webhookUrl) }
            : {}),
          ...(coordinator
            ? { GREENLIGHT_SSH_PRIVATE_KEY: pulumi.secret(coordinator.connection.privateKey) }
            : {}),
        },
        // A flip, a new release, or new containers behind the active color (the gate ran again) switch again.
        triggers: [args.activeColor, args.release, args.image, args.gate.containerIds, promote],
      },
      // After every gate of the color (one per host) and, with hosts, every host's proxy and ops image.
      { parent: this, dependsOn: [...args.gate.runs, ...(args.hosts?.all ?? [])] },
    );
    this.report = this.run.stdout.apply((stdout) => stepOutputs(stdout)[0]);
    this.registerOutputs({
      activeColor: this.activeColor,
      release: this.release,
      image: this.image,
      proxyUrl: this.proxyUrl,
      gateReport: this.gateReport,
      report: this.report,
    });
  }
}
