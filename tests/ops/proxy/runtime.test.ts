import { strict as assert } from "assert";
import { servingColor } from "../../../ops/proxy/flip";
import { admission, parseServersState } from "../../../ops/proxy/runtime";

// `show servers state app` as HAProxy 2.6.12 answered it after a flip to green (blue drained).
const AFTER_FLIP = `1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
3 app 1 blue-0 127.0.0.1 2 8 1 1 0 15 3 2 6 0 0 0 - 19001 - 0 0 - - 0
3 app 2 green-0 127.0.0.1 2 4 1 1 0 1 0 1 6 0 0 0 - 19002 - 0 0 - - 0
`;

describe("HAProxy runtime state (pure)", () => {
  it("parses show servers state: names, states, check result and port", () => {
    assert.deepEqual(parseServersState(AFTER_FLIP), [
      {
        backend: "app",
        name: "blue-0",
        address: "127.0.0.1",
        operationalState: 2,
        adminState: 8,
        userWeight: 1,
        initialWeight: 1,
        checkResult: 3,
        port: 19001,
      },
      {
        backend: "app",
        name: "green-0",
        address: "127.0.0.1",
        operationalState: 2,
        adminState: 4,
        userWeight: 1,
        initialWeight: 1,
        checkResult: 0,
        port: 19002,
      },
    ]);
    assert.throws(() => parseServersState("Unknown command"), /unexpected "show servers state" answer/);
  });

  it("reads admin-state bits as ready, drain or maint", () => {
    assert.equal(admission({ adminState: 0 }), "ready");
    assert.equal(admission({ adminState: 4 }), "ready", "disabled in the config, set ready at run time");
    assert.equal(admission({ adminState: 5 }), "maint", "disabled in the config");
    assert.equal(admission({ adminState: 8 }), "drain");
    assert.equal(admission({ adminState: 12 }), "drain");
    assert.equal(admission({ adminState: 0x20 }), "maint", "DNS resolution failed");
  });

  it("tells the serving color only when one color is all ready and the other takes nothing", () => {
    const states = parseServersState(AFTER_FLIP);
    assert.equal(servingColor(states), "green");
    assert.equal(
      servingColor(states.map((state) => ({ ...state, adminState: 0 }))),
      undefined,
      "both ready: mid-flip",
    );
    assert.equal(
      servingColor(states.map((state) => ({ ...state, adminState: 8 }))),
      undefined,
      "both drained",
    );
  });
});
