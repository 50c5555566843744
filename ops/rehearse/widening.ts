// How one schema type compares with another for code written against the old one: the same, widened
// (every value the old type held still fits and reads the same: integer → bigint, varchar(20) →
// varchar(40) or text, numeric(8,2) → numeric(12,2)) or neither (narrowed or another type). Pure.

const INTEGER_RANK: Record<string, number> = { smallint: 1, integer: 2, bigint: 3 };
/** Decimal digits each integer type may need. */
const INTEGER_DIGITS: Record<string, number> = { smallint: 5, integer: 10, bigint: 19 };
/** Types whose parameter is a length or precision that only grows when widened. */
const LENGTHENED = new Set([
  "character varying",
  "bit varying",
  "timestamp without time zone",
  "timestamp with time zone",
  "time without time zone",
  "time with time zone",
  "interval",
]);
/** Types any value of which `text` holds with the same text. */
const TEXT_LIKE = new Set(["character varying", "text"]);

interface ParsedType {
  base: string;
  /** The type's parameters, e.g. [12, 2] for numeric(12,2); empty when unconstrained. */
  params: number[];
  array: boolean;
}

/** Splits format_type() output: "timestamp(3) without time zone" → timestamp without time zone, [3]. */
export function parseType(type: string): ParsedType {
  const array = type.endsWith("[]");
  const bare = array ? type.slice(0, -2) : type;
  const match = /^([^(]*)\(([\d,\s]+)\)(.*)$/.exec(bare);
  if (!match) return { base: bare.trim(), params: [], array };
  return {
    base: `${match[1]}${match[3]}`.trim(),
    params: match[2].split(",").map((part) => Number(part.trim())),
    array,
  };
}

/** Whether a column of type `from` may become `to` without the old release noticing. */
export function isWidening(from: string, to: string): boolean {
  if (from === to) return true;
  const a = parseType(from);
  const b = parseType(to);
  if (a.array !== b.array) return false;
  if (INTEGER_RANK[a.base] && INTEGER_RANK[b.base]) return INTEGER_RANK[b.base] >= INTEGER_RANK[a.base];
  if (INTEGER_RANK[a.base] && b.base === "numeric")
    return b.params.length === 0 || b.params[0] - (b.params[1] ?? 0) >= INTEGER_DIGITS[a.base];
  if (a.base === "real" && b.base === "double precision") return true;
  if (a.base === "numeric" && b.base === "numeric") {
    if (b.params.length === 0) return true;
    if (a.params.length === 0) return false;
    const [precisionA, scaleA = 0] = a.params;
    const [precisionB, scaleB = 0] = b.params;
    return scaleB >= scaleA && precisionB - scaleB >= precisionA - scaleA;
  }
  if (TEXT_LIKE.has(a.base) && b.base === "text") return true;
  if (a.base === b.base && LENGTHENED.has(a.base)) {
    if (b.params.length === 0) return true;
    return a.params.length > 0 && b.params[0] >= a.params[0];
  }
  return false;
}
