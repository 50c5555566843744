import type { ConfigProblem } from "../../schema/parse";

/** Where a secret value stood; the value itself is never recorded. */
export { SECRET_PLACEHOLDER } from "../../contract/patterns";

/** Pulumi's wire signature for a secret, used to mark secret inputs in recorded resources. */
export const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** A secret as the harness records it: marked; a scalar replaced by the placeholder, a list or map kept. */
export interface SecretMarker {
  [SECRET_SIG_KEY]: typeof SECRET_SIG;
  value: unknown;
  /** A salted digest of the value before it was masked: two runs of one plan see a changed secret as changed. */
  digest?: string;
}

export function isSecretMarker(value: unknown): value is SecretMarker {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG
  );
}

/** One resource the program registered. */
export interface RecordedResource {
  urn: string;
  type: string;
  name: string;
  /** Custom resources talk to a provider; component resources only group children. */
  custom: boolean;
  parent?: string;
  /** URN of the explicit provider, when one was passed. */
  provider?: string;
  /** URNs this resource depends on (explicit dependsOn and input references; components expanded). */
  dependencies: string[];
  /** Per input property, the URNs it depends on. */
  propertyDependencies: Record<string, string[]>;
  /** Inputs as sent to the engine, secret values replaced by a SecretMarker. */
  inputs: Record<string, unknown>;
  protect: boolean;
  retainOnDelete: boolean;
  deleteBeforeReplace: boolean;
  ignoreChanges: string[];
  replaceOnChanges: string[];
  additionalSecretOutputs: string[];
  /**
   * Outputs, secrets marked: for a custom resource, what its provider returned (under the mocks:
   * the inputs it echoes plus what it computes, as tools/harness/child.ts mockState models it); for a
   * component, what it registered. Stack policies are judged on these, as the engine judges them.
   */
  outputs?: Record<string, unknown>;
}

/** What the harness is asked to run. */
export interface ProgramRequest {
  /** Folder holding Pulumi.yaml and index.ts. */
  projectDir: string;
  /** The program's entry: index.ts, or its compiled index.js when the build is fresh. */
  program: string;
  /** The project name from Pulumi.yaml. */
  project: string;
  stack: string;
  /** Fully qualified config keys to string values, as the Pulumi engine hands them to a program. */
  config: Record<string, string>;
  secretKeys: string[];
  /** ISO-8601 instant the program judges time-dependent config at. */
  at?: string;
  /** Run as a preview (pulumi preview) rather than an update. */
  preview: boolean;
  /** Salt of the secret digests, shared by the runs one process compares (never a secret's value). */
  secretSalt: string;
}

/** The outcome of one program run. */
export type ProgramRun =
  | {
      ok: true;
      stack: string;
      /** Every resource but the root stack, in registration order. */
      resources: RecordedResource[];
      /** Stack outputs, secrets marked. */
      outputs: Record<string, unknown>;
    }
  | {
      ok: false;
      stack: string;
      kind: "config" | "program";
      message: string;
      problems: ConfigProblem[];
      resources: RecordedResource[];
    };
