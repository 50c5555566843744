import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { COMMANDS } from "../../ops/cli";
import { assertLines, assertOneLine, snapshot } from "../tools/support/run-tool";
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
      /^greenlight-ops: name a step: record, backup, restore, rehearse, migrate, image, deliver, health-gate, smoke, switch, guard, proxy, switch-hosts, host-keys, relay, notify; greenlight-ops --help describes them$/,
    );
  });

  it("an unknown step: one line with the step it resembles", async () => {
    assertUsage(
      await ops(["health-gte"]),
      /^greenlight-ops: unknown command 'health-gte' \(Did you mean health-gate\?\); greenlight-ops --help lists the steps$/,
    );
  });

  it("an unknown step with --help is still a usage error (exit 2), not the top help with exit 0", async () => {
    for (const args of [
      ["frobnicate", "--help"],
      ["restroe", "--help"],
      ["helth-gate", "-h"],
    ]) {
      const run = await ops(args);
      assertUsage(run, new RegExp(`^greenlight-ops: unknown command '${args[0]}'`));
    }
    assertUsage(
      await ops(["restroe", "--help"]),
      /^greenlight-ops: unknown command 'restroe' \(Did you mean restore\?\); greenlight-ops --help lists the steps$/,
    );
  });

  it("a mistyped option of a step is named with its suggestion, with every other problem at once", async () => {
    const run = await ops(["restore", "--bucket", "--stak", "production", "--jobs"]);
    assertLines({ code: run.code, err: run.stderr }, 2, [
      /^greenlight-ops restore: option '--bucket <name>' needs a value, but the next word is the option '--stak';/,
      /^greenlight-ops restore: unknown option '--stak' \(Did you mean --stack\?\);/,
      /^greenlight-ops restore: option '--jobs <n>' argument missing;/,
      /^greenlight-ops restore: required option '--prefix <prefix>' not specified;/,
      /^greenlight-ops restore: required option '--release <id>' not specified;/,
    ]);
    assert.equal(run.stdout, "");
  });

  it("a missing option, a bad value, an extra argument: one line per problem naming the option, the value and the fix", async () => {
    const [missing, badColor, badPort, extra, pastLastPort] = await Promise.all([
      ops(["backup", "--bucket", "shop-backups-local"]),
      ops(["health-gate", "--color", "red", "--release", "v1", "--port", "18081"]),
      ops(["smoke", "--color", "blue", "--release", "v1", "--port", "http"]),
      ops(["record", "now"]),
      ops(["health-gate", "--color", "blue", "--release", "v1", "--port", "65535", "--replicas", "3"]),
    ]);
    // Every missing option at once, one line each (commander alone stops at the first).
    assertLines({ code: missing.code, err: missing.stderr }, 2, [
      /^greenlight-ops backup: required option '--prefix <prefix>' not specified; greenlight-ops backup --help lists its options$/,
      /^greenlight-ops backup: required option '--stack <name>' not specified;/,
      /^greenlight-ops backup: required option '--release <id>' not specified;/,
    ]);
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
      /^greenlight-ops record: too many arguments for 'record': 'now' \(every option starts with --\);/,
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
