// npm run plan's command line: the same discipline as every tool (one line naming the flag, the value and
// the fix; exit 2; nothing planned), instants with a zone and a real date, and keys in a lookalike
// namespace refused before anything runs.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseDocument } from "yaml";
import { main } from "../../../tools/plan/cli";

async function planCli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, process.env, {
    out: (text) => (stdout += text),
    err: (text) => (stderr += text),
    stdinIsTTY: false,
  });
  return { code, stdout, stderr };
}

describe("npm run plan's command line", function () {
  this.timeout(120_000);

  for (const [at, reason] of [
    ["2026-12-01T11:00:00", /zone/],
    ["2026-02-30T11:00:00Z", /2026-02-30|exist/],
    ["tomorrow", /ISO-8601/],
  ] as const) {
    it(`refuses --at ${at}: exit 2, one line, nothing planned`, async () => {
      const result = await planCli(["--stack", "local", "--at", at]);
      assert.equal(result.code, 2);
      assert.equal(result.stdout, "");
      assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
      assert.match(result.stderr, /^plan: .*--at/);
      assert.match(result.stderr, reason);
    });
  }

  it("--help prints the options and exits 0; an unknown flag is one line, exit 2", async () => {
    const help = await planCli(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--diff-from <file\|ref>/);
    const unknown = await planCli(["--stack", "local", "--frobnicate"]);
    assert.equal(unknown.code, 2);
    assert.match(
      unknown.stderr,
      /^plan: unknown option '--frobnicate'; npm run plan -- --help lists the options\n$/,
    );
  });

  it("refuses a key in a namespace that only looks like ours, naming the key it was meant to be", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-plan-cli-"));
    try {
      const document = parseDocument(
        fs.readFileSync(path.join(__dirname, "..", "..", "..", "Pulumi.local.yaml"), "utf8"),
      );
      document.setIn(["config", "greenlite:memoryMb"], 384);
      const file = path.join(dir, "Pulumi.local.yaml");
      fs.writeFileSync(file, document.toString());
      const result = await planCli([
        "--stack",
        "local",
        "--stack-file",
        file,
        "--at",
        "2026-12-02T11:00:00Z",
      ]);
      assert.equal(result.code, 2);
      assert.equal(result.stdout, "");
      assert.match(result.stderr, /greenlite:memoryMb: .*did you mean greenlight:memoryMb\?/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("npm run plan --json on the stacks with hosts", function () {
  this.timeout(180_000);

  for (const stack of ["production", "staging"]) {
    it(`${stack}: every remote command shows the host key it pins, the one its host has in the stack file`, async () => {
      const result = await planCli(["--stack", stack, "--json", "--at", "2026-12-02T11:00:00Z"]);
      assert.ok(result.code === 0 || result.code === 1, result.stderr);
      const document = JSON.parse(result.stdout) as {
        resources: { type: string; name: string; inputs: Record<string, unknown>; hostKey?: string | null }[];
      };
      const file = parseDocument(fs.readFileSync(`Pulumi.${stack}.yaml`, "utf8")).toJS() as {
        config: Record<string, { name: string; hostKey: string }[]>;
      };
      const pinned = new Set(file.config["greenlight:hosts"].map((host) => host.hostKey));
      const remote = document.resources.filter((resource) => resource.type === "command:remote:Command");
      assert.ok(remote.length > 0);
      for (const command of remote) {
        assert.equal(command.inputs.connection, "[secret]", `${command.name}: the connection holds the key`);
        assert.ok(pinned.has(String(command.hostKey)), `${command.name} pins ${command.hostKey}`);
      }
      assert.ok(
        document.resources
          .filter((resource) => resource.type !== "command:remote:Command")
          .every((resource) => !("hostKey" in resource)),
      );
    });
  }
});
