// The document `npm run plan --json` prints (and the human rendering reads): every resource the program
// registers, every policy verdict, and with --diff-from what the update runs.
import type { PropertyUpdate } from "./diff";
import type { LastRehearsal } from "./rehearsal";
import type { UpdateDiff } from "./steps";

/** One policy verdict: the policy, its level on this stack, the resource (or the stack) and the message. */
export interface Violation {
  policy: string;
  level: "mandatory" | "advisory";
  urn: string;
  message: string;
}

/** One resource of the `--json` document. */
export interface PlannedResource {
  urn: string;
  type: string;
  name: string;
  parent: string | null;
  dependencies: string[];
  /** URN of the explicit provider resource a custom resource uses; null for components and default providers. */
  provider: string | null;
  /** The inputs the program registered, every secret value replaced by "[secret]". */
  inputs: Record<string, unknown>;
  /**
   * A command:remote:Command's pinned host key (connection.hostKey, public; the connection itself is a
   * secret since it holds the private key), null when it pins none. Absent for other resources.
   */
  hostKey?: string | null;
}

/** The `--json` document: every resource the program registers, every verdict, and with --diff-from the update. */
export interface PlanDocument {
  stack: string;
  at: string;
  resources: PlannedResource[];
  violations: Violation[];
  /**
   * With --diff-from: what the update from that configuration runs, per step, what it refuses, and every
   * resource it changes with each property's replace, update in place or state only.
   */
  diff?: { from: string } & Omit<UpdateDiff, "resources"> & { changes: PlannedChange[] };
  /** With --outputs-file: what the last migration rehearsal found (null: the outputs hold none). */
  lastRehearsal?: LastRehearsal | null;
}

/** One resource the update changes, per property as its provider applies the change. */
export interface PlannedChange {
  name: string;
  type: string;
  action: "create" | "replace" | "update" | "delete";
  stateOnly: boolean;
  properties: PropertyUpdate[];
}
