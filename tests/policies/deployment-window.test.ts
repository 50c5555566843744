import { strict as assert } from "assert";
import { deploymentWindow, deploymentWindowAdvisory } from "../../policies/deployment-window";
import { RESOURCE, STEP, STEP_ENV } from "../../contract/resources";
import { omit, policyResources, resourceArgs, resourceViolations, stackViolations } from "./support/args";
import { byName, releaseGraph } from "./support/release-graph";

const WEDNESDAY_11 = "2026-11-25T11:00:00Z";
const FRIDAY_15 = "2026-11-27T15:00:00Z";
const YEAR_END = {
  from: "2026-12-21T00:00:00Z",
  to: "2027-01-04T00:00:00Z",
  reason: "year-end change freeze",
};
const VALID_OVERRIDE = {
  [STEP_ENV.overrideReason]: "hotfix for checkout 500s",
  [STEP_ENV.overrideApprover]: "oncall.alice",
  [STEP_ENV.overrideTicket]: "INC-4711",
  [STEP_ENV.overrideExpiresAt]: "2026-11-27T18:00:00Z",
};

function record(extraEnv: Record<string, string> = {}) {
  return resourceArgs(
    RESOURCE.command,
    {
      create: "node bin/greenlight-ops.js record",
      environment: { [STEP_ENV.step]: STEP.record, [STEP_ENV.release]: "2026.11.20-2", ...extraEnv },
    },
    { name: "release-record" },
  );
}

async function judge(
  now: string,
  options: { preview?: boolean; env?: Record<string, string>; config?: Record<string, unknown> } = {},
) {
  const call = { config: options.config, preview: options.preview, at: now };
  return {
    mandatory: await resourceViolations(deploymentWindow, record(options.env), call),
    advisory: await resourceViolations(deploymentWindowAdvisory, record(options.env), call),
  };
}

