// Runs of the real program (and of the release fixture) under mocks, shared by the release component
// tests, plus lookups that throw instead of letting a test assert on nothing.
import * as path from "path";
import { ConfigOverride, ProgramRun, RecordedResource, runProgram } from "../../../tools/harness/run";

export const FIXTURE_DIR = path.join(__dirname, "fixture");

type OkRun = Extract<ProgramRun, { ok: true }>;

const cache = new Map<string, Promise<ProgramRun>>();

/** The real program for a stack (cached per stack and overrides). */
export function program(stack: string, overrides: Record<string, ConfigOverride> = {}): Promise<OkRun> {
  return run(JSON.stringify([stack, overrides]), () => runProgram({ stack, overrides }));
}

/** The release fixture program; `testCase` picks a bad argument ("valid": none). */
export function fixture(testCase = "valid"): Promise<ProgramRun> {
  return (
    cache.get(`fixture:${testCase}`) ??
    remember(`fixture:${testCase}`, () =>
      runProgram({
        stack: "bridge",
        projectDir: FIXTURE_DIR,
        overrides: { "release-fixture:case": testCase },
      }),
    )
  );
}

export async function validFixture(): Promise<OkRun> {
  const result = await fixture("valid");
  if (!result.ok) throw new Error(`the release fixture failed: ${result.message}`);
  return result;
}

function remember(key: string, start: () => Promise<ProgramRun>): Promise<ProgramRun> {
  const promise = start();
  cache.set(key, promise);
  return promise;
}

async function run(key: string, start: () => Promise<ProgramRun>): Promise<OkRun> {
  const result = await (cache.get(key) ?? remember(key, start));
  if (!result.ok) throw new Error(`the program failed (${result.kind}): ${result.message}`);
  return result;
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
 * Everything a resource waits for: its dependencies and theirs, and its ancestors' dependencies (a
 * child is registered only after its parent, and the parent only after its dependsOn).
 */
export function waitsFor(resources: RecordedResource[], resource: RecordedResource): Set<string> {
  const byUrn = new Map(resources.map((candidate) => [candidate.urn, candidate]));
  const seen = new Set<string>();
  const queue = [...resource.dependencies, ...(resource.parent ? [resource.parent] : [])];
  while (queue.length > 0) {
    const urn = queue.pop() as string;
    if (seen.has(urn)) continue;
    seen.add(urn);
    const node = byUrn.get(urn);
    if (!node) continue;
    queue.push(...node.dependencies);
    if (node.parent) queue.push(node.parent);
  }
  return new Set([...seen].map((urn) => byUrn.get(urn)?.name ?? urn));
}

/** The `--flag value` pairs of a step's command line (values unquoted for simple words only). */
export function flagsOf(commandLine: string): Record<string, string[]> {
  const flags: Record<string, string[]> = {};
  const words = commandLine.match(/'(?:[^']|'\\'')*'|\S+/g) ?? [];
  for (let index = 0; index < words.length; index++) {
    const word = words[index];
    if (!word.startsWith("--")) continue;
    const next = words[index + 1];
    const value = next === undefined || next.startsWith("--") || next === "&&" ? "" : next;
    (flags[word.slice(2)] ??= []).push(value);
  }
  return flags;
}
