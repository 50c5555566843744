// The notify step's command line: posts one message to the webhook (index.ts sends it).
import { Command } from "commander";
import { StepCommand, StepError } from "../lib/step";
import { NOTIFY_EVENTS, NOTIFY_TIMEOUT_MS, NotifyEvent, WEBHOOK_ENV, notify } from ".";

export const notifyCommand: StepCommand = {
  name: "notify",
  description: `Posts a Slack-compatible message to ${WEBHOOK_ENV}; always exits 0 once the message is built`,
  options: (command: Command) =>
    command
      .requiredOption("--event <event>", `one of ${NOTIFY_EVENTS.join(", ")}`)
      .requiredOption("--text <text>", "the message")
      .option("--timeout-ms <ms>", "longest wait for the webhook", String(NOTIFY_TIMEOUT_MS)),
  run: async (options, env) => {
    const event = String(options.event) as NotifyEvent;
    if (!NOTIFY_EVENTS.includes(event)) {
      throw new StepError(
        `--event ${JSON.stringify(options.event)}: expected one of ${NOTIFY_EVENTS.join(", ")}`,
        2,
      );
    }
    const timeoutMs = Number(options.timeoutMs);
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 60_000) {
      throw new StepError(`--timeout-ms ${JSON.stringify(options.timeoutMs)}: expected 1-60000`, 2);
    }
    return notify({ event, text: String(options.text) }, env[WEBHOOK_ENV], timeoutMs);
  },
};
