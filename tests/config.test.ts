import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseDocument } from "yaml";
import { ConfigError, parseStackConfig } from "../schema/parse";
import { ConfigOverride, applyOverrides, readStackConfig } from "../tools/harness/stack-file";
import { EXIT, plan } from "../tools/plan";

const PROJECT_DIR = path.join(__dirname, "..");
const NOW = new Date("2026-11-25T11:00:00Z");

interface BadCase {
  title: string;
  stack: "local" | "staging" | "production";
  overrides: Record<string, ConfigOverride>;
  /** Every key the error must name. */
  keys: string[];
  /** Text the message must contain for the first key. */
  expect: RegExp;
}

const BAD_CASES: BadCase[] = [
  {
    title: "an image delivery that is neither registry nor ssh",
    stack: "production",
    overrides: { "greenlight:imageDelivery": "scp" },
    keys: ["greenlight:imageDelivery"],
    expect: /expected registry or ssh/,
  },
  {
    title: "ssh delivery without hosts: this machine holds the images already",
    stack: "local",
    overrides: { "greenlight:imageDelivery": "ssh" },
    keys: ["greenlight:imageDelivery"],
    expect: /expected greenlight:hosts: ssh delivery sends images to the hosts/,
  },
  {
    title: "registry credentials with ssh delivery: no host pulls",
    stack: "staging",
    overrides: {
      "greenlight:registryServer": "registry.example.com",
      "greenlight:registryUser": "deploy",
      "greenlight:registryPassword": { secret: "registry-token" },
    },
    keys: ["greenlight:registryServer"],
    expect: /expected no registry credentials with greenlight:imageDelivery ssh/,
  },
  {
    title: "canary steps that do not ascend to 100",
    stack: "local",
    overrides: { "greenlight:trafficSteps": [50, 10] },
    keys: ["greenlight:trafficSteps"],
    expect: /got "\[50,10\]"; expected percentages from 1 to 100, strictly ascending, the last one 100/,
  },
  {
    title: "a canary step that is not a percentage",
    stack: "local",
    overrides: { "greenlight:trafficSteps": ["ten", 100] },
    keys: ["greenlight:trafficSteps"],
    expect: /expected a whole percentage from 1 to 100/,
  },
  {
    title: "a canary error-rate margin above 100 points",
    stack: "local",
    overrides: { "greenlight:canaryErrorRatePoints": 150 },
    keys: ["greenlight:canaryErrorRatePoints"],
    expect: /got "150"; expected at most 100 percentage points/,
  },
  {
    title: "a negative canary p95 margin, and a p95 floor above a minute",
    stack: "local",
    overrides: { "greenlight:canaryP95MarginPercent": -5, "greenlight:canaryP95FloorMs": 70000 },
    keys: ["greenlight:canaryP95MarginPercent", "greenlight:canaryP95FloorMs"],
    expect: /got "-5"; expected at least 0 percent/,
  },
  {
    title: "a preview without a preview port",
    stack: "local",
    overrides: { "greenlight:promote": "false" },
    keys: ["greenlight:previewPort"],
    expect: /expected a port for the preview front: greenlight:promote is false/,
  },
  {
    title: "a preview port that is the proxy's port",
    stack: "local",
    overrides: { "greenlight:previewPort": "18080" },
    keys: ["greenlight:previewPort"],
    expect: /expected a port other than greenlight:proxyPort \(18080\)/,
  },
  {
    title: "unknown color",
    stack: "local",
    overrides: { "greenlight:activeColor": "purple" },
    keys: ["greenlight:activeColor"],
    expect: /expected blue or green/,
  },
  {
    title: "both colors on the same release",
    stack: "local",
    overrides: { "greenlight:greenRelease": "v1" },
    keys: ["greenlight:greenRelease"],
    expect: /different from blueRelease \(v1\)/,
  },
  {
    title: "missing image",
    stack: "local",
    overrides: { "greenlight:greenImage": null },
    keys: ["greenlight:greenImage"],
    expect: /\(not set\); expected a value/,
  },
  {
    title: "tag instead of digest in production",
    stack: "production",
    overrides: { "greenlight:blueImage": "registry.example.com/shop:2026.11.20-2" },
    keys: ["greenlight:blueImage"],
    expect: /pinned by digest/,
  },
  {
    title: "a tag on a stack that requires digests, whatever its name",
    stack: "staging",
    overrides: { "greenlight:requireDigest": true },
    // The ops image's base too: the image built from it receives the admin secrets.
    keys: ["greenlight:blueImage", "greenlight:greenImage", "greenlight:opsBaseImage"],
    expect: /greenlight:requireDigest is true on this stack/,
  },
  {
    title: "latest in production",
    stack: "production",
    overrides: { "greenlight:greenImage": "registry.example.com/shop:latest" },
    keys: ["greenlight:greenImage"],
    expect: /pinned by digest/,
  },
  {
    title: "release id with a semicolon",
    stack: "local",
    overrides: { "greenlight:blueRelease": "v1; rm -rf /" },
    keys: ["greenlight:blueRelease"],
    expect: /no spaces or shell characters/,
  },
  {
    title: "release id with $(id)",
    stack: "local",
    overrides: { "greenlight:greenRelease": "$(id)" },
    keys: ["greenlight:greenRelease"],
    expect: /release id/,
  },
  {
    title: "release id with backticks",
    stack: "local",
    overrides: { "greenlight:greenRelease": "`id`" },
    keys: ["greenlight:greenRelease"],
    expect: /release id/,
  },
  {
    title: "release id with a space",
    stack: "local",
    overrides: { "greenlight:greenRelease": "v 2" },
    keys: ["greenlight:greenRelease"],
    expect: /release id/,
  },
  {
    title: "release id with a newline",
    stack: "local",
    overrides: { "greenlight:greenRelease": "v2\nv3" },
    keys: ["greenlight:greenRelease"],
    expect: /release id/,
  },
  {
    title: "zero guard duration",
    stack: "local",
    overrides: { "greenlight:guardDurationSeconds": 0 },
    keys: ["greenlight:guardDurationSeconds"],
    expect: /at least 1 seconds/,
  },
  {
    title: "negative guard duration",
    stack: "local",
    overrides: { "greenlight:guardDurationSeconds": -30 },
    keys: ["greenlight:guardDurationSeconds"],
    expect: /at least 1 seconds/,
  },
  {
    title: "error-rate threshold above 100 %",
    stack: "local",
    overrides: { "greenlight:guardErrorRatePercent": 150 },
    keys: ["greenlight:guardErrorRatePercent"],
    expect: /at most 100 percent/,
  },
  {
    title: "error-rate threshold of 0 %",
    stack: "local",
    overrides: { "greenlight:guardErrorRatePercent": 0 },
    keys: ["greenlight:guardErrorRatePercent"],
    expect: /at least 1 percent/,
  },
  {
    title: "malformed override expiry",
    stack: "production",
    overrides: {
      "greenlight:overrideReason": "payment outage INC-7",
      "greenlight:overrideApprover": "oncall-ana",
      "greenlight:overrideTicket": "INC-7",
      "greenlight:overrideExpiresAt": "tomorrow noon",
    },
    keys: ["greenlight:overrideExpiresAt"],
    expect: /ISO-8601 time with a zone/,
  },
  {
    title: "override expiring more than 24 h ahead",
    stack: "production",
    overrides: {
      "greenlight:overrideReason": "payment outage INC-7",
      "greenlight:overrideApprover": "oncall-ana",
      "greenlight:overrideTicket": "INC-7",
      "greenlight:overrideExpiresAt": "2026-11-27T11:00:00Z",
    },
    keys: ["greenlight:overrideExpiresAt"],
    expect: /at most 24 h after .* \(it is 48\.0 h ahead\)/,
  },
  {
    title: "override without approver",
    stack: "production",
    overrides: {
      "greenlight:overrideReason": "payment outage INC-7",
      "greenlight:overrideTicket": "INC-7",
      "greenlight:overrideExpiresAt": "2026-11-25T18:00:00Z",
    },
    keys: ["greenlight:overrideApprover"],
    expect: /reason, approver, ticket and expiresAt together/,
  },
  {
    title: "plaintext password",
    stack: "local",
    overrides: { "greenlight:appPassword": "hunter2" },
    keys: ["greenlight:appPassword"],
    expect: /got \[hidden\]; expected a secret, not plaintext; fix: pulumi config set --secret/,
  },
  {
    title: "plaintext secret environment variable",
    stack: "local",
    overrides: { "greenlight-env:SESSION_SECRET": "abc" },
    keys: ["greenlight-env:SESSION_SECRET"],
    expect: /expected a secret/,
  },
  {
    title: "a secret-looking environment variable not listed in secretEnv",
    stack: "local",
    overrides: { "greenlight-env:API_TOKEN": { secret: "t0ken" } },
    keys: ["greenlight-env:API_TOKEN"],
    expect: /add API_TOKEN to greenlight:secretEnv and set it with pulumi config set --secret/,
  },
  {
    title: "a secretEnv name without a value",
    stack: "staging",
    overrides: { "greenlight:secretEnv": ["SESSION_SECRET", "STRIPE_KEY"] },
    keys: ["greenlight:secretEnv"],
    expect: /expected greenlight-env:STRIPE_KEY to be set/,
  },
  {
    title: "an encrypted environment variable not listed in secretEnv",
    stack: "local",
    overrides: { "greenlight-env:FEATURE_NEW_CHECKOUT": { secret: "true" } },
    keys: ["greenlight-env:FEATURE_NEW_CHECKOUT"],
    expect: /it is encrypted, and unlisted values are read as plaintext/,
  },
  {
    title: "a typo in a key",
    stack: "local",
    overrides: { "greenlight:guardDurationSecond": 30 },
    keys: ["greenlight:guardDurationSecond"],
    expect: /did you mean greenlight:guardDurationSeconds\?/,
  },
  {
    title: "an unknown key",
    stack: "staging",
    overrides: { "greenlight:colour": "blue" },
    keys: ["greenlight:colour"],
    expect: /expected a known key/,
  },
  {
    title: "a color port that clashes with the proxy",
    stack: "local",
    overrides: { "greenlight:greenPort": 18080 },
    keys: ["greenlight:greenPort"],
    expect: /not to overlap proxyPort/,
  },
  {
    title: "replica ports that overlap the other color",
    stack: "local",
    overrides: { "greenlight:replicas": 12 },
    keys: ["greenlight:greenPort"],
    expect: /18091-18102 not to overlap bluePort \(18081-18092\)/,
  },
  {
    title: "a port out of range",
    stack: "local",
    overrides: { "greenlight:proxyPort": 70000 },
    keys: ["greenlight:proxyPort"],
    expect: /at most 65535/,
  },
  {
    title: "a required environment variable that is not set",
    stack: "staging",
    overrides: { "greenlight-env:CORS_ORIGIN": null },
    keys: ["greenlight:requiredEnv"],
    expect: /missing CORS_ORIGIN/,
  },
  {
    title: "a malformed smoke check",
    stack: "local",
    overrides: { "greenlight:smokeChecks": ["GET / 200"] },
    keys: ["greenlight:smokeChecks"],
    expect: /item 0: expected '<path> <status>/,
  },
  {
    title: "a migration command with shell characters",
    stack: "local",
    overrides: { "greenlight:migrationCommand": ["sh", "-c", "rails db:migrate && rm -rf /"] },
    keys: ["greenlight:migrationCommand"],
    expect: /without spaces, quotes or shell characters/,
  },
  {
    title: "a database name that needs quoting",
    stack: "local",
    overrides: { "greenlight:dbName": "shop; DROP TABLE orders" },
    keys: ["greenlight:dbName"],
    expect: /PostgreSQL identifier/,
  },
  {
    title: "a health gate that can never pass",
    stack: "local",
    overrides: { "greenlight:gateDeadlineSeconds": 5, "greenlight:gateAttempts": 10 },
    keys: ["greenlight:gateDeadlineSeconds"],
    expect: /or the gate can never pass/,
  },
  {
    title: "a boolean that is not one",
    stack: "local",
    overrides: { "greenlight:schemaBreaking": "yes" },
    keys: ["greenlight:schemaBreaking"],
    expect: /expected true or false/,
  },
  {
    title: "a migration time limit of zero, and a negative lock threshold",
    stack: "local",
    overrides: { "greenlight:maxMigrationSeconds": 0, "greenlight:migrationLargeTableMb": -1 },
    keys: ["greenlight:maxMigrationSeconds", "greenlight:migrationLargeTableMb"],
    expect: /^greenlight:maxMigrationSeconds: got "0"; expected at least 1 seconds$/,
  },
  {
    title: "a missing required secret",
    stack: "production",
    overrides: { "greenlight:migratorPassword": null },
    keys: ["greenlight:migratorPassword"],
    expect: /expected a value/,
  },
  {
    title: "production connecting to PostgreSQL in clear",
    stack: "production",
    overrides: { "greenlight:dbSslMode": "disable", "greenlight:dbSslRootCert": null },
    keys: ["greenlight:dbSslMode"],
    expect:
      /got "disable"; expected verify-full \(or verify-ca\) on stack production: disable may connect without TLS.*fix: pulumi config set greenlight:dbSslMode verify-full/,
  },
  {
    title: "production with prefer, which falls back to plaintext",
    stack: "production",
    overrides: { "greenlight:dbSslMode": "prefer" },
    keys: ["greenlight:dbSslMode"],
    expect: /got "prefer"; expected verify-full .*in clear/,
  },
  {
    title: "production with require, which never checks who answers",
    stack: "production",
    overrides: { "greenlight:dbSslMode": "require" },
    keys: ["greenlight:dbSslMode"],
    expect: /got "require"; expected verify-full .*pose as the server/,
  },
  {
    title: "production without the database's CA (verify-full is its default)",
    stack: "production",
    overrides: { "greenlight:dbSslMode": null, "greenlight:dbSslRootCert": null },
    keys: ["greenlight:dbSslRootCert"],
    expect:
      /\(not set\); expected the CA certificate .* dbSslMode verify-full .*fix: pulumi config set greenlight:dbSslRootCert/,
  },
  {
    title: "staging connecting to PostgreSQL in clear",
    stack: "staging",
    overrides: { "greenlight:dbSslMode": "allow" },
    keys: ["greenlight:dbSslMode"],
    expect: /got "allow"; expected require, verify-ca or verify-full on stack staging/,
  },
  {
    title: "a database CA that is not a certificate",
    stack: "production",
    overrides: {
      "greenlight:dbSslRootCert":
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
    },
    keys: ["greenlight:dbSslRootCert"],
    expect: /expected certificate 1 to be X\.509 PEM/,
  },
  {
    title: "a database CA file that does not exist",
    stack: "production",
    overrides: { "greenlight:dbSslRootCert": "certs/no-such-ca.pem" },
    keys: ["greenlight:dbSslRootCert"],
    expect:
      /got "certs\/no-such-ca\.pem"; expected PEM text or the path of a PEM file .*no file certs\/no-such-ca\.pem/,
  },
  {
    title: "an unknown sslmode",
    stack: "local",
    overrides: { "greenlight:dbSslMode": "verify" },
    keys: ["greenlight:dbSslMode"],
    expect: /expected a libpq sslmode: disable, allow, prefer, require, verify-ca, verify-full/,
  },
  {
    title: "an object-lock mode without object lock",
    stack: "staging",
    overrides: { "greenlight:backupObjectLockMode": "COMPLIANCE" },
    keys: ["greenlight:backupObjectLockMode"],
    expect: /expected no object-lock mode without greenlight:backupObjectLockDays/,
  },
  {
    title: "the ops image's base by a tag where images must be pinned",
    stack: "production",
    overrides: { "greenlight:opsBaseImage": "node:22-bookworm-slim" },
    keys: ["greenlight:opsBaseImage"],
    expect: /got "node:22-bookworm-slim"; expected the ops image's base pinned by digest/,
  },
];

