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
  /** The stack's settings: its hosts and proxy port, each color's host port and the app's health path. */
  settings: StackSettings;
  activeColor: Color;
  /** Where the proxy and both colors' ports answer on a stack without hosts (this machine). */
  host: string;
  timeoutMs: number;
  /** Fronts to probe instead of the stack's own (--health-url: the stack's public URL, a load balancer). */
  urls: string[];
}

/** Each front the stack's users reach: every host's proxy, or this machine's. */
export function frontUrls(settings: StackSettings, host: string): { name: string; url: string }[] {
  const { proxyPort } = settings.traffic;
  const { healthPath } = settings.app;
  return settings.hosts.length > 0
    ? settings.hosts.map((each) => ({
        name: `${each.name}'s front`,
        url: `http://${each.address}:${proxyPort}${healthPath}`,
      }))
    : [{ name: "the front", url: `http://${host}:${proxyPort}${healthPath}` }];
}

/**
 * Probes the serving color through each front (and, on a stack without hosts, both colors' own ports).
 * Refuses (ReleaseRefusal) when no front shows the serving color healthy — a release then builds on a
 * broken state — or when the idle color, which the release overwrites, is the only healthy one.
 * Returns the report lines.
 */
export async function checkColorHealth(request: HealthCheckRequest): Promise<string[]> {
  const { settings, activeColor, host, timeoutMs } = request;
  const idleColor = otherColor(activeColor);
  const fronts =
    request.urls.length > 0
      ? request.urls.map((url) => ({ name: "--health-url", url }))
      : frontUrls(settings, host);
  const colorUrl = (color: Color) =>
    `http://${host}:${settings.colors[color].hostPort}${settings.app.healthPath}`;
  // The colors' own ports answer on this machine only; on hosts they listen on each host's replica address.
  const direct = settings.hosts.length === 0 && request.urls.length === 0;
  const [throughFronts, colors] = await Promise.all([
    Promise.all(fronts.map((front) => probe(activeColor, front.url, timeoutMs))),
    direct
      ? Promise.all([
          probe(activeColor, colorUrl(activeColor), timeoutMs),
          probe(idleColor, colorUrl(idleColor), timeoutMs),
        ])
      : Promise.resolve([]),
  ]);
  const lines = throughFronts.map((health, index) =>
    describeHealth(health, `serving, through ${fronts[index].name}`),
  );
  const [active, idle] = colors;
  if (active !== undefined && idle !== undefined) {
    lines.push(describeHealth(active, "active"), describeHealth(idle, "idle"));
    if (!healthy(active) && healthy(idle)) {
      throw new ReleaseRefusal(
        `${describeHealth(active, "active")}, but ${describeHealth(idle, "idle")}: this release would overwrite the only ` +
          `healthy color. Flip to ${idleColor} first (npm run rollback -- --stack ${request.stack}), or pass --skip-health-check --reason '<why>' if you know better`,
      );
    }
  }
  const failing = throughFronts.filter((health) => !healthy(health));
  if (failing.length === throughFronts.length) {
    throw new ReleaseRefusal(
      `no front shows ${activeColor} (serving) healthy: ${failing.map((health) => describeHealth(health, "serving")).join("; ")}. ` +
        `A release must start from a healthy stack: fix or roll back first (npm run rollback -- --stack ${request.stack}), ` +
        "probe the right place (--health-url <the stack's URL>/health), or, knowing why, pass --skip-health-check --reason '<why>'",
    );
  }
  if (failing.length > 0)
    lines.push(
      `warning: ${failing.length} of ${throughFronts.length} fronts did not answer 200: check those hosts before the update (RUNBOOK.md: host unreachable)`,
    );
  return lines;
}
