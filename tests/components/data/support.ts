// What the data component tests run on: the shared program runs and lookups (../support.ts), the
// data fixture, and a command resource's environment.
import * as path from "path";
import { ProgramRun, RecordedResource, isSecretMarker } from "../../../tools/harness/run";
import { fixtureRun } from "../support";

export { dependencyNames, named, ofType, program } from "../support";

export const FIXTURE_DIR = path.join(__dirname, "fixture");

/** The data fixture program; `testCase` picks one bad argument ("valid": none). */
export function fixture(testCase: string): Promise<ProgramRun> {
  return fixtureRun(FIXTURE_DIR, "fixture", { "data-fixture:case": testCase });
}

/** A command resource's environment, asserting it is a map. */
export function environmentOf(resource: RecordedResource): Record<string, unknown> {
  const environment = resource.inputs.environment;
  if (typeof environment !== "object" || environment === null)
    throw new Error(`${resource.name} has no environment`);
  return environment as Record<string, unknown>;
}

/** The plain (non-secret) string entries of an environment. */
export function plainEntries(environment: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(environment).filter((entry): entry is [string, string] => typeof entry[1] === "string"),
  );
}

export { isSecretMarker };
