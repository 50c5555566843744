import { URL_PATH } from "../contract/patterns";
import { SmokeCheck } from "./types";

const SMOKE_CHECK = /^(\/\S*)\s+(\d{3})((?:\s+(?:text="[^"]*"|maxMs=\d+))*)\s*$/;

/** Default slowest acceptable smoke answer, in milliseconds. */
export const DEFAULT_SMOKE_MAX_MS = 2000;

/** Parses one smoke check line: `<path> <status> [text="…"] [maxMs=<n>]`; returns the problem as a string. */
export function parseSmokeCheck(line: string): SmokeCheck | string {
  const match = SMOKE_CHECK.exec(line.trim());
  if (!match) return `expected '<path> <status> [text="…"] [maxMs=<n>]', e.g. '/health 200 maxMs=500'`;
  const [, path, status, options] = match;
  if (!URL_PATH.test(path)) return `expected an absolute path of letters, digits, . _ ~ - / (got ${path})`;
  const statusCode = Number(status);
  if (statusCode < 100 || statusCode > 599)
    return `expected an HTTP status between 100 and 599 (got ${status})`;
  const text = /text="([^"]*)"/.exec(options)?.[1];
  const maxMs = Number(/maxMs=(\d+)/.exec(options)?.[1] ?? DEFAULT_SMOKE_MAX_MS);
  if (maxMs < 1 || maxMs > 600000) return `expected maxMs between 1 and 600000 (got ${maxMs})`;
  return { path, status: statusCode, text, maxMs };
}

/** Formats a smoke check back into its config form. */
export function formatSmokeCheck(check: SmokeCheck): string {
  return [
    check.path,
    String(check.status),
    check.text !== undefined ? `text="${check.text}"` : "",
    `maxMs=${check.maxMs}`,
  ]
    .filter(Boolean)
    .join(" ");
}
