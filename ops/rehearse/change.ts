// What a rehearsal reports about the schema: each change a migration made and what it means for the
// release before it, and the verdict over all of them. Pure.

export type Effect = "additive" | "breaking";

/** One change a migration made, and what it means for the release before it. */
export interface SchemaChange {
  /** table, view, column, constraint, index, function, sequence, enum type or enum value. */
  object: string;
  /** Its schema-qualified name: public.orders, public.orders.status, public.order_channel.'phone'. */
  name: string;
  change: "added" | "dropped" | "renamed" | "changed";
  effect: Effect;
  /** What changed, and for a breaking change what the old release runs into. */
  detail: string;
}

export interface SchemaClassification {
  classification: Effect;
  /** Breaking changes first, then additive ones; each group by name. */
  changes: SchemaChange[];
}

/** An object's schema-qualified name. */
export const qualified = (item: { schema: string; name: string }) => `${item.schema}.${item.name}`;

/** One line naming breaking changes, e.g. "dropped column public.orders.status; renamed …". */
export function describeChanges(changes: SchemaChange[], limit = 8): string {
  const shown = changes.slice(0, limit).map((change) => `${change.change} ${change.object} ${change.name}`);
  return shown.join("; ") + (changes.length > limit ? `; and ${changes.length - limit} more` : "");
}
