import type { Context } from "mocha";

/** True when running under CI, where a missing service is a failure, never a skip. */
export const IN_CI = process.env.CI === "true";

/**
 * Starts a service a test needs. Outside CI a service that cannot start skips the suite with the
 * reason; under CI=true it fails, so a bare CI machine can never pass by skipping.
 */
export async function needService<T>(context: Context, name: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    const reason = `${name} is not available: ${error instanceof Error ? error.message : String(error)}`;
    if (IN_CI) throw new Error(`${reason} (CI=true: a missing service is a failure)`);
    console.warn(`    skipped: ${reason}`);
    context.skip();
    throw error;
  }
}
