// Seeds 000-004: "Create database backup before applying migrations" and "Validate backups". Every
// migration must wait for a verified backup of the same release; the graph, not timing, says so.
import type { StackValidationPolicy } from "@pulumi/policy";
import { STEP, STEP_ENV } from "../contract/resources";
import { awaitedSteps, childrenIndex, findSteps, label } from "./lib/graph";

export interface BackupBeforeMigrateConfig {
  /** The backup must be verified (GREENLIGHT_VERIFY=true: pg_restore --list and checksum). */
  requireVerifiedBackup: boolean;
}

export const backupBeforeMigrate: StackValidationPolicy = {
  name: "backup-before-migrate",
  description:
    "Requires every migration command to depend, directly or through components, on a verified backup command of the same release.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      requireVerifiedBackup: {
        type: "boolean",
        description: "The backup the migration waits for must have verification on (GREENLIGHT_VERIFY=true).",
        default: true,
      },
    },
  },
  remediationSteps:
    "Pass the release's DatabaseBackup to the Migration (dependsOn) and keep the backup's verification on.",
  validateStack: (args, reportViolation) => {
    const { requireVerifiedBackup = true } = args.getConfig<Partial<BackupBeforeMigrateConfig>>();
    const migrations = findSteps(args.resources, STEP.migrate);
    if (migrations.length === 0) return;
    const children = childrenIndex(args.resources);
    for (const { resource: migration, env } of migrations) {
      const release = env[STEP_ENV.release];
      if (!release) {
        reportViolation(
          `migration ${label(migration)} has no ${STEP_ENV.release} in its environment, so no backup can be matched to it; the Migration component must set it.`,
          migration.urn,
        );
        continue;
      }
      const backups = awaitedSteps(migration, children, STEP.backup);
      const sameRelease = backups.filter((backup) => backup.env[STEP_ENV.release] === release);
      const verified = sameRelease.filter((backup) => backup.env[STEP_ENV.verify] === "true");
      if (verified.length > 0 || (!requireVerifiedBackup && sameRelease.length > 0)) continue;
      let found: string;
      if (sameRelease.length > 0) {
        found =
          `it waits for backup ${sameRelease.map((backup) => backup.resource.name).join(", ")} of release ${release}, ` +
          `but its verification is off (${STEP_ENV.verify}=${JSON.stringify(sameRelease[0].env[STEP_ENV.verify] ?? "")}); ` +
          `turn verification on`;
      } else if (backups.length > 0) {
        found =
          `it waits only for backups of other releases (${backups.map((backup) => backup.env[STEP_ENV.release] ?? "?").join(", ")}); ` +
          `make it depend on the backup of release ${release}`;
      } else {
        found = `it waits for no backup at all; pass the release's DatabaseBackup to the Migration as a dependency`;
      }
      reportViolation(
        `migration ${label(migration)} of release ${release} does not depend on a verified backup of that release: ${found}.`,
        migration.urn,
      );
    }
  },
};
