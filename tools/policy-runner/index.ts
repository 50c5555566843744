// Judges a harness run with the policy pack exactly as the Pulumi CLI would: the pack runs in its own
// process, served by @pulumi/pulumi's run-policy-pack, and is called over gRPC as the engine calls it
// (policy-runner/engine.ts). Resource policies see each resource's inputs before its step; stack
// policies see every resource's outputs. The instant (`at`) reaches the pack only as its process clock.
// The parts: policy-runner/engine.ts (the engine's calls), config.ts (the stack's pack config).
import type { RecordedResource } from "../harness/types";
import { PolicyPackConfig } from "./config";
import { PackServer, Verdict } from "./engine";

export type { Verdict } from "./engine";

export interface PolicyRunInput {
  resources: RecordedResource[];
  stack: string;
  /** The instant the pack's clock starts at. */
  at: Date;
  /** Judge as `pulumi preview` (true) or as `pulumi up` (false). */
  preview: boolean;
  /** The stack's policy pack config (see loadPolicyConfig). */
  policyConfig: PolicyPackConfig;
  /** Pulumi project name, for the stack URN of stack-wide verdicts. */
  project?: string;
}

/** The stack resource's URN, which stack-wide verdicts are reported against. */
export function stackUrn(stack: string, project = "greenlight"): string {
  return `urn:pulumi:${stack}::${project}::pulumi:pulumi:Stack::${project}-${stack}`;
}

/** Starts the pack for one run (its start-up can overlap the program's run) and configures it. */
export async function startPack(input: Omit<PolicyRunInput, "resources">): Promise<PackServer> {
  const server = await PackServer.start({
    preview: input.preview,
    stack: input.stack,
    project: input.project,
    at: input.at,
  });
  try {
    await server.configure(input.policyConfig);
  } catch (error) {
    await server.close();
    throw error;
  }
  return server;
}

/** The engine's two passes over a started pack: Analyze per resource (graph order), then AnalyzeStack. */
export async function judge(
  server: PackServer,
  resources: RecordedResource[],
  stack: string,
  project?: string,
): Promise<Verdict[]> {
  const byUrn = new Map(resources.map((resource) => [resource.urn, resource]));
  const perResource = await Promise.all(resources.map((resource) => server.analyze(resource, byUrn)));
  const stackWide = await server.analyzeStack(resources, stackUrn(stack, project));
  return [...perResource.flat(), ...stackWide];
}

/** Starts the pack, judges the resources and stops the pack. */
export async function evaluatePolicies(input: PolicyRunInput): Promise<Verdict[]> {
  const server = await startPack(input);
  try {
    return await judge(server, input.resources, input.stack, input.project);
  } finally {
    await server.close();
  }
}
