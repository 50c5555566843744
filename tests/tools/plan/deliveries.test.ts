// What `npm run plan` says each host is sent over SSH: the delivery steps an update runs, per host, with
// each image's size as this machine's engine holds it (tools/plan/deliveries.ts), on the staging stack's
// real program (greenlight:imageDelivery ssh).
import { strict as assert } from "assert";
import { runProgram } from "../../../tools/harness/run";
import { megabytes, plannedDeliveries } from "../../../tools/plan/deliveries";
import { updateDiff } from "../../../tools/plan/steps";

describe("npm run plan: the images an update sends to each host", function () {
  this.timeout(300_000);

  it("a first update sends every host the ops image and both colors' images, each with its size here; a second sends nothing", async () => {
    const run = await runProgram({ stack: "staging", at: "2026-12-02T11:00:00Z" });
    assert.ok(run.ok, run.ok ? "" : run.message);
    const sizes: Record<string, number> = {
      "registry.example.com/shop:2026.11.18-1": 104_900_000,
      "registry.example.com/shop:2026.11.20-2": 105_000_000,
    };
    const asked: string[] = [];
    const sizeOf = (image: string) => {
      asked.push(image);
      return sizes[image] ?? null;
    };
    const planned = plannedDeliveries(run.resources, undefined, sizeOf);
    assert.deepEqual(
      planned.map((host) => [host.host, host.images.map((sent) => [sent.image, sent.bytes]), host.bytes]),
      ["stage-1", "stage-2"].map((host) => [
        host,
        [
          ["registry.example.com/shop:2026.11.18-1", 104_900_000],
          ["registry.example.com/shop:2026.11.20-2", 105_000_000],
          [planned[0].images[2].image, null],
        ],
        209_900_000,
      ]),
    );
    assert.match(
      planned[0].images[2].image,
      /^greenlight-ops:[a-f0-9]{16}$/,
      "the ops image by its content tag",
    );
    assert.equal(asked.length, 6, "each image's size looked up here");
    assert.equal(megabytes(104_900_000), "104.9 MB");
    assert.equal(megabytes(null), "not on this machine yet");
    // Against the state of that same update: no delivery is created or replaced, nothing is sent.
    const again = await runProgram({ stack: "staging", at: "2026-12-02T11:00:00Z" });
    assert.ok(again.ok);
    const { resources } = updateDiff(run.resources, again.resources);
    assert.deepEqual(plannedDeliveries(again.resources, resources, sizeOf), []);
  });
});
