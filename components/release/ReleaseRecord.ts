import * as pulumi from "@pulumi/pulumi";
import { COMPONENT, STEP, STEP_ENV } from "../../contract/resources";
import { Color, Override } from "../../schema/types";
import { ReleaseSnapshot, snapshotEnvironment } from "../../contract/release-transition";
import { ArgChecker } from "../arg-checker";
import { OPS_CLI, stepOutputs, stepCommand, StepResource } from "../step-command";

export interface ReleaseRecordArgs {
  /** Stack the release goes to. */
  stack: string;
  /** Release id that becomes active. */
  release: string;
  /** The color it runs on (config activeColor). */
  color: Color;
  /** Its image. */
  image: string;
  /** The release's schema change is not backward compatible (rollback restores a backup). */
  schemaBreaking: boolean;
  /** Emergency override of the deployment window: all four fields, expiring within 24 h. */
  override?: Override;
  /**
   * What both colors run and which holds the newest release: the step refuses an update that changes a
   * color's release or image without making it greenlight:latestColor (contract/release-transition.ts).
   */
  snapshot: ReleaseSnapshot;
}

/**
 * The first step of every update: `greenlight-ops record` re-checks the emergency override when the
 * update runs and prints the release record, which the program exports so `pulumi stack history`
 * shows it. The deployment-window policy reads the same fields from this command's environment.
 */
export class ReleaseRecord extends pulumi.ComponentResource {
  readonly run: StepResource;
  /** The record as the step printed it: release, color, image, schemaBreaking, override (empty during preview). */
  readonly record: pulumi.Output<Record<string, unknown> | undefined>;

  constructor(name: string, args: ReleaseRecordArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT.releaseRecord, name, {}, opts);
    const check = new ArgChecker("ReleaseRecord", name);
    check.stack("stack", args.stack);
    check.release("release", args.release);
    check.color("color", args.color);
    check.image("image", args.image);
    check.color("snapshot.latestColor", args.snapshot.latestColor);
    for (const color of ["blue", "green"] as const) {
      check.release(`snapshot.colors.${color}.release`, args.snapshot.colors[color].release);
      check.image(`snapshot.colors.${color}.image`, args.snapshot.colors[color].image);
    }
    if (args.override) {
      for (const field of ["reason", "approver", "ticket", "expiresAt"] as const) {
        check.require(
          (args.override[field] ?? "").trim() !== "",
          `override.${field}`,
          args.override[field],
          "a value: an override needs all four fields",
        );
      }
    }
    const override: Record<string, string> = args.override
      ? {
          [STEP_ENV.overrideReason]: args.override.reason,
          [STEP_ENV.overrideApprover]: args.override.approver,
          [STEP_ENV.overrideTicket]: args.override.ticket,
          [STEP_ENV.overrideExpiresAt]: args.override.expiresAt,
        }
      : {};
    const snapshot = snapshotEnvironment(args.snapshot);
    this.run = stepCommand(
      `${name}-record`,
      {
        create: `${OPS_CLI} record`,
        // An update (not a replacement) gives the step the previous record, which it judges this one against.
        update: `${OPS_CLI} record`,
        addPreviousOutputInEnv: true,
        environment: {
          [STEP_ENV.step]: STEP.record,
          [STEP_ENV.release]: args.release,
          [STEP_ENV.color]: args.color,
          GREENLIGHT_IMAGE: args.image,
          GREENLIGHT_STACK: args.stack,
          GREENLIGHT_SCHEMA_BREAKING: String(args.schemaBreaking),
          ...snapshot,
          ...override,
        },
      },
      { parent: this },
    );
    this.record = this.run.stdout.apply((stdout) => stepOutputs(stdout)[0]);
    this.registerOutputs({ record: this.record });
  }
}
