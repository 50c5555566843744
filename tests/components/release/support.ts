// What the release component tests run on: the shared program runs and lookups (../support.ts), the
// release fixture, and helpers for dependency closures and command-line flags.
import * as path from "path";
import { ProgramRun, RecordedResource } from "../../../tools/harness/run";
import { OkRun, fixtureRun } from "../support";

export { ONE_MACHINE, dependencyNames, named, ofType, program } from "../support";

export const FIXTURE_DIR = path.join(__dirname, "fixture");

/** The release fixture program; `testCase` picks a bad argument ("valid": none). */
export function fixture(testCase = "valid"): Promise<ProgramRun> {
  return fixtureRun(FIXTURE_DIR, "bridge", { "release-fixture:case": testCase });
}

export async function validFixture(): Promise<OkRun> {
  const result = await fixture("valid");
  if (!result.ok) throw new Error(`the release fixture failed: ${result.message}`);
  return result;
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
