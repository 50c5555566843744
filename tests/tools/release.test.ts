import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { applyConfigChanges } from "../../tools/history/stack-yaml";
import { main } from "../../tools/release";

const ROOT = path.resolve(__dirname, "..", "..");
const DIGEST = "sha256:" + "a1".repeat(32);
const NEW_IMAGE = `registry.example.com/shop@${DIGEST}`;

interface Run {
  code: number;
  out: string;
  err: string;
}

/** A /health endpoint whose status the test sets. */
interface FakeColor {
  server: http.Server;
  port: number;
  status: number;
}

async function colorServer(): Promise<FakeColor> {
  const color: FakeColor = { server: http.createServer(), port: 0, status: 200 };
  color.server.on("request", (request: http.IncomingMessage, response: http.ServerResponse) => {
    response.statusCode = request.url === "/health" ? color.status : 404;
    response.end(request.url === "/health" ? `{"status":${color.status}}` : "");
  });
  await new Promise<void>((resolve) => color.server.listen(0, "127.0.0.1", resolve));
  color.port = (color.server.address() as AddressInfo).port;
  return color;
}

const comments = (text: string) =>
  text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.startsWith("#"));

describe("tools/release", function () {
  let tmp: string;
  let project: string;
  let blue: FakeColor;
  let green: FakeColor;
  let originals: Record<string, string>;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-release-"));
    // Production runs 3 replicas per color: the two colors' port ranges must not overlap.
    const servers: FakeColor[] = [];
    for (let attempt = 0; attempt < 20 && servers.length < 2; attempt++) {
      const candidate = await colorServer();
      if (servers.every((other) => Math.abs(other.port - candidate.port) >= 4)) servers.push(candidate);
      else await new Promise((resolve) => candidate.server.close(resolve));
    }
    assert.equal(servers.length, 2, "two loopback ports 4 apart");
    [blue, green] = servers;
    originals = {};
    for (const stack of ["production", "staging"]) {
      const text = fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8");
      originals[stack] = applyConfigChanges(
        text,
        {
          set: { "greenlight:bluePort": String(blue.port), "greenlight:greenPort": String(green.port) },
          remove: [],
        },
        stack,
      );
    }
  });

  after(async () => {
    await Promise.all(
      [blue, green].filter(Boolean).map((color) => new Promise((resolve) => color.server.close(resolve))),
    );
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  beforeEach(function () {
    project = fs.mkdtempSync(path.join(tmp, "project-"));
    fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(project, "Pulumi.yaml"));
    for (const [stack, text] of Object.entries(originals))
      fs.writeFileSync(path.join(project, `Pulumi.${stack}.yaml`), text);
    blue.status = 200;
    green.status = 200;
  });

  const stackFile = (stack: string) => path.join(project, `Pulumi.${stack}.yaml`);
  const read = (stack: string) => fs.readFileSync(stackFile(stack), "utf8");

  async function release(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
    let out = "";
    let err = "";
    const code = await main(["--project-dir", project, "--at", "2026-11-24T11:00:00Z", ...args], env, {
      out: (text) => (out += text),
      err: (text) => (err += text),
      stdinIsTTY: false,
    });
    return { code, out, err };
  }

  it("writes the release into the idle color exactly as pulumi config set would, keeping comments, order and secure: entries", async () => {
    const run = await release(["--stack", "production", "--release", "2026.11.24-1", "--image", NEW_IMAGE]);
    assert.equal(run.code, 0, run.err);
    const before = parse(originals.production) as { config: Record<string, unknown> };
    const after = parse(read("production")) as { config: Record<string, unknown>; encryptionsalt: string };
    // pulumi config set writes every top-level value as a string: the flag is "false", not false.
    const expected = {
      ...before.config,
      "greenlight:greenRelease": "2026.11.24-1",
      "greenlight:greenImage": NEW_IMAGE,
      "greenlight:activeColor": "green",
      "greenlight:schemaBreaking": "false",
    };
    assert.deepEqual(after.config, expected);
    assert.equal(
      after.encryptionsalt,
      (parse(originals.production) as { encryptionsalt: string }).encryptionsalt,
    );
    assert.deepEqual(comments(read("production")), comments(originals.production));
    assert.match(read("production"), /greenlight:schemaBreaking: "false"/);
    // Existing keys keep their place; the new key follows the last plain greenlight: key, before the secure: block.
    const keys = Object.keys(after.config);
    assert.deepEqual(
      keys.filter((key) => key !== "greenlight:schemaBreaking"),
      Object.keys(before.config),
    );
    assert.equal(keys[keys.indexOf("greenlight:schemaBreaking") - 1], "greenlight:greenPort");
    // Only the changed lines differ.
    const changed = read("production")
      .split("\n")
      .filter((line) => !originals.production.split("\n").includes(line));
    assert.deepEqual(changed, [
      "  greenlight:activeColor: green",
      "  greenlight:greenRelease: 2026.11.24-1",
      `  greenlight:greenImage: ${NEW_IMAGE}`,
      '  greenlight:schemaBreaking: "false"',
    ]);
  });

  it("records --schema-breaking as the string true and prints the next commands", async () => {
    const run = await release([
      "--stack",
      "production",
      "--release",
      "2026.11.24-1",
      "--image",
      NEW_IMAGE,
      "--schema-breaking",
      "--message",
      "drop orders.legacy_status",
    ]);
    assert.equal(run.code, 0, run.err);
    assert.equal(
      (parse(read("production")) as { config: Record<string, unknown> }).config["greenlight:schemaBreaking"],
      "true",
    );
    assert.match(
      run.out,
      /\n {2}pulumi preview --stack production --policy-pack policies --policy-pack-config policies\/config\/production\.json\n/,
    );
    assert.match(
      run.out,
      /\n {2}pulumi up --stack production --policy-pack policies --policy-pack-config policies\/config\/production\.json --message 'drop orders\.legacy_status'\n/,
    );
    assert.match(
      run.out,
      new RegExp(`blue \\(active\\) answered 200 at http://127\\.0\\.0\\.1:${blue.port}/health`),
    );
  });

  it("goes to blue when green is active (staging, tags allowed there)", async () => {
    const run = await release([
      "--stack",
      "staging",
      "--release",
      "2026.11.24-1",
      "--image",
      "registry.example.com/shop:2026.11.24-1",
      "--json",
    ]);
    assert.equal(run.code, 0, run.err);
    const report = JSON.parse(run.out);
    assert.equal(report.color, "blue");
    assert.deepEqual(report.warm, { color: "green", release: "2026.11.20-2" });
    const config = (parse(read("staging")) as { config: Record<string, unknown> }).config;
    assert.equal(config["greenlight:blueRelease"], "2026.11.24-1");
    assert.equal(config["greenlight:blueImage"], "registry.example.com/shop:2026.11.24-1");
    assert.equal(config["greenlight:activeColor"], "blue");
  });

  it("records an emergency override in config and the update message, and the next release removes it", async () => {
    const override = [
      "--override-reason",
      "checkout answers 500 for EU cards",
      "--override-approver",
      "oncall.maria",
      "--override-ticket",
      "INC-2041",
      "--override-expires-at",
      "2026-11-24T20:00:00Z",
    ];
    const first = await release([
      "--stack",
      "production",
      "--release",
      "2026.11.24-1",
      "--image",
      NEW_IMAGE,
      ...override,
    ]);
    assert.equal(first.code, 0, first.err);
    const config = (parse(read("production")) as { config: Record<string, unknown> }).config;
    assert.equal(config["greenlight:overrideReason"], "checkout answers 500 for EU cards");
    assert.equal(config["greenlight:overrideApprover"], "oncall.maria");
    assert.equal(config["greenlight:overrideTicket"], "INC-2041");
    assert.equal(config["greenlight:overrideExpiresAt"], "2026-11-24T20:00:00Z");
    assert.match(read("production"), /greenlight:overrideExpiresAt: "2026-11-24T20:00:00Z"/);
    assert.match(
      first.out,
      /--message 'release 2026\.11\.24-1 to production \(emergency override INC-2041 approved by oncall\.maria until 2026-11-24T20:00:00Z: checkout answers 500 for EU cards\)'/,
    );

    const second = await release([
      "--stack",
      "production",
      "--release",
      "2026.11.25-1",
      "--image",
      `registry.example.com/shop@sha256:${"b2".repeat(32)}`,
    ]);
    assert.equal(second.code, 0, second.err);
    const next = (parse(read("production")) as { config: Record<string, unknown> }).config;
    assert.ok(
      Object.keys(next).every((key) => !key.startsWith("greenlight:override")),
      Object.keys(next).join(","),
    );
    assert.match(second.out, /greenlight:overrideTicket: removed/);
    assert.equal(next["greenlight:blueRelease"], "2026.11.25-1");
    assert.deepEqual(comments(read("production")), comments(originals.production));
  });

  it("--skip-health-check says so in the output", async () => {
    blue.status = 503;
    const run = await release([
      "--stack",
      "production",
      "--release",
      "2026.11.24-1",
      "--image",
      NEW_IMAGE,
      "--skip-health-check",
    ]);
    assert.equal(run.code, 0, run.err);
    assert.match(run.out, /health check skipped \(--skip-health-check\)/);
  });

  it("--git-tag commits the stack file and creates the annotated tag release/<stack>/<id>", async () => {
    const env = {
      ...process.env,
      GIT_AUTHOR_NAME: "Release Test",
      GIT_AUTHOR_EMAIL: "release@example.com",
      GIT_COMMITTER_NAME: "Release Test",
      GIT_COMMITTER_EMAIL: "release@example.com",
    };
    const git = (...args: string[]) => spawnSync("git", args, { cwd: project, env, encoding: "utf8" });
    assert.equal(git("init", "-q").status, 0);
    git("add", ".");
    assert.equal(git("commit", "-q", "-m", "stack files").status, 0);
    const run = await release(
      [
        "--stack",
        "production",
        "--release",
        "2026.11.24-1",
        "--image",
        NEW_IMAGE,
        "--git-tag",
        "--message",
        "release 2026.11.24-1: EU card fix",
      ],
      env,
    );
    assert.equal(run.code, 0, run.err);
    assert.equal(git("cat-file", "-t", "release/production/2026.11.24-1").stdout.trim(), "tag");
    assert.match(
      git("tag", "-n5", "release/production/2026.11.24-1").stdout,
      /release 2026\.11\.24-1: EU card fix/,
    );
    assert.equal(
      git("show", "release/production/2026.11.24-1:Pulumi.production.yaml").stdout,
      read("production"),
    );
    assert.equal(git("status", "--porcelain").stdout, "");
    assert.match(run.out, /git push origin HEAD release\/production\/2026\.11\.24-1/);

    // A release id is used once: the tag exists now, so the same id is refused before anything is written.
    fs.writeFileSync(stackFile("production"), originals.production);
    git("commit", "-q", "-am", "back");
    const again = await release(
      ["--stack", "production", "--release", "2026.11.24-1", "--image", NEW_IMAGE, "--git-tag"],
      env,
    );
    assert.equal(again.code, 1);
    assert.match(again.err, /tag release\/production\/2026\.11\.24-1 exists already/);
    assert.equal(read("production"), originals.production);
  });

  describe("refusals leave the stack file untouched (exit 1)", function () {
    const refused = async (stack: string, args: string[], pattern: RegExp) => {
      const run = await release(["--stack", stack, ...args]);
      assert.equal(run.code, 1, run.out + run.err);
      assert.match(run.err, pattern);
      assert.equal(read(stack), originals[stack], "the stack file is byte-for-byte unchanged");
    };

    it("a tag instead of a digest in production", () =>
      refused(
        "production",
        ["--release", "2026.11.24-1", "--image", "registry.example.com/shop:2026.11.24-1"],
        /production runs images pinned by digest/,
      ));
    it("latest, anywhere", () =>
      refused(
        "staging",
        ["--release", "2026.11.24-1", "--image", "registry.example.com/shop:latest"],
        /the latest tag moves/,
      ));
    it("an image without a tag (implicitly latest)", () =>
      refused(
        "staging",
        ["--release", "2026.11.24-1", "--image", "registry.example.com/shop"],
        /no tag means latest/,
      ));
    it("latest as a release id", () =>
      refused(
        "staging",
        ["--release", "latest", "--image", "registry.example.com/shop:2026.11.24-1"],
        /--release latest: name the release/,
      ));
    it("a malformed image reference", () =>
      refused(
        "staging",
        ["--release", "2026.11.24-1", "--image", "registry.example.com/shop:v1; rm -rf /"],
        /expected a Docker image reference/,
      ));
    it("an id with shell characters", async () => {
      for (const id of ["2026.11.24-1;rm -rf /", "$(id)", "a b", "`x`", "r|1"]) {
        await refused(
          "production",
          ["--release", id, "--image", NEW_IMAGE],
          /use 1-64 letters, digits, '\.', '_' or '-' \(no spaces or shell characters\)/,
        );
      }
    });
    it("an id that is already live", () =>
      refused(
        "production",
        ["--release", "2026.11.20-2", "--image", NEW_IMAGE],
        /release 2026\.11\.20-2 is already live on blue in production/,
      ));
    it("an id already on the idle color", () =>
      refused(
        "production",
        ["--release", "2026.11.18-1", "--image", NEW_IMAGE],
        /already on the idle color green; to make it live, flip instead/,
      ));
    it("a release while the idle color is the only healthy one", async () => {
      blue.status = 503;
      await refused(
        "production",
        ["--release", "2026.11.24-1", "--image", NEW_IMAGE],
        new RegExp(
          `blue \\(active\\) answered 503 .*but green \\(idle\\) answered 200 .*would overwrite the only healthy color`,
        ),
      );
    });
    it("an incomplete emergency override", () =>
      refused(
        "production",
        [
          "--release",
          "2026.11.24-1",
          "--image",
          NEW_IMAGE,
          "--override-reason",
          "checkout answers 500 for EU cards",
          "--override-ticket",
          "INC-2041",
        ],
        /missing --override-approver, --override-expires-at/,
      ));
    it("an override expiring more than 24 h ahead, or already expired", async () => {
      const base = [
        "--release",
        "2026.11.24-1",
        "--image",
        NEW_IMAGE,
        "--override-reason",
        "checkout answers 500 for EU cards",
        "--override-approver",
        "oncall.maria",
        "--override-ticket",
        "INC-2041",
      ];
      await refused(
        "production",
        [...base, "--override-expires-at", "2026-11-26T11:00:00Z"],
        /48\.0 h ahead; an override lasts at most 24 h/,
      );
      await refused(
        "production",
        [...base, "--override-expires-at", "2026-11-24T10:00:00Z"],
        /already expired/,
      );
    });
    it("a stack file the project's own parseStackConfig rejects after the change", async () => {
      const broken = applyConfigChanges(
        originals.staging,
        { set: { "greenlight:replicas": "0" }, remove: [] },
        "staging",
      );
      fs.writeFileSync(stackFile("staging"), broken);
      originals.brokenStaging = broken;
      const run = await release([
        "--stack",
        "staging",
        "--release",
        "2026.11.24-1",
        "--image",
        "registry.example.com/shop:2026.11.24-1",
      ]);
      assert.equal(run.code, 1);
      assert.match(
        run.err,
        /would not be valid after this release:[\s\S]*greenlight:replicas: got "0"; expected at least 1 replicas/,
      );
      assert.equal(read("staging"), broken);
    });
  });

  it("a missing stack file is a usage error (exit 2)", async () => {
    const run = await release(["--stack", "qa", "--release", "2026.11.24-1", "--image", NEW_IMAGE]);
    assert.equal(run.code, 2);
    assert.match(run.err, /no stack file .*Pulumi\.qa\.yaml for stack "qa"/);
  });
});
