import * as pulumi from "@pulumi/pulumi";
import { COMPONENT, STEP, STEP_ENV } from "../../contract/resources";
import { formatSmokeCheck } from "../../schema/smoke";
import { SmokeCheck } from "../../schema/types";
import { ArgChecker } from "../arg-checker";
import { ColorSlot } from "./ColorSlot";
import { LOCAL, StepPlace, StepResource, placedCommand, stepCommand, stepOutputs } from "../step-command";

export interface HealthGateArgs {
  /** The slot under test; the gate runs after all its containers are up. Its color, release, image and ports are used. */
  slot: ColorSlot;
  /** Address the replicas are probed at, directly and not through the proxy (default 127.0.0.1). */
  host?: string;
  /** Liveness path (default /health). */
  healthPath?: string;
  /** Readiness path (default /health/ready). */
  readinessPath?: string;
  /** Seconds between probes (the blue-green deployment procedures: 5). */
  intervalSeconds: number;
  /** Seconds one probe may take (the blue-green deployment procedures: 3). */
  timeoutSeconds: number;
  /** 200 answers in a row each path needs on each replica (the blue-green deployment procedures: 5). */
  attempts: number;
  /** Seconds after which the gate fails. */
  deadlineSeconds: number;
  /** Smoke checks run once the probes pass (path, status, text, max latency). */
  smokeChecks: SmokeCheck[];
  /** Slack-compatible webhook for a red gate (secret). */
  webhookUrl?: pulumi.Input<string>;
}

/**
 * The health gate of one color: `greenlight-ops health-gate` (liveness and readiness N times in a row
 * on every replica) then `greenlight-ops smoke`. Runs again whenever the color's release, image or containers change.
 */
export class HealthGate extends pulumi.ComponentResource {
  readonly color: string;
  readonly release: string;
  /** Docker ids of the containers the gate passed. */
  readonly containerIds: pulumi.Output<string[]>;
  /** The gate commands, one per place the replicas run; the traffic switch depends on all of them. */
  readonly runs: StepResource[];
  /** The first (the only one without hosts). */
  readonly run: StepResource;
  /** The gate's and the smoke checks' JSON reports (empty during preview). */
  readonly report: pulumi.Output<Record<string, unknown>[]>;

  constructor(name: string, args: HealthGateArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT.healthGate, name, {}, opts);
    const check = new ArgChecker("HealthGate", name);
    check.require(args.slot instanceof ColorSlot, "slot", typeof args.slot, "the ColorSlot under test");
    const host = args.host ?? "127.0.0.1";
    check.host("host", host);
    const healthPath = args.healthPath ?? "/health";
    const readinessPath = args.readinessPath ?? "/health/ready";
    check.path("healthPath", healthPath);
    check.path("readinessPath", readinessPath);
    check.integer("intervalSeconds", args.intervalSeconds, 1, 300, "seconds");
    check.integer("timeoutSeconds", args.timeoutSeconds, 1, 120, "seconds");
    check.integer("attempts", args.attempts, 1, 100, "attempts");
    const needed = args.intervalSeconds * (args.attempts - 1) + args.timeoutSeconds;
    check.integer(
      "deadlineSeconds",
      args.deadlineSeconds,
      needed,
      3600,
      `seconds (at least interval × (attempts − 1) + timeout = ${needed})`,
    );
    args.smokeChecks.forEach((smoke, index) => {
      check.path(`smokeChecks[${index}].path`, smoke.path);
      check.integer(`smokeChecks[${index}].status`, smoke.status, 100, 599, "(an HTTP status)");
      check.integer(`smokeChecks[${index}].maxMs`, smoke.maxMs, 1, 600_000, "ms");
      check.require(
        !(smoke.text ?? "").includes('"'),
        `smokeChecks[${index}].text`,
        smoke.text,
        "text without double quotes",
      );
    });

    const { slot } = args;
    this.color = slot.color;
    this.release = slot.release;
    this.containerIds = slot.containerIds;
    const gateFlags = {
      "health-path": healthPath,
      "readiness-path": readinessPath,
      interval: args.intervalSeconds,
      timeout: args.timeoutSeconds,
      attempts: args.attempts,
      deadline: args.deadlineSeconds,
    };
    const environment = {
      [STEP_ENV.step]: STEP.healthGate,
      [STEP_ENV.color]: slot.color,
      [STEP_ENV.release]: slot.release,
      [STEP_ENV.readiness]: "true",
      ...(args.webhookUrl !== undefined ? { GREENLIGHT_WEBHOOK_URL: pulumi.secret(args.webhookUrl) } : {}),
    };
    // One gate per place the replicas run, probing them from there: this machine, or each Docker host
    // from the host itself, where its proxy reaches them.
    this.runs = slot.placed.map((placed) => {
      const place: StepPlace = placed.host
        ? { kind: "host", host: placed.host.connection, image: placed.host.opsImage }
        : LOCAL;
      const target = {
        color: slot.color,
        release: slot.release,
        port: placed.ports[0],
        replicas: placed.ports.length,
        host: placed.host ? placed.address : host,
      };
      const envNames = args.webhookUrl !== undefined ? ["GREENLIGHT_WEBHOOK_URL"] : [];
      const gate = placedCommand(place, "health-gate", { ...target, ...gateFlags }, { envNames });
      const smoke = placedCommand(
        place,
        "smoke",
        { ...target, check: args.smokeChecks.map(formatSmokeCheck) },
        { envNames },
      );
      return stepCommand(
        placed.host ? `${name}-${placed.host.name}-run` : `${name}-run`,
        {
          create: pulumi.interpolate`${gate} && ${smoke}`,
          environment,
          // Whenever the color's containers change (a release, a setting, a limit), the gate runs again.
          triggers: [slot.color, slot.release, slot.image, placed.containerIds],
        },
        { parent: this, dependsOn: placed.host ? [slot, placed.host] : [slot] },
        placed.host?.connection,
      );
    });
    this.run = this.runs[0];
    this.report = pulumi
      .all(this.runs.map((run) => run.stdout))
      .apply((outputs) => outputs.flatMap((stdout) => stepOutputs(stdout)));
    this.registerOutputs({ color: this.color, release: this.release, report: this.report });
  }
}
