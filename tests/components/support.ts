// Runs of the real program and of the component fixtures under mocks, shared by the data and release
// component tests (one cache for the whole mocha process), plus lookups that throw instead of
// letting a test assert on nothing.
import { ConfigOverride, ProgramRun, RecordedResource, runProgram } from "../../tools/harness/run";

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

/** A run of a fixture program in `projectDir` (cached per folder, stack and overrides). */
export function fixtureRun(
  projectDir: string,
  stack: string,
  overrides: Record<string, ConfigOverride>,
): Promise<ProgramRun> {
  return remember(JSON.stringify(["fixture", projectDir, stack, overrides]), () =>
    runProgram({ stack, projectDir, overrides }),
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

/** Names of a resource's direct dependencies (dependsOn and inputs; components expanded by the harness). */
export function dependencyNames(resources: RecordedResource[], resource: RecordedResource): string[] {
  return resource.dependencies.map(
    (urn) => resources.find((candidate) => candidate.urn === urn)?.name ?? urn.split("::").pop() ?? urn,
  );
}

/**
 * The production stack on one machine (its hosts, data host and SSH key removed): the component tests
 * of one color's containers, gate and switch read its three replicas here; DockerHost.test.ts reads it
 * with its hosts.
 */
export const ONE_MACHINE: Record<string, ConfigOverride> = {
  "greenlight:hosts": null,
  "greenlight:dataHost": null,
  "greenlight:sshPrivateKey": null,
  "greenlight:proxyListenAddress": null,
  "greenlight:proxyPort": null,
};
