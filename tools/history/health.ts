// Probes each color's /health before a release overwrites the idle color: if the idle color is the only
// healthy one, the release would replace the last working copy of the app.
import { Color } from "../../schema/types";

/** What one color answered. */
export interface ColorHealth {
  color: Color;
  url: string;
  /** HTTP status, when the color answered. */
  status?: number;
  /** Why it did not answer (connection refused, timeout). */
  error?: string;
}

export function healthy(health: ColorHealth): boolean {
  return health.status === 200;
}

/** GETs one URL with a timeout; never throws. */
export async function probe(color: Color, url: string, timeoutMs: number): Promise<ColorHealth> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: "manual" });
    await response.body?.cancel();
    return { color, url, status: response.status };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    const name = (error as Error).name;
    return {
      color,
      url,
      error:
        name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : (cause ?? (error as Error).message),
    };
  }
}

/** One line per color: `blue (active) 200 http://…`. */
export function describeHealth(health: ColorHealth, role: string): string {
  return `${health.color} (${role}) ${health.status !== undefined ? `answered ${health.status}` : `did not answer (${health.error})`} at ${health.url}`;
}
