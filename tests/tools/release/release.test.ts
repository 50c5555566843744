import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { applyConfigChanges } from "../../../tools/lib/stack-yaml";
import { main } from "../../../tools/release/cli";
import { assertHelp, assertLines, assertOneLine, runToolScript, snapshot } from "../support/run-tool";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const DIGEST = "sha256:" + "a1".repeat(32);
const NEW_IMAGE = `registry.example.com/shop@${DIGEST}`;
/** The usual release, 2026.11.24-1 pinned by digest; to production; and by tag (staging allows tags). */
const PINNED = ["--release", "2026.11.24-1", "--image", NEW_IMAGE];
const TO_PRODUCTION = ["--stack", "production", ...PINNED];
const TAGGED = ["--release", "2026.11.24-1", "--image", "registry.example.com/shop:2026.11.24-1"];
/** An emergency override's reason, approver and ticket; each test gives its own expiry. */
const OVERRIDE = [
  "--override-reason",
  "checkout answers 500 for EU cards",
  "--override-approver",
  "oncall.maria",
  "--override-ticket",
  "INC-2041",
];

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

async function colorServer(address = "127.0.0.1", port = 0): Promise<FakeColor> {
  const color: FakeColor = { server: http.createServer(), port, status: 200 };
  color.server.on("request", (request: http.IncomingMessage, response: http.ServerResponse) => {
    response.statusCode = request.url === "/health" ? color.status : 404;
    response.end(request.url === "/health" ? `{"status":${color.status}}` : "");
  });
  await new Promise<void>((resolve) => color.server.listen(port, address, resolve));
  color.port = (color.server.address() as AddressInfo).port;
  return color;
}

