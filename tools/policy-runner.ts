// Runs the policy pack in-process over a harness run, handing each policy what @pulumi/policy's analyzer
// server (server.js) would: the same deserializer, proxies, options, getConfig and notApplicable, with
// the pack's own copy of @pulumi/policy. One deliberate difference: inputs keep secrets as `Secret`
// behind a secrets-preserving proxy, as the server does for remediations, so secrets-are-secret can
// see which inputs are secret (the engine's validation path unwraps them; see docs/policies.md).
// The parts: policy-runner/pack.ts (the pack's modules), config.ts (its config), resources.ts (the args).
import type { Policies, ReportViolation } from "@pulumi/policy";
import { policies as PACK } from "../policies/all";
import type { RecordedResource } from "./harness/types";
import { PolicyPackConfig, reconcilePolicyConfig, ResolvedConfig } from "./policy-runner/config";
import { pack, withDryRun } from "./policy-runner/pack";
import { NotApplicableError, policyArgs } from "./policy-runner/resources";

/** One verdict, in DESIGN.md's JSON shape. */
export interface Verdict {
  policy: string;
  level: "mandatory" | "advisory";
  urn: string;
  message: string;
}

export interface PolicyRunInput {
  resources: RecordedResource[];
  stack: string;
  /** The instant time-dependent policies judge (their `now` config). */
  at: Date;
  /** Judge as `pulumi preview` (true) or as `pulumi up` (false). */
  preview: boolean;
  /** The stack's policy pack config (see loadPolicyConfig). */
  policyConfig: PolicyPackConfig;
  /** Defaults to the whole pack (policies/all.ts). */
  policies?: Policies;
  /** Pulumi project name, for the stack URN of stack-wide verdicts. */
  project?: string;
}

/** The stack resource's URN, which stack-wide verdicts are reported against. */
export function stackUrn(stack: string, project = "greenlight"): string {
  return `urn:pulumi:${stack}::${project}::pulumi:pulumi:Stack::${project}-${stack}`;
}

/** Evaluates every enabled policy over the resources; verdicts in policy order, resources in graph order. */
export async function evaluatePolicies(input: PolicyRunInput): Promise<Verdict[]> {
  const modules = pack();
  const policies: Policies = input.policies ?? PACK;
  const configs = reconcilePolicyConfig(policies, input.policyConfig);
  const stackWide = stackUrn(input.stack, input.project);

  const { resourceArgs, useConfig, stackArgs } = policyArgs(input.resources);

  const verdicts: Verdict[] = [];
  await withDryRun(input.preview, async () => {
    for (const policy of policies) {
      const resolved = configs.get(policy.name) as ResolvedConfig;
      if (resolved.enforcementLevel === "disabled") continue;
      // As the server does: a violation left after remediation is mandatory.
      const level = resolved.enforcementLevel === "advisory" ? "advisory" : "mandatory";
      const properties = { ...resolved.properties };
      if (policy.configSchema?.properties.now !== undefined) properties.now = input.at.toISOString();
      // Like the server: a fresh top-level object per call, nested values shared.
      const getConfig = <T extends object>() => ({ ...properties }) as T;
      useConfig(getConfig);
      const failure = (error: unknown, urn: string): Verdict | undefined => {
        if (error instanceof NotApplicableError) return undefined;
        if (error instanceof modules.proxy.UnknownValueError) {
          return {
            policy: policy.name,
            level: "advisory",
            urn,
            message: `can't run policy '${policy.name}' during preview: ${error.message}`,
          };
        }
        throw new Error(
          `policy ${policy.name} failed on ${urn}: ${error instanceof Error ? error.message : String(error)}`,
        );
      };
      const push = (urn: string, message: string) =>
        verdicts.push({ policy: policy.name, level, urn, message: message || policy.description });

      if (modules.policy.isResourcePolicy(policy)) {
        const validations = Array.isArray(policy.validateResource)
          ? policy.validateResource
          : [policy.validateResource];
        const pulumiType = Array.isArray(policy.validateResource)
          ? undefined
          : modules.policy.getPulumiType(policy.validateResource);
        let currentUrn = stackWide;
        // The server reports a resource policy's violations on the resource, whatever URN is passed.
        const reportOnResource: ReportViolation = (message) => push(currentUrn, message);
        for (const args of resourceArgs) {
          if (pulumiType && args.type !== pulumiType) continue;
          currentUrn = args.urn;
          for (const validation of validations) {
            if (typeof validation !== "function") continue;
            try {
              // Await only real promises: a microtask per resource and policy costs more than most checks.
              const pending = validation(args, reportOnResource);
              if (pending instanceof Promise) await pending;
            } catch (error) {
              const verdict = failure(error, args.urn);
              if (verdict) verdicts.push(verdict);
            }
          }
        }
      }

      if (modules.policy.isStackPolicy(policy)) {
        const pulumiType = modules.policy.getPulumiType(policy.validateStack);
        if (pulumiType && !input.resources.some((resource) => resource.type === pulumiType)) continue;
        try {
          await policy.validateStack(stackArgs(getConfig), (message, urn) => push(urn ?? stackWide, message));
        } catch (error) {
          const verdict = failure(error, stackWide);
          if (verdict) verdicts.push(verdict);
        }
      }
    }
  });
  return verdicts;
}
