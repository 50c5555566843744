// npm run plan's command line: the same discipline as every tool (one line naming the flag, the value and
// the fix; exit 2; nothing planned), instants with a zone and a real date, and keys in a lookalike
// namespace refused before anything runs.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseDocument } from "yaml";
import { main } from "../../../tools/plan/cli";

const ROOT = path.resolve(__dirname, "..", "..", "..");

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

  it("fits every line in 100 columns (commands shortened, digests cut); --wide prints every line whole", async () => {
    const at = ["--at", "2026-12-08T11:00:00Z"];
    const runs = await Promise.all([
      ...["local", "staging", "production"].map((stack) =>
        planCli(["--stack", stack, ...at, "--diff-from", "HEAD"]),
      ),
      planCli(["--stack", "production", ...at, "--wide"]),
    ]);
    const wide = runs.pop() as Awaited<ReturnType<typeof planCli>>;
    for (const narrow of runs) {
      assert.equal(narrow.code, 0, narrow.stderr);
      const long = narrow.stdout.split("\n").filter((line) => [...line].length > 100);
      assert.deepEqual(long, [], "lines over 100 columns");
      assert.match(narrow.stdout, /What this update runs, compared with HEAD/);
    }
    // --wide keeps what the narrow form shortens: the whole command lines and digests.
    assert.equal(wide.code, 0, wide.stderr);
    assert.ok(
      wide.stdout.split("\n").some((line) => line.length > 100),
      "--wide shortens nothing",
    );
    assert.match(wide.stdout, /@sha256:[0-9a-f]{64}/);
    assert.doesNotMatch(runs[2].stdout, /@sha256:[0-9a-f]{64}/);
  });

  it("writes nothing into the checkout: it plans from a read-only copy (the ops image context goes to the user's cache)", function () {
    // A read-only bind mount of this checkout in a private mount namespace (needs root, as CI runs).
    const probe = spawnSync("unshare", ["-m", "true"]);
    if (probe.status !== 0) {
      if (process.env.CI === "true") assert.fail(`unshare -m is not available: ${probe.stderr}`);
      this.skip();
    }
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-plan-ro-"));
    try {
      const mount = path.join(work, "checkout");
      const home = path.join(work, "home");
      fs.mkdirSync(mount);
      fs.mkdirSync(home);
      const script =
        `mount --bind "$0" "$1" && mount -o remount,bind,ro "$1" && cd "$1" && ` +
        `"$2" bin/launch.js tools/plan/cli --stack production --at 2026-12-08T11:00:00Z`;
      const result = spawnSync("unshare", ["-m", "sh", "-c", script, ROOT, mount, process.execPath], {
        encoding: "utf8",
        env: { PATH: process.env.PATH ?? "", HOME: home },
        timeout: 120_000,
      });
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, /Verdict: this release may go out/);
      const staged = fs.readdirSync(path.join(home, ".cache", "greenlight", "ops-image"));
      assert.equal(staged.length, 1, "the context was staged in the user's cache");
      assert.ok(fs.existsSync(path.join(home, ".cache", "greenlight", "ops-image", staged[0], "Dockerfile")));
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });

  it("a cache it cannot write is an environment failure: exit 5, one line naming the folder and the fix", async function () {
    const probe = spawnSync("unshare", ["-m", "true"]);
    if (probe.status !== 0) {
      if (process.env.CI === "true") assert.fail(`unshare -m is not available: ${probe.stderr}`);
      this.skip();
    }
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-plan-rocache-"));
    try {
      const script =
        `mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && ` +
        `GREENLIGHT_CACHE_DIR="$0" "$1" bin/launch.js tools/plan/cli --stack production --at 2026-12-08T11:00:00Z`;
      const result = spawnSync("unshare", ["-m", "sh", "-c", script, cache, process.execPath], {
        cwd: ROOT,
        encoding: "utf8",
        env: { PATH: process.env.PATH ?? "", HOME: cache },
        timeout: 120_000,
      });
      assert.equal(result.status, 5, result.stderr);
      assert.equal(result.stdout, "");
      assert.match(
        result.stderr.trim(),
        /^plan: cannot stage the ops image's build context in .*\/ops-image \(EROFS on .*\): set GREENLIGHT_CACHE_DIR \(or XDG_CACHE_HOME\) to a writable folder$/,
      );
    } finally {
      fs.rmSync(cache, { recursive: true, force: true });
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
