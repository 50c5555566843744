// Issue 22: during a preview and during canary steps both colors serve at once, on one database. A release
// whose schema change is breaking (the old code cannot run on the new schema) would fail every request the
// old color answers — and a canary abort would send everyone back to code that cannot read the data. So
// such a release goes out in one move, unless it is declared expand/contract-safe (old and new code both
// run on the expanded schema; the contract step ships in a later release). RUNBOOK.md says why.
import type { StackValidationPolicy } from "@pulumi/policy";
import { STEP, STEP_ENV } from "../contract/resources";
import { findSteps, label } from "./lib/graph";

export const noCanaryOfBreakingSchema: StackValidationPolicy = {
  name: "no-canary-of-breaking-schema",
  description:
    "Requires a schema-breaking release to take the traffic in one move: no preview and no canary steps, unless it is declared expand/contract-safe.",
  enforcementLevel: "mandatory",
  configSchema: { properties: {} },
  remediationSteps:
    "Release it without --preview and with greenlight:trafficSteps [] (one move), or split the migration into expand and contract releases and set greenlight:expandContractSafe true.",
  validateStack: (args, reportViolation) => {
    const breaking = findSteps(args.resources, STEP.record).some(
      ({ env }) => env[STEP_ENV.schemaBreaking] === "true",
    );
    if (!breaking) return;
    for (const { resource, env } of findSteps(args.resources, STEP.switch)) {
      if (env[STEP_ENV.expandContractSafe] === "true") continue;
      const both = [
        ...(env[STEP_ENV.preview] === "true" ? ["a preview (greenlight:promote false)"] : []),
        ...(env[STEP_ENV.trafficSteps]
          ? [`canary steps ${env[STEP_ENV.trafficSteps]} (greenlight:trafficSteps)`]
          : []),
      ];
      if (both.length === 0) continue;
      reportViolation(
        `traffic switch ${label(resource)} of a schema-breaking release (greenlight:schemaBreaking true) runs ${both.join(" and ")}: both colors would serve at once on the new schema, and the old code cannot; ` +
          "release it in one move (greenlight:promote true, greenlight:trafficSteps []) or make the migration expand/contract-safe and set greenlight:expandContractSafe true.",
        resource.urn,
      );
    }
  },
};
