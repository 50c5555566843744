// The one exit-code table of every greenlight command line: the tools (plan, release, rollback, stats,
// secret, gen:config), the steps (`greenlight-ops <step>`) and scripts/local-services.sh. A code means
// the same thing wherever it appears; RUNBOOK.md's table is checked against this one by a test.

/** Every exit code, by what it means. */
export const EXIT = {
  /** Done: planned, written, reported, the step's JSON printed. */
  ok: 0,
  /** Refused: a policy, the stack's state or a failed check says no; nothing unsafe was done. */
  refused: 1,
  /** Usage or configuration: a flag, a value or a config key to fix; nothing was written. */
  usage: 2,
  /** The migration found no verified backup of its release (a refusal of the data-safety gate). */
  noVerifiedBackup: 3,
  /** Another migration holds the migration lock: run it again once that one ended. */
  migrationLocked: 4,
  /** The environment failed: a missing program, a read-only or full disk, a permission, an unreachable service. */
  environment: 5,
  /** A canary step had too few requests to judge, even waited for: the new color is back at 0 %, nothing judged. */
  canaryInconclusive: 6,
  /** Stopped by Ctrl-C (SIGINT); what ran is said on stderr. */
  interrupted: 130,
  /** Stopped by SIGTERM; what ran is said on stderr. */
  terminated: 143,
} as const;

/** The table as RUNBOOK.md shows it: code, name, meaning. */
export const EXIT_TABLE: readonly { code: number; name: keyof typeof EXIT; meaning: string }[] = [
  { code: EXIT.ok, name: "ok", meaning: "done: planned, written, reported, or the step's JSON printed" },
  {
    code: EXIT.refused,
    name: "refused",
    meaning: "refused by a policy, the stack's state or a failed check; nothing unsafe was done",
  },
  {
    code: EXIT.usage,
    name: "usage",
    meaning: "usage or configuration: a flag, value or config key to fix (each named); nothing written",
  },
  {
    code: EXIT.noVerifiedBackup,
    name: "noVerifiedBackup",
    meaning: "`greenlight-ops migrate`: no verified backup of its release, so no migration",
  },
  {
    code: EXIT.migrationLocked,
    name: "migrationLocked",
    meaning: "`greenlight-ops migrate`: another migration holds the lock; run again once it ended",
  },
  {
    code: EXIT.environment,
    name: "environment",
    meaning:
      "the environment failed: a program missing, a read-only or full disk, a permission, a service down",
  },
  {
    code: EXIT.canaryInconclusive,
    name: "canaryInconclusive",
    meaning:
      "`greenlight-ops switch`: a canary step had too few requests to judge, even waited for; the new color is at 0 %, the old serves",
  },
  {
    code: EXIT.interrupted,
    name: "interrupted",
    meaning: "stopped by Ctrl-C; stderr says what ran and what to do",
  },
  {
    code: EXIT.terminated,
    name: "terminated",
    meaning: "stopped by SIGTERM; stderr says what ran and what to do",
  },
];

/** System error codes that mean the environment failed, not the input: exit EXIT.environment. */
const ENVIRONMENT_ERROR_CODES = new Set([
  "EACCES",
  "EPERM",
  "EROFS",
  "ENOSPC",
  "EDQUOT",
  "EMFILE",
  "ENFILE",
  "EIO",
]);

/** Whether an error is a system error of the environment (EACCES on a read-only checkout, ENOSPC…). */
export function isEnvironmentError(error: unknown): error is NodeJS.ErrnoException {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === "string" && ENVIRONMENT_ERROR_CODES.has(code);
}