function parse(stack: string, overrides: Record<string, ConfigOverride>) {
  const base = readStackConfig(PROJECT_DIR, stack);
  const merged = applyOverrides(base, overrides);
  return parseStackConfig({ stack, values: merged.config, secretKeys: new Set(merged.secretKeys), now: NOW });
}

function expectConfigError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  assert.fail("expected a ConfigError");
}

/** A copy of a stack file with some keys changed, written where `plan --stack-file` can read it. */
function writeStackFile(dir: string, stack: string, overrides: Record<string, ConfigOverride>): string {
  const document = parseDocument(fs.readFileSync(path.join(PROJECT_DIR, `Pulumi.${stack}.yaml`), "utf8"));
  for (const [key, value] of Object.entries(overrides)) {
    if (value === null) document.deleteIn(["config", key]);
    else if (typeof value === "object" && !Array.isArray(value))
      document.setIn(["config", key], document.createNode({ secure: "v1:AAAA:placeholder" }));
    else document.setIn(["config", key], document.createNode(value));
  }
  const file = path.join(dir, `Pulumi.${stack}.${Math.random().toString(36).slice(2)}.yaml`);
  fs.writeFileSync(file, document.toString());
  return file;
}

describe("stack config", () => {
  it("accepts every committed stack file", () => {
    for (const stack of ["local", "staging", "production"]) {
      const settings = parse(stack, {});
      assert.equal(settings.stack, stack);
      assert.notEqual(settings.colors.blue.release, settings.colors.green.release);
    }
  });

  it("fills defaults and derived values", () => {
    const local = parse("local", {});
    assert.equal(local.app.port, 3000);
    assert.equal(local.app.healthPath, "/health");
    assert.equal(local.app.readinessPath, "/health/ready");
    assert.equal(local.traffic.guard.errorRatePercent, 5);
    assert.equal(local.traffic.guard.p95Ms, 2000);
    assert.deepEqual(local.traffic.canaryMargins, { errorRatePoints: 1, p95Percent: 50, p95FloorMs: 25 });
    assert.equal(local.database.migratorRole, "shop_migrator");
    assert.equal(local.database.appRole, "shop_app");
    assert.equal(local.database.appHost, "127.0.0.1");
    assert.equal(local.idleColor, "green");
    assert.equal(local.traffic.stateDir, ".greenlight/local");
    assert.deepEqual(local.app.smokeChecks[0], { path: "/", status: 200, text: "release", maxMs: 2000 });
    assert.deepEqual(local.app.env, { FEATURE_NEW_CHECKOUT: "false" });
    assert.deepEqual(Object.keys(local.secrets.env), ["SESSION_SECRET"]);
    assert.equal(parse("production", {}).backup.restoreDrill, true);
    // Unset, the drill runs (its default is true whatever the stack is called).
    assert.equal(parse("staging", { "greenlight:restoreDrill": null }).backup.restoreDrill, true);
    // Protection and digest pinning are what a stack's file says, not what the stack is called.
    assert.deepEqual([parse("production", {}).protect, parse("production", {}).requireDigest], [true, true]);
    assert.deepEqual([parse("staging", {}).protect, parse("staging", {}).requireDigest], [false, false]);
  });

  it("accepts a complete override that expires within 24 h", () => {
    const settings = parse("production", {
      "greenlight:overrideReason": "payment outage INC-7",
      "greenlight:overrideApprover": "oncall-ana",
      "greenlight:overrideTicket": "INC-7",
      "greenlight:overrideExpiresAt": "2026-11-25T18:00:00+01:00",
    });
    assert.deepEqual(settings.override, {
      reason: "payment outage INC-7",
      approver: "oncall-ana",
      ticket: "INC-7",
      expiresAt: "2026-11-25T17:00:00.000Z",
    });
  });

  it("lists every bad key in one error", () => {
    const error = expectConfigError(() =>
      parse("production", {
        "greenlight:activeColor": "purple",
        "greenlight:blueImage": "registry.example.com/shop:latest",
        "greenlight:appPassword": "hunter2",
        "greenlight:replica": 2,
      }),
    );
    assert.deepEqual(error.problems.map((problem) => problem.key).sort(), [
      "greenlight:activeColor",
      "greenlight:appPassword",
      "greenlight:blueImage",
      "greenlight:replica",
    ]);
    assert.match(error.message, /Invalid config for stack "production" \(4 problems\)/);
    assert.ok(!error.message.includes("hunter2"));
  });

  describe(`refuses ${BAD_CASES.length} bad configurations, naming the key`, () => {
    for (const badCase of BAD_CASES) {
      it(badCase.title, () => {
        const error = expectConfigError(() => parse(badCase.stack, badCase.overrides));
        assert.deepEqual(
          error.problems.map((problem) => problem.key).sort(),
          [...badCase.keys].sort(),
          error.message,
        );
        const first = error.problems.find((problem) => problem.key === badCase.keys[0]);
        assert.match(`${first?.key}: got ${first?.received}; ${first?.expected}`, badCase.expect);
      });
    }
  });

  describe("npm run plan exits 2 for each, before registering a resource", function () {
    this.timeout(300_000);
    let dir: string;
    const results = new Map<string, { code: number; stderr: string; stdout: string }>();

    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-badconfig-"));
      const queue = [...BAD_CASES];
      // Two at a time: each plan runs the program in its own process.
      await Promise.all(
        [0, 1].map(async () => {
          for (let badCase = queue.shift(); badCase; badCase = queue.shift()) {
            let stdout = "";
            let stderr = "";
            const code = await plan(
              {
                stack: badCase.stack,
                stackFile: writeStackFile(dir, badCase.stack, badCase.overrides),
                at: NOW,
                json: true,
                preview: false,
              },
              (text) => (stdout += text),
              (text) => (stderr += text),
            );
            results.set(badCase.title, { code, stderr, stdout });
          }
        }),
      );
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    for (const badCase of BAD_CASES) {
      it(badCase.title, () => {
        const result = results.get(badCase.title);
        assert.ok(result);
        assert.equal(result.code, EXIT.usage, result.stderr);
        assert.equal(result.stdout, "", "no resource graph is printed");
        // Named by the program's parser ("greenlight:k: got …") or, for what Pulumi.yaml declares, by
        // the CLI's own rule first ("Stack 's' is missing configuration value 'k'").
        for (const key of badCase.keys)
          assert.ok(
            result.stderr.includes(`${key}: got`) || result.stderr.includes(`'${key.split(":")[1]}'`),
            `${key} not named in: ${result.stderr}`,
          );
      });
    }
  });
});
