// Runs of the real program (and of the data fixture) under mocks, shared by the data component
// tests, plus lookups that throw instead of letting a test assert on nothing.
import * as path from "path";
import {
  ConfigOverride,
  ProgramRun,
  RecordedResource,
  isSecretMarker,
  runProgram,
} from "../../../tools/harness/run";

export const FIXTURE_DIR = path.join(__dirname, "fixture");

export type OkRun = Extract<ProgramRun, { ok: true }>;

const cache = new Map<string, Promise<ProgramRun>>();

function remember(key: string, start: () => Promise<ProgramRun>): Promise<ProgramRun> {
  const known = cache.get(key);
  if (known) return known;
  const promise = start();
  cache.set(key, promise);
  return promise;
}

/** Any run of the real program for a stack (cached per stack and overrides). */
export function anyRun(stack: string, overrides: Record<string, ConfigOverride> = {}): Promise<ProgramRun> {
  return remember(JSON.stringify([stack, overrides]), () => runProgram({ stack, overrides }));
}

/** A successful run of the real program. */
export async function program(stack: string, overrides: Record<string, ConfigOverride> = {}): Promise<OkRun> {
  const result = await anyRun(stack, overrides);
  if (!result.ok) throw new Error(`the program failed (${result.kind}): ${result.message}`);
  return result;
}

/** The data fixture program; `testCase` picks one bad argument ("valid": none). */
export function fixture(testCase: string): Promise<ProgramRun> {
  return remember(`fixture:${testCase}`, () =>
    runProgram({ stack: "fixture", projectDir: FIXTURE_DIR, overrides: { "data-fixture:case": testCase } }),
  );
}

export function named(resources: RecordedResource[], name: string): RecordedResource {
  const found = resources.find((resource) => resource.name === name);
  if (!found)
    throw new Error(`no resource ${name}; have ${resources.map((resource) => resource.name).join(", ")}`);
  return found;
}

export function ofType(resources: RecordedResource[], type: string): RecordedResource[] {
  const found = resources.filter((resource) => resource.type === type);
  if (found.length === 0) throw new Error(`no resource of type ${type}`);
  return found;
}

/** Names of the resources `resource` depends on directly. */
export function dependencyNames(resources: RecordedResource[], resource: RecordedResource): string[] {
  return resource.dependencies.map(
    (urn) => resources.find((candidate) => candidate.urn === urn)?.name ?? urn,
  );
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
