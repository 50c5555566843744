import { strict as assert } from "assert";
import { notify, webhookPayload } from "../../../ops/notify";
import { freePort } from "../../support/ports";
import { startWebhook, WebhookReceiver } from "../support/release";

describe("webhook notifications (local receiver)", function () {
  this.timeout(20_000);
  const receivers: WebhookReceiver[] = [];
  afterEach(async () => {
    for (const receiver of receivers.splice(0)) await receiver.close();
  });

  it("builds a Slack-compatible body: text with the event and details", () => {
    assert.deepEqual(
      webhookPayload({
        event: "revert",
        text: "shop: green reverted to blue",
        fields: { "error rate": "20 %" },
      }),
      {
        event: "revert",
        text: ":rewind: greenlight revert: shop: green reverted to blue\n• error rate: 20 %",
      },
    );
  });

  it("delivers to a receiver that answers", async () => {
    const receiver = await startWebhook();
    receivers.push(receiver);
    const result = await notify({ event: "switch", text: "traffic moved to green" }, receiver.url);
    assert.deepEqual(result, { delivered: true, status: 200 });
    assert.equal(receiver.messages.length, 1);
    assert.equal(receiver.messages[0].event, "switch");
  });

  it("never throws: a hanging webhook costs at most the timeout, a dead one fails fast, none configured is skipped", async () => {
    const hanging = await startWebhook({ answer: "hang" });
    receivers.push(hanging);
    const started = Date.now();
    const slow = await notify({ event: "gate-failure", text: "green failed" }, hanging.url, 300);
    assert.deepEqual(slow, { delivered: false, error: "no answer within 300 ms" });
    assert.ok(Date.now() - started < 2000);
    const dead = await notify(
      { event: "switch", text: "x" },
      `http://127.0.0.1:${await freePort()}/hook`,
      1000,
    );
    assert.equal(dead.delivered, false);
    assert.match(dead.error ?? "", /ECONNREFUSED/);
    assert.deepEqual(await notify({ event: "switch", text: "x" }, undefined), {
      delivered: false,
      skipped: "not configured",
    });
    const bad = await notify({ event: "switch", text: "x" }, "file:///etc/passwd");
    assert.match(bad.error ?? "", /must be an https: URL \(http: only to this machine\), not file:/);
    assert.ok(!JSON.stringify(bad).includes("passwd"), "the URL (often a token) is never echoed");
  });
});