describe("policies/deployment-window", () => {
  it("passes an update inside the window, reporting nothing", async () => {
    assert.deepEqual(await judge(WEDNESDAY_11), { mandatory: [], advisory: [] });
  });

  it("blocks an update on Friday 15:00 UTC, naming the time, the window and the next opening", async () => {
    const { mandatory, advisory } = await judge(FRIDAY_15);
    assert.equal(mandatory.length, 1);
    assert.match(
      mandatory[0],
      /^release 2026\.11\.20-2 is not in an open deployment window at Fri 2026-11-27 15:00 UTC; next window opens Tue 2026-12-01 10:00 UTC/,
    );
    assert.match(mandatory[0], /outside every deployment window: Tue–Thu 10:00–14:00 UTC/);
    assert.match(
      mandatory[0],
      /greenlight:overrideReason, overrideApprover, overrideTicket and overrideExpiresAt \(at most 24 h ahead\)/,
    );
    assert.deepEqual(advisory, [], "an update does not get the preview warning");
  });

  it("only warns in a preview: outside the window, the update would be blocked; next window opens <time>", async () => {
    const { mandatory, advisory } = await judge(FRIDAY_15, { preview: true });
    assert.deepEqual(mandatory, []);
    assert.deepEqual(advisory, [
      "release 2026.11.20-2 is not in an open deployment window at Fri 2026-11-27 15:00 UTC: the update would be blocked; next window opens Tue 2026-12-01 10:00 UTC " +
        "(outside every deployment window: Tue–Thu 10:00–14:00 UTC).",
    ]);
  });

  it("a preview inside the window says nothing", async () => {
    assert.deepEqual(await judge(WEDNESDAY_11, { preview: true }), { mandatory: [], advisory: [] });
  });

  it("blocks inside a freeze even during window hours, naming the freeze", async () => {
    const { mandatory } = await judge("2026-12-22T11:00:00Z", { config: { freezes: [YEAR_END] } });
    assert.equal(mandatory.length, 1);
    assert.match(
      mandatory[0],
      /not in an open deployment window at Tue 2026-12-22 11:00 UTC; next window opens Tue 2027-01-05 10:00 UTC/,
    );
    assert.match(
      mandatory[0],
      /inside the freeze "year-end change freeze", 2026-12-21T00:00:00Z to 2027-01-04T00:00:00Z/,
    );
  });

  it("lets a valid emergency override through and reports its use", async () => {
    const { mandatory, advisory } = await judge(FRIDAY_15, { env: VALID_OVERRIDE });
    assert.deepEqual(mandatory, []);
    assert.equal(advisory.length, 1);
    assert.match(
      advisory[0],
      /^override used: release 2026\.11\.20-2 goes out at Fri 2026-11-27 15:00 UTC \(outside every deployment window: Tue–Thu 10:00–14:00 UTC\); reason "hotfix for checkout 500s", approved by oncall\.alice, ticket INC-4711, expires Fri 2026-11-27 18:00 UTC \(in 3 h\); next window opens Tue 2026-12-01 10:00 UTC\.$/,
    );
  });

  it("reports the override's use in a preview too, without the blocked warning", async () => {
    const { mandatory, advisory } = await judge(FRIDAY_15, { env: VALID_OVERRIDE, preview: true });
    assert.deepEqual(mandatory, []);
    assert.equal(advisory.length, 1);
    assert.match(advisory[0], /^override used:/);
  });

  it("overrides a freeze too", async () => {
    const env = { ...VALID_OVERRIDE, [STEP_ENV.overrideExpiresAt]: "2026-12-22T20:00:00Z" };
    const { mandatory, advisory } = await judge("2026-12-22T11:00:00Z", {
      env,
      config: { freezes: [YEAR_END] },
    });
    assert.deepEqual(mandatory, []);
    assert.match(advisory[0], /override used: .*inside the freeze "year-end change freeze"/);
  });

  it("rejects an override that expired a minute ago: blocked, and the rejection reported", async () => {
    const env = { ...VALID_OVERRIDE, [STEP_ENV.overrideExpiresAt]: "2026-11-27T14:59:00Z" };
    const { mandatory, advisory } = await judge(FRIDAY_15, { env });
    assert.equal(mandatory.length, 1);
    assert.match(
      mandatory[0],
      /The emergency override on the release record was rejected: it expired at Fri 2026-11-27 14:59 UTC, 1 min before Fri 2026-11-27 15:00 UTC\./,
    );
    assert.deepEqual(advisory, [
      "override rejected for release 2026.11.20-2: it expired at Fri 2026-11-27 14:59 UTC, 1 min before Fri 2026-11-27 15:00 UTC.",
    ]);
  });

  it("rejects an override more than 24 h ahead, and one without an approver", async () => {
    const far = await judge(FRIDAY_15, {
      env: { ...VALID_OVERRIDE, [STEP_ENV.overrideExpiresAt]: "2026-11-28T16:00:00Z" },
    });
    assert.match(
      far.mandatory[0],
      /rejected: expiresAt Sat 2026-11-28 16:00 UTC is 25 h after .*at most 24 h/,
    );
    const withoutApprover = omit(VALID_OVERRIDE, STEP_ENV.overrideApprover);
    const unapproved = await judge(FRIDAY_15, { env: withoutApprover });
    assert.match(
      unapproved.mandatory[0],
      /rejected: approver is missing \(set greenlight:overrideApprover\)/,
    );
    assert.match(unapproved.advisory[0], /^override rejected for release/);
  });

  it("honours a shorter maxOverrideHours", async () => {
    const { mandatory } = await judge(FRIDAY_15, { env: VALID_OVERRIDE, config: { maxOverrideHours: 2 } });
    assert.match(mandatory[0], /at most 2 h/);
  });

  it("says an override is not needed inside the window", async () => {
    const env = { ...VALID_OVERRIDE, [STEP_ENV.overrideExpiresAt]: "2026-11-25T18:00:00Z" };
    const { mandatory, advisory } = await judge(WEDNESDAY_11, { env });
    assert.deepEqual(mandatory, []);
    assert.match(
      advisory[0],
      /^override present but not needed: release 2026\.11\.20-2 at Wed 2026-11-25 11:00 UTC is inside a deployment window/,
    );
  });

  it("judges windows in their own zone (Europe/Berlin, after the DST change)", async () => {
    const windows = [
      { days: ["mon", "tue", "wed", "thu", "fri"], start: "09:00", end: "17:00", zone: "Europe/Berlin" },
    ];
    assert.deepEqual((await judge("2026-03-30T07:00:00Z", { config: { windows } })).mandatory, []);
    const early = await judge("2026-03-30T06:59:00Z", { config: { windows } });
    assert.match(
      early.mandatory[0],
      /next window opens Mon 2026-03-30 07:00 UTC \(outside every deployment window: Mon–Fri 09:00–17:00 Europe\/Berlin\)/,
    );
  });

  it("ignores every resource but the release record", async () => {
    const backup = resourceArgs(RESOURCE.command, { environment: { [STEP_ENV.step]: STEP.backup } });
    const container = resourceArgs(RESOURCE.container, { image: "x" });
    for (const args of [backup, container]) {
      assert.deepEqual(await resourceViolations(deploymentWindow, args, { at: FRIDAY_15 }), []);
      assert.deepEqual(
        await resourceViolations(deploymentWindowAdvisory, args, {
          at: FRIDAY_15,
          preview: true,
        }),
        [],
      );
    }
  });

  it("reads the clock, and nothing else: a `now` in its config changes nothing", async () => {
    const always = [
      { days: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], start: "00:00", end: "24:00", zone: "UTC" },
    ];
    assert.deepEqual(
      await resourceViolations(deploymentWindow, record(), { config: { windows: always } }),
      [],
    );
    const never = await resourceViolations(deploymentWindow, record(), {
      config: { windows: [], now: "2026-11-25T11:00:00Z" },
    });
    assert.match(never[0], new RegExp(`window at \\w{3} ${new Date().toISOString().slice(0, 10)}`));
    assert.match(never[0], /no window opens in the next 366 days \(no deployment window is configured\)/);
  });

  it("fails loudly on a bad calendar, naming the key and the file", async () => {
    await assert.rejects(
      resourceViolations(deploymentWindow, record(), {
        at: FRIDAY_15,
        config: { windows: [{ days: ["tue"], start: "10:00", end: "14:00", zone: "Mars/Olympus" }] },
      }),
      /deployment-window config: windows\[0\]\.zone "Mars\/Olympus": expected an IANA time zone .*policies\/config\/<stack>\.json/,
    );
  });

  describe("the release record must be in the stack", () => {
    it("passes a graph with a release record", async () => {
      assert.deepEqual(await stackViolations(deploymentWindow, policyResources(releaseGraph())), []);
    });
    it("fails every step and container that does not wait for the record, on its URN", async () => {
      const graph = releaseGraph();
      byName(graph, "backup").dependencies = [];
      byName(graph, "backup-run").dependencies = [];
      byName(graph, "service").dependencies = [];
      const violations = await stackViolations(deploymentWindow, policyResources(graph));
      const expected = [
        "backup-run",
        "migration-run",
        "service-blue-0",
        "service-blue-1",
        "gate-blue-run",
        "switch-run",
      ];
      assert.deepEqual(
        violations.map((violation) => violation.urn),
        expected.map((name) => byName(graph, name).urn),
      );
      assert.match(
        violations[0].message,
        /^backup-run \(command:local:Command\) does not wait for the release record, so in an update outside the window it could run before deployment-window stops the release; make it depend on the ReleaseRecord \(dependsOn: \[record\]\)\.$/,
      );
    });
    it("fails the bucket, its key and the roles when they do not wait for the record: they too would change outside the window", async () => {
      const graph = releaseGraph();
      byName(graph, "backups").dependencies = [];
      byName(graph, "roles").dependencies = [];
      const violations = await stackViolations(deploymentWindow, policyResources(graph));
      const named = violations.map(
        (violation) => graph.find((resource) => resource.urn === violation.urn)?.name,
      );
      for (const name of [
        "backups-key",
        "backups-bucket",
        "backups-encryption",
        "roles-migrator",
        "roles-app",
      ])
        assert.ok(named.includes(name), `${name}: ${named.join(", ")}`);
      assert.ok(!named.includes("backup-run"), "the backup waits for the record itself");
    });
    it("counts waiting through a parent component, as the SDK orders it", async () => {
      const graph = releaseGraph();
      byName(graph, "backup-run").dependencies = [byName(graph, "backups-bucket").urn];
      assert.deepEqual(
        await stackViolations(deploymentWindow, policyResources(graph)),
        [],
        "backup-run's parent waits for the record",
      );
    });
    it("fails a graph without one (the window could not be judged)", async () => {
      const withoutRecord = releaseGraph().filter((resource) => resource.name !== "release-record");
      const violations = await stackViolations(deploymentWindow, policyResources(withoutRecord));
      assert.equal(violations.length, 1);
      assert.equal(violations[0].urn, undefined, "reported on the stack");
      assert.match(
        violations[0].message,
        /^no release record in the stack: expected a command with GREENLIGHT_STEP=record \(the greenlight:release:ReleaseRecord component\)/,
      );
    });
  });
});
