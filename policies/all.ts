// Every policy of the pack, in one list that index.ts serves and tools (npm run plan, the bench, the
// tests) evaluate in-process. Importing this module starts nothing.
import type { Policies } from "@pulumi/policy";
import { backupBeforeMigrate } from "./backup-before-migrate";
import { backupBucketHardened } from "./backup-bucket-hardened";
import { containerLimits } from "./container-limits";
import { deploymentWindow, deploymentWindowAdvisory } from "./deployment-window";
import { healthGateBeforeSwitch } from "./health-gate-before-switch";
import { immutableImages } from "./immutable-images";
import { protectStateful } from "./protect-stateful";
import { secretsAreSecret } from "./secrets-are-secret";
import { noCanaryOfBreakingSchema } from "./no-canary-of-breaking-schema";

export const policies: Policies = [
  deploymentWindow,
  deploymentWindowAdvisory,
  backupBeforeMigrate,
  healthGateBeforeSwitch,
  immutableImages,
  backupBucketHardened,
  protectStateful,
  containerLimits,
  secretsAreSecret,
  noCanaryOfBreakingSchema,
];