/** The stack's hosts at loopback addresses 127.0.0.1-3 (in host order), each with its own front on `port`. */
function hostsAtLoopback(text: string): string {
  let index = 0;
  return text.replace(/^( {6}address: ).*$/gm, (_line, indent: string) => `${indent}127.0.0.${++index}`);
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
  /** Each host's front (the proxy users reach), on 127.0.0.1-3 at one port, as the stacks' hosts are. */
  let fronts: FakeColor[];
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
    fronts = [await colorServer("127.0.0.1")];
    for (const address of ["127.0.0.2", "127.0.0.3"]) fronts.push(await colorServer(address, fronts[0].port));
    originals = {};
    for (const stack of ["production", "staging", "local"]) {
      const text = fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8");
      originals[stack] = applyConfigChanges(
        hostsAtLoopback(text),
        {
          set: {
            "greenlight:bluePort": String(blue.port),
            "greenlight:greenPort": String(green.port),
            "greenlight:proxyPort": String(fronts[0].port),
          },
          remove: [],
        },
        stack,
      );
    }
  });

  after(async () => {
    await Promise.all(
      [blue, green, ...(fronts ?? [])]
        .filter(Boolean)
        .map((color) => new Promise((resolve) => color.server.close(resolve))),
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
    for (const front of fronts) front.status = 200;
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
    const run = await release(TO_PRODUCTION);
    assert.equal(run.code, 0, run.err);
    const before = parse(originals.production) as { config: Record<string, unknown> };
    const after = parse(read("production")) as { config: Record<string, unknown>; encryptionsalt: string };
    // pulumi config set writes every top-level value as a string: the flag is "false", not false.
    const expected = {
      ...before.config,
      "greenlight:greenRelease": "2026.11.24-1",
      "greenlight:greenImage": NEW_IMAGE,
      "greenlight:activeColor": "green",
      "greenlight:latestColor": "green",
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
      "  greenlight:latestColor: green",
      "  greenlight:greenRelease: 2026.11.24-1",
      `  greenlight:greenImage: ${NEW_IMAGE}`,
      '  greenlight:schemaBreaking: "false"',
    ]);
  });

  it("--same-image releases the serving color's image again to the idle color, with the stack file's settings", async () => {
    const before = (parse(originals.production) as { config: Record<string, string> }).config;
    const run = await release([
      "--stack",
      "production",
      "--release",
      "2026.11.20-2.1",
      "--same-image",
      "--json",
    ]);
    assert.equal(run.code, 0, run.err);
    const config = (parse(read("production")) as { config: Record<string, unknown> }).config;
    assert.equal(
      config["greenlight:greenImage"],
      before["greenlight:blueImage"],
      "blue's image, now on green",
    );
    assert.equal(config["greenlight:greenRelease"], "2026.11.20-2.1");
    assert.equal(config["greenlight:activeColor"], "green");
    assert.equal(config["greenlight:latestColor"], "green");
    assert.equal(config["greenlight:blueImage"], before["greenlight:blueImage"], "blue keeps what it runs");
    const report = JSON.parse(run.out);
    assert.equal(report.sameImage, true);
    assert.equal(report.image, before["greenlight:blueImage"]);
  });

  it("--image and --same-image: exactly one of them, else exit 2 with one line and nothing written", async () => {
    const unchanged = read("production");
    const both = await release(["--stack", "production", ...PINNED, "--same-image"]);
    assertOneLine(both, 2, /^release: --image and --same-image: give one/);
    const neither = await release(["--stack", "production", "--release", "2026.11.24-1"]);
    assertOneLine(neither, 2, /^release: --image: missing; give the release's image, or --same-image/);
    assert.equal(read("production"), unchanged);
  });

  it("records --schema-breaking as the string true and prints the next commands", async () => {
    const run = await release([
      ...TO_PRODUCTION,
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
    // Production has hosts: the serving color is probed through each host's front, as users reach it.
    for (const [index, host] of ["web-1", "web-2", "web-3"].entries())
      assert.match(
        run.out,
        new RegExp(
          `health: blue \\(serving, through ${host}'s front\\) answered 200 at http://127\\.0\\.0\\.${index + 1}:${fronts[0].port}/health`,
        ),
      );
    assert.doesNotMatch(
      run.out,
      new RegExp(`:${blue.port}/health`),
      "a host's colors are not probed from here",
    );
  });

  it("goes to blue when green is active (staging, tags allowed there)", async () => {
    const run = await release(["--stack", "staging", ...TAGGED, "--json"]);
    assert.equal(run.code, 0, run.err);
    const report = JSON.parse(run.out);
    assert.equal(report.color, "blue");
    assert.deepEqual(report.warm, { color: "green", release: "2026.11.20-2" });
    const config = (parse(read("staging")) as { config: Record<string, unknown> }).config;
    assert.equal(config["greenlight:blueRelease"], "2026.11.24-1");
    assert.equal(config["greenlight:blueImage"], "registry.example.com/shop:2026.11.24-1");
    assert.equal(config["greenlight:activeColor"], "blue");
    // The newest release is blue's now: the next update backs up and migrates for it.
    assert.equal(config["greenlight:latestColor"], "blue");
  });

  it("records an emergency override in config and the update message, and the next release removes it", async () => {
    const override = [...OVERRIDE, "--override-expires-at", "2026-11-24T20:00:00Z"];
    const first = await release([...TO_PRODUCTION, ...override]);
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

  it("writes an override expiry given with an offset in UTC", async () => {
    const run = await release([
      ...TO_PRODUCTION,
      ...OVERRIDE,
      "--override-expires-at",
      "2026-11-24T21:30:00+01:00",
    ]);
    assert.equal(run.code, 0, run.err);
    assert.match(read("production"), /greenlight:overrideExpiresAt: "2026-11-24T20:30:00Z"/);
  });

  it("--skip-health-check needs --reason, and says so in the output", async () => {
    for (const front of fronts) front.status = 503;
    await refusedRelease(
      2,
      [...TO_PRODUCTION, "--skip-health-check"],
      /--skip-health-check: give --reason '<why>'/,
    );
    const run = await release([
      ...TO_PRODUCTION,
      "--skip-health-check",
      "--reason",
      "the fronts are behind a firewall",
    ]);
    assert.equal(run.code, 0, run.err);
    assert.match(
      run.out,
      /health check skipped \(--skip-health-check\): the fronts are behind a firewall; no front was probed/,
    );
  });

  it("refuses (exit 1, nothing written) when no front shows the serving color healthy; one bad front is a warning", async () => {
    for (const front of fronts) front.status = 502;
    await refusedRelease(
      1,
      TO_PRODUCTION,
      new RegExp(
        `^release: no front shows blue \\(serving\\) healthy: blue \\(serving\\) answered 502 at http://127\\.0\\.0\\.1:${fronts[0].port}/health; .*--skip-health-check --reason`,
      ),
    );
    // A dry run (a laptop that cannot reach production) says so and refuses nothing.
    const dryRun = await release([...TO_PRODUCTION, "--dry-run"]);
    assert.equal(dryRun.code, 0, dryRun.err);
    assert.match(dryRun.out, /\nhealth: WOULD REFUSE: no front shows blue \(serving\) healthy: /);
    fronts[0].status = 200;
    const run = await release(TO_PRODUCTION);
    assert.equal(run.code, 0, run.err);
    assert.match(run.out, /warning: 2 of 3 fronts did not answer 200/);
    // The stack's URL instead of the hosts' fronts (a load balancer): --health-url.
    for (const front of fronts) front.status = 502;
    const viaUrl = await release([
      ...TO_PRODUCTION.map((arg) => (arg === "2026.11.24-1" ? "2026.11.24-2" : arg)),
      "--health-url",
      `http://127.0.0.1:${blue.port}/health`,
    ]);
    assert.equal(viaUrl.code, 0, viaUrl.err);
    // The first release made green serve.
    assert.match(viaUrl.out, /green \(serving, through --health-url\) answered 200/);
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
    const args = [...TO_PRODUCTION, "--git-tag", "--message", "release 2026.11.24-1: EU card fix"];
    // A dry run names the commit and the tag, and makes neither.
    const dryRun = await release([...args, "--dry-run"], env);
    assert.equal(dryRun.code, 0, dryRun.err);
    assert.match(
      dryRun.out,
      /\nwould commit Pulumi\.production\.yaml and create the annotated tag release\/production\/2026\.11\.24-1\n/,
    );
    assert.equal(git("status", "--porcelain").stdout, "");
    assert.equal(git("tag", "--list").stdout, "");
    const run = await release(args, env);
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
    const again = await release([...TO_PRODUCTION, "--git-tag"], env);
    assert.equal(again.code, 1);
    assert.match(again.err, /tag release\/production\/2026\.11\.24-1 exists already/);
    assert.equal(read("production"), originals.production);
  });

  /** Runs a release that must be refused: exit code, one line, and no file of the project changed. */
  async function refusedRelease(code: number, args: string[], pattern: RegExp): Promise<void> {
    const before = snapshot(project);
    const run = await release(args);
    assertOneLine(run, code, pattern);
    assert.equal(run.out, "");
    assert.deepEqual(snapshot(project), before, "no file of the project changed");
  }

  describe("bad input is refused with one line and exit 2, nothing written", function () {
    const bad = (stack: string, args: string[], pattern: RegExp) =>
      refusedRelease(2, ["--stack", stack, ...args], pattern);

    it("a tag instead of a digest in production", () =>
      bad(
        "production",
        TAGGED,
        /^release: --image registry\.example\.com\/shop:2026\.11\.24-1: production runs images pinned by digest \(greenlight:requireDigest\), a tag can be moved; use name@sha256:<digest>/,
      ));
    it("latest, anywhere", () =>
      bad(
        "staging",
        ["--release", "2026.11.24-1", "--image", "registry.example.com/shop:latest"],
        /the latest tag moves/,
      ));
    it("an image without a tag (implicitly latest)", () =>
      bad(
        "staging",
        ["--release", "2026.11.24-1", "--image", "registry.example.com/shop"],
        /no tag means latest/,
      ));
    it("latest as a release id", () =>
      bad(
        "staging",
        ["--release", "latest", "--image", "registry.example.com/shop:2026.11.24-1"],
        /--release latest: name the release/,
      ));
    it("a malformed image reference", () =>
      bad(
        "staging",
        ["--release", "2026.11.24-1", "--image", "registry.example.com/shop:v1; rm -rf /"],
        /expected a Docker image reference/,
      ));
    it("an id with shell characters", async () => {
      for (const id of ["2026.11.24-1;rm -rf /", "$(id)", "a b", "`x`", "r|1"]) {
        await bad(
          "production",
          ["--release", id, "--image", NEW_IMAGE],
          /use 1-64 letters, digits, '\.', '_' or '-' \(no spaces or shell characters\)/,
        );
      }
    });
    it("an incomplete emergency override", () =>
      bad(
        "production",
        [
          ...PINNED,
          "--override-reason",
          "checkout answers 500 for EU cards",
          "--override-ticket",
          "INC-2041",
        ],
        /missing --override-approver, --override-expires-at/,
      ));

    const override = [...PINNED, ...OVERRIDE];
    it("an override expiring more than 24 h ahead, or already expired", async () => {
      await bad(
        "production",
        [...override, "--override-expires-at", "2026-11-26T11:00:00Z"],
        /48\.0 h ahead; an override lasts at most 24 h/,
      );
      await bad(
        "production",
        [...override, "--override-expires-at", "2026-11-24T10:00:00Z"],
        /already expired/,
      );
    });
    it("an override expiry without a zone, or on a day that does not exist", async () => {
      await bad(
        "production",
        [...override, "--override-expires-at", "2026-11-24T20:00:00"],
        /^release: --override-expires-at "2026-11-24T20:00:00": expected a zone: add Z for UTC \(2026-11-24T20:00:00Z\)/,
      );
      await bad(
        "production",
        [...override, "--override-expires-at", "2026-02-30T11:00:00Z"],
        /--override-expires-at "2026-02-30T11:00:00Z": expected a date that exists: February 2026 has 28 days/,
      );
    });
    it("--at without a zone, or on a day that does not exist (never March 2)", async () => {
      const args = ["--stack", "staging", ...TAGGED];
      await refusedRelease(
        2,
        [...args, "--at", "2026-12-01T11:00:00"],
        /^release: option '--at <time>' argument '2026-12-01T11:00:00' is invalid\. expected a zone: add Z for UTC \(2026-12-01T11:00:00Z\).*; npm run release -- --help lists the options$/,
      );
      await refusedRelease(
        2,
        [...args, "--at", "2026-02-30T11:00:00Z"],
        /^release: option '--at <time>' argument '2026-02-30T11:00:00Z' is invalid\. expected a date that exists: February 2026 has 28 days;/,
      );
    });
    it("a stack file the project's own parseStackConfig rejects after the change, one line per key", async () => {
      const broken = applyConfigChanges(
        originals.staging,
        { set: { "greenlight:replicas": "0", "greenlight:memoryMb": "8" }, remove: [] },
        "staging",
      );
      fs.writeFileSync(stackFile("staging"), broken);
      const before = snapshot(project);
      const run = await release(["--stack", "staging", ...TAGGED]);
      assertLines(run, 2, [
        /^release: .*Pulumi\.staging\.yaml would not be valid after this release: greenlight:replicas got "0"; expected at least 1 replicas$/,
        /^release: .*Pulumi\.staging\.yaml would not be valid after this release: greenlight:memoryMb got "8"; expected at least 16 MB$/,
      ]);
      assert.deepEqual(snapshot(project), before, "no file of the project changed");
    });
    it("a key in a namespace that looks like ours (did you mean greenlight:…)", async () => {
      const text = read("staging").replace("config:\n", "config:\n  greenlite:memoryMb: 2048\n");
      fs.writeFileSync(stackFile("staging"), text);
      await bad(
        "staging",
        TAGGED,
        /^release: Pulumi\.staging\.yaml: greenlite:memoryMb: the namespace greenlite: is not greenlight's, so the program would never read this key; did you mean greenlight:memoryMb\?$/,
      );
    });
    it("a missing stack file names the file and the project's stacks", () =>
      bad(
        "qa",
        PINNED,
        /Pulumi\.qa\.yaml does not exist: there is no stack "qa" in this project \(its stacks: local, production, staging\); check --stack, or create it with pulumi stack init qa$/,
      ));
    it("a missing Pulumi.yaml names the file and the fix", async () => {
      fs.rmSync(path.join(project, "Pulumi.yaml"));
      await bad(
        "staging",
        TAGGED,
        /Pulumi\.yaml does not exist: run this in the greenlight project, or pass --project-dir <the folder that holds Pulumi\.yaml>$/,
      );
    });
    it("a missing or unknown option: one line naming it", async () => {
      await refusedRelease(
        2,
        ["--stack", "staging", "--image", NEW_IMAGE],
        /^release: required option '--release <id>' not specified; npm run release -- --help lists the options$/,
      );
      await refusedRelease(
        2,
        ["--stack", "staging", "--release", "r1", "--image", NEW_IMAGE, "--dryrun"],
        /^release: unknown option '--dryrun' \(Did you mean --dry-run\?\); npm run release -- --help/,
      );
    });
  });

  describe("refusals by the stack's state: one line, exit 1, nothing written", function () {
    const refused = (stack: string, args: string[], pattern: RegExp) =>
      refusedRelease(1, ["--stack", stack, ...args], pattern);

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
    it("a release while the idle color is the only healthy one (a stack without hosts: both colors probed)", async () => {
      blue.status = 503;
      await refused(
        "local",
        PINNED,
        new RegExp(
          `blue \\(active\\) answered 503 .*but green \\(idle\\) answered 200 .*would overwrite the only healthy color`,
        ),
      );
    });
  });

  describe("--dry-run and --help write nothing", function () {
    it("--dry-run prints the stack file's diff and the tag, and writes nothing", async () => {
      const before = snapshot(project);
      const run = await release([...TO_PRODUCTION, "--git-tag", "--dry-run"]);
      // --git-tag is checked against the project's git work tree: this temporary project is not one.
      assertOneLine(
        run,
        2,
        /--git-tag: .* is not inside a git work tree; run in a clone of the project, or leave out --git-tag$/,
      );
      const dryRun = await release([...TO_PRODUCTION, "--dry-run"]);
      assert.equal(dryRun.code, 0, dryRun.err);
      assert.deepEqual(snapshot(project), before, "nothing written");
      assert.match(
        dryRun.out,
        /^release 2026\.11\.24-1 → production: green gets it .* \(dry run: nothing written\)\n/,
      );
      const diff = dryRun.out.slice(dryRun.out.indexOf("--- a/"), dryRun.out.indexOf("\nhealth:"));
      assert.match(diff, /^--- a\/Pulumi\.production\.yaml\n\+\+\+ b\/Pulumi\.production\.yaml\n@@ /);
      const changed = diff.split("\n").filter((line) => /^[-+] /.test(line));
      assert.deepEqual(changed, [
        "-  greenlight:activeColor: blue",
        "+  greenlight:activeColor: green",
        "-  greenlight:latestColor: blue",
        "+  greenlight:latestColor: green",
        "-  greenlight:greenRelease: 2026.11.18-1",
        "-  greenlight:greenImage: registry.example.com/shop@sha256:9b2e3f1c7a8d4e5f60718293a4b5c6d7e8f9012a3b4c5d6e7f8091a2b3c4d5e6",
        "+  greenlight:greenRelease: 2026.11.24-1",
        `+  greenlight:greenImage: ${NEW_IMAGE}`,
        '+  greenlight:schemaBreaking: "false"',
      ]);
      assert.match(
        dryRun.out,
        /\nno git tag \(--git-tag would commit Pulumi\.production\.yaml and create the annotated tag release\/production\/2026\.11\.24-1\)\n/,
      );
      // The diff is exactly what a real release then writes.
      const real = await release([...TO_PRODUCTION]);
      assert.equal(real.code, 0, real.err);
      const written = read("production").split("\n");
      for (const line of changed.filter((entry) => entry.startsWith("+")))
        assert.ok(written.includes(line.slice(1)), line);
    });

    it("--dry-run --json carries the diff and marks the report as a dry run", async () => {
      const before = snapshot(project);
      const run = await release(["--stack", "staging", ...TAGGED, "--dry-run", "--json"]);
      assert.equal(run.code, 0, run.err);
      assert.deepEqual(snapshot(project), before);
      const report = JSON.parse(run.out);
      assert.equal(report.dryRun, true);
      assert.match(report.diff, /\n\+ {2}greenlight:blueRelease: 2026\.11\.24-1\n/);
      assert.equal(report.color, "blue");
    });

    it("--help prints the options, exits 0 and writes nothing", async () => {
      const before = snapshot(project);
      const run = await release(["--help"]);
      assertHelp(run, "release");
      assert.match(run.out, /--dry-run +print the stack file's diff and the tag, write\s+nothing/);
      assert.deepEqual(snapshot(project), before);
    });
  });

  it("npm run release: bad input exits 2 with one line and no stack trace (the CLI wiring)", function () {
    this.timeout(60_000);
    const before = snapshot(project);
    const cli = runToolScript("release/cli.ts", ["--project-dir", project, "--stack", "qa", ...PINNED]);
    assertOneLine(cli, 2, /^release: .*Pulumi\.qa\.yaml does not exist/);
    assert.deepEqual(snapshot(project), before);
  });
});
