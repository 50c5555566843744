// Slack-compatible webhook messages on gate failure, switch and revert (the blue-green deployment procedures post to Slack on
// deploy and rollback). Best effort by design: a webhook that is down or slow never blocks or fails a
// release, it only costs at most the timeout. The URL carries the webhook's token: https only (http only
// to this machine), and a redirect is never followed, so a 307/308 cannot replay the POST elsewhere.
import { isLoopbackHost } from "../../contract/patterns";
import { StepError, progress } from "../lib/step";

export type NotifyEvent = "gate-failure" | "switch" | "revert" | "rehearsal";

export const NOTIFY_EVENTS: readonly NotifyEvent[] = ["gate-failure", "switch", "revert", "rehearsal"];

/** Environment variable carrying the webhook URL (a secret: it usually embeds a token). */
export const WEBHOOK_ENV = "GREENLIGHT_WEBHOOK_URL";

/** Default wait for the webhook, in milliseconds. */
export const NOTIFY_TIMEOUT_MS = 3000;

const ICON: Record<NotifyEvent, string> = {
  "gate-failure": ":x:",
  switch: ":large_green_circle:",
  revert: ":rewind:",
  rehearsal: ":test_tube:",
};

export interface Notification {
  event: NotifyEvent;
  /** One human line, e.g. "shop production: traffic moved to green (v2)". */
  text: string;
  /** Details shown as "key: value" lines under the text. */
  fields?: Record<string, string | number | boolean>;
}

export interface NotifyResult {
  delivered: boolean;
  /** HTTP status of the webhook, when it answered. */
  status?: number;
  /** Why it was not delivered; never contains the URL. */
  error?: string;
  /** "not configured" when no URL was given. */
  skipped?: string;
}

/** The Slack-compatible JSON body: `text` is what Slack, Mattermost and Rocket.Chat all show. */
export function webhookPayload(notification: Notification): { text: string; event: NotifyEvent } {
  const details = Object.entries(notification.fields ?? {}).map(([key, value]) => `• ${key}: ${value}`);
  return {
    text: [
      `${ICON[notification.event]} greenlight ${notification.event}: ${notification.text}`,
      ...details,
    ].join("\n"),
    event: notification.event,
  };
}

/** Posts the notification; never throws, never waits longer than `timeoutMs`. */
export async function notify(
  notification: Notification,
  url: string | undefined,
  timeoutMs = NOTIFY_TIMEOUT_MS,
): Promise<NotifyResult> {
  if (url === undefined || url === "") return { delivered: false, skipped: "not configured" };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { delivered: false, error: `${WEBHOOK_ENV} is not a URL` };
  }
  const loopback = isLoopbackHost(parsed.hostname.replace(/^\[|\]$/g, ""));
  if (parsed.protocol !== "https:" && !(parsed.protocol === "http:" && loopback)) {
    return {
      delivered: false,
      error: `${WEBHOOK_ENV} must be an https: URL (http: only to this machine), not ${parsed.protocol}`,
    };
  }
  try {
    const response = await fetch(parsed, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(webhookPayload(notification)),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: "manual",
    });
    // The webhook's answer is read to free the connection, and never passed on.
    await response.arrayBuffer().catch(() => undefined);
    if (response.type === "opaqueredirect" || (response.status >= 300 && response.status < 400))
      return {
        delivered: false,
        status: response.status,
        error: `webhook answered ${response.status}, a redirect: not followed, the notice went nowhere else; set greenlight:webhookUrl to the final URL`,
      };
    return response.ok
      ? { delivered: true, status: response.status }
      : { delivered: false, status: response.status, error: `webhook answered ${response.status}` };
  } catch (error) {
    const reason =
      error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")
        ? `no answer within ${timeoutMs} ms`
        : error instanceof Error
          ? ((error.cause as Error | undefined)?.message ?? error.message)
          : String(error);
    return { delivered: false, error: reason };
  }
}

/** Sends and reports on stderr; used by the steps so a failed webhook is visible but harmless. */
export async function notifyFromStep(
  step: string,
  notification: Notification,
  env: NodeJS.ProcessEnv,
): Promise<NotifyResult> {
  const result = await notify(notification, env[WEBHOOK_ENV]);
  if (!result.delivered && result.skipped === undefined) {
    progress(step, `webhook not delivered (${result.error}); the release goes on`);
  }
  return result;
}

/** Runs a gate step; a failure (exit 1) posts a gate-failure message before it propagates. */
export async function withGateFailureNotice<T>(
  step: string,
  what: string,
  target: { color: string; release: string },
  env: NodeJS.ProcessEnv,
  run: () => Promise<T>,
): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof StepError && error.exitCode === 1) {
      await notifyFromStep(
        step,
        {
          event: "gate-failure",
          text: `${target.color} (release ${target.release}) failed its ${what}; traffic stays where it is`,
          // Only what the step marked fit for a notice: the app's answers stay in its own output.
          fields: error.notice !== undefined ? { reason: error.notice } : {},
        },
        env,
      );
    }
    throw error;
  }
}
