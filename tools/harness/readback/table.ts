// docs/engine.md's read-back table, from the rules themselves: per resource type and property, what the
// provider stores after create, what a change does, and the source. A test fails when the document drifts.
import { READBACK_RULES } from "./index";

export const TABLE_START = "<!-- readback-table:start (generated from tools/harness/readback) -->";
export const TABLE_END = "<!-- readback-table:end -->";

const CHANGE = { replace: "replace", update: "update in place", state: "state only" } as const;

/** The table, header included, one row per rule. */
export function readbackTable(): string {
  const rows = READBACK_RULES.flatMap((rules) =>
    Object.entries(rules.properties).map(([property, rule]) => {
      const effect = rule.unapplied ?? rule.note;
      return `| \`${rules.type}\` | \`${property}\` | ${rule.stores ?? "as given"} | ${CHANGE[rule.apply]}${effect ? `: ${effect}` : ""} | ${rule.source.replace(/\|/g, "\\|")} |`;
    }),
  );
  return [
    "| resource | property | what the provider stores | a change | source |",
    "|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}
