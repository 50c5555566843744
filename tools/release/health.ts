// Probes each color's /health before a release overwrites the idle color: if the idle color is the only
// healthy one, the release would replace the last working copy of the app.
import { Color, otherColor, StackSettings } from "../../schema/types";
import { ReleaseRefusal } from "./inputs";

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

/** What the pre-release check probes. */
export interface HealthCheckRequest {
  stack: string;
  /** The stack's settings: each color's host port and the app's health path. */
  settings: StackSettings;
  activeColor: Color;
  /** Where both colors' ports answer. */
  host: string;
  timeoutMs: number;
}

/** Probes both colors; refuses (ReleaseRefusal) when only the idle one is healthy. Returns the report lines. */
export async function checkColorHealth(request: HealthCheckRequest): Promise<string[]> {
  const { settings, activeColor, host, timeoutMs } = request;
  const idleColor = otherColor(activeColor);
  const url = (color: Color) => `http://${host}:${settings.colors[color].hostPort}${settings.app.healthPath}`;
  const [active, idle]: ColorHealth[] = await Promise.all([
    probe(activeColor, url(activeColor), timeoutMs),
    probe(idleColor, url(idleColor), timeoutMs),
  ]);
  const lines = [describeHealth(active, "active"), describeHealth(idle, "idle")];
  if (!healthy(active) && healthy(idle)) {
    throw new ReleaseRefusal(
      `${describeHealth(active, "active")}, but ${describeHealth(idle, "idle")}: this release would overwrite the only ` +
        `healthy color. Flip to ${idleColor} first (npm run rollback -- --stack ${request.stack}), or pass --skip-health-check if you know better`,
    );
  }
  if (!healthy(active) && !healthy(idle)) {
    lines.push("neither color answered 200: cannot tell which is healthy (is --health-host right?)");
  }
  return lines;
}
