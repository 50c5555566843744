// Seeds 002 and 004 end in "restore from backup": the bucket holding the backups and the database roles
// must survive a mistaken `pulumi destroy` or a rename, so they are protected where the data is real.
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { RESOURCE } from "../contract/resources";
import { label } from "./lib/graph";

export interface ProtectStatefulConfig {
  /** Resource types that must carry `protect: true`. */
  resourceTypes: string[];
}

export const DEFAULT_STATEFUL_TYPES = [RESOURCE.bucket, RESOURCE.pgRole, RESOURCE.pgGrant];

export const protectStateful: ResourceValidationPolicy = {
  name: "protect-stateful",
  description:
    "Requires the backup bucket and the database roles and grants to be protected, so no update or destroy can delete them.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      resourceTypes: {
        type: "array",
        items: { type: "string", minLength: 1 },
        description: "Resource types that must have protect: true.",
        default: DEFAULT_STATEFUL_TYPES,
      },
    },
  },
  remediationSteps:
    "Pass { protect: true } to the resource (the data components do so when the stack is production).",
  validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    const { resourceTypes = DEFAULT_STATEFUL_TYPES } = args.getConfig<Partial<ProtectStatefulConfig>>();
    if (!resourceTypes.includes(args.type) || args.opts.protect) return;
    reportViolation(
      `${label(args)} holds state the release cannot recreate, but is not protected; pass { protect: true } so pulumi destroy or a rename cannot delete it (unprotect deliberately with pulumi state unprotect).`,
    );
  },
};
