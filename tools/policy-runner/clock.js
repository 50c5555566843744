// Preloaded (node -r) into the policy pack's own process by `npm run plan --at`: the pack's clock
// reads GREENLIGHT_PACK_CLOCK for the whole run (a plan is judged at one instant). Only Date is faked (timers and gRPC keep the
// real clock). This is the one way an instant other than now reaches the pack: no policy config and
// no committed file can set it, and under the Pulumi CLI the pack runs on the real clock.
"use strict";
const at = process.env.GREENLIGHT_PACK_CLOCK;
if (at) {
  const now = Date.parse(at);
  if (!/(Z|[+-]\d{2}:\d{2})$/.test(at) || Number.isNaN(now)) {
    process.stderr.write(
      `GREENLIGHT_PACK_CLOCK=${JSON.stringify(at)} is not an ISO-8601 instant with a zone\n`,
    );
    process.exit(2);
  }
  require("@sinonjs/fake-timers").install({ now, toFake: ["Date"] });
}
