import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { COMMANDS } from "../../ops/cli";
import { assertOneLine, snapshot } from "../tools/support/run-tool";
import { CliExit, spawnOps } from "./support/cli";

/** Runs the ops CLI as the command resources do, with no secrets in the environment. */
const ops = (args: string[]): Promise<CliExit> =>
  spawnOps(args, { PATH: process.env.PATH ?? "" }, 60_000).done;

/** A refused command line: exit 2, exactly one line on stderr, nothing on stdout. */
function assertUsage(run: CliExit, line: RegExp): void {
  assertOneLine({ code: run.code, err: run.stderr }, 2, line);
  assert.equal(run.stdout, "");
}

describe("greenlight-ops: the command-line discipline", function () {
  this.timeout(120_000);

  it("--help prints the steps on stdout and exits 0; each step's --help too, without running it", async () => {
    const top = await ops(["--help"]);
    assert.equal(top.code, 0);
    assert.equal(top.stderr, "");
    for (const step of COMMANDS) assert.match(top.stdout, new RegExp(`\\n  ${step.name}\\b`));
    const runs = await Promise.all(COMMANDS.map((step) => ops([step.name, "--help"])));
    runs.forEach((run, index) => {
      const name = COMMANDS[index].name;
      assert.equal(run.code, 0, `${name}: ${run.stderr}`);
      assert.equal(run.stderr, "", name);
      assert.match(run.stdout, new RegExp(`^Usage: greenlight-ops ${name} \\[options\\]`), name);
      assert.doesNotMatch(run.stdout, /^\{/m, `${name} printed a step result`);
    });
  });

  it("no step: one line naming the steps (not the whole help on stderr)", async () => {
    assertUsage(
      await ops([]),
      /^greenlight-ops: name a step: record, backup, restore, rehearse, migrate, image, health-gate, smoke, switch, guard, proxy, switch-hosts, host-keys, relay, notify; greenlight-ops --help describes them$/,
    );
  });

  it("an unknown step: one line with the step it resembles", async () => {
    assertUsage(
      await ops(["health-gte"]),
      /^greenlight-ops: unknown command 'health-gte' \(Did you mean health-gate\?\); greenlight-ops --help lists the steps$/,
    );
  });

  it("a missing option, a bad value, an extra argument: one line naming the option, the value and the fix", async () => {
    const [missing, badColor, badPort, extra, pastLastPort] = await Promise.all([
      ops(["backup", "--bucket", "shop-backups-local"]),
      ops(["health-gate", "--color", "red", "--release", "v1", "--port", "18081"]),
      ops(["smoke", "--color", "blue", "--release", "v1", "--port", "http"]),
      ops(["record", "now"]),
      ops(["health-gate", "--color", "blue", "--release", "v1", "--port", "65535", "--replicas", "3"]),
    ]);
    assertUsage(
      missing,
      /^greenlight-ops backup: required option '--prefix <prefix>' not specified; greenlight-ops backup --help lists its options$/,
    );
    assertUsage(
      badColor,
      /^greenlight-ops health-gate: option '--color <color>' argument 'red' is invalid\. expected blue or green; greenlight-ops health-gate --help lists its options$/,
    );
    assertUsage(
      badPort,
      /^greenlight-ops smoke: option '--port <port>' argument 'http' is invalid\. expected a whole number from 1 to 65535;/,
    );
    assertUsage(
      extra,
      /^greenlight-ops record: too many arguments for 'record'\. Expected 0 arguments but got 1;/,
    );
    assertUsage(
      pastLastPort,
      /^greenlight-ops health-gate: port 65535 \+ 3 replicas runs past 65535; greenlight-ops health-gate --help lists its options$/,
    );
  });

  it("a refused switch writes nothing into its state directory", async () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-ops-cli-"));
    try {
      fs.writeFileSync(path.join(stateDir, "haproxy.cfg"), "# the proxy's current config\n");
      const before = snapshot(stateDir);
      const args = ["switch", "--release", "v2", "--state-dir", stateDir, "--proxy-port", "18080"];
      const badColor = await ops([
        ...args,
        "--color",
        "purple",
        "--blue-port",
        "18081",
        "--green-port",
        "18091",
      ]);
      assertUsage(badColor, /option '--color <color>' argument 'purple' is invalid\. expected blue or green/);
      const badPort = await ops([...args, "--color", "green", "--blue-port", "18081", "--green-port", "0"]);
      assertUsage(
        badPort,
        /option '--green-port <port>' argument '0' is invalid\. expected a whole number from 1 to 65535/,
      );
      assert.deepEqual(snapshot(stateDir), before);
    } finally {
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
