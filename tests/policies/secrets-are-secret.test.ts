import { strict as assert } from "assert";
import { RESOURCE } from "../../contract/resources";
import { secretsAreSecret } from "../../policies/secrets-are-secret";
import { resourceArgs, resourceViolations } from "./support/args";
import { secretInput } from "./support/release-graph";

const command = (props: Record<string, unknown>) =>
  resourceArgs(RESOURCE.command, props, { name: "backup-run" });

describe("policies/secrets-are-secret", () => {
  it("passes credentials passed as secret environment entries", async () => {
    const props = {
      create: "node bin/greenlight-ops.js backup",
      environment: { PGHOST: "db", PGUSER: "admin", PGPASSWORD: secretInput(), DATABASE_URL: secretInput() },
    };
    assert.deepEqual(await resourceViolations(secretsAreSecret, command(props)), []);
  });

  const COMMAND_LINES: [string, string, RegExp][] = [
    [
      "a connection URL with a password",
      "pg_dump postgres://admin:hunter2@db/shop",
      /contains a URL with a password \(scheme:\/\/user:password@…\)/,
    ],
    ["PGPASSWORD=", "PGPASSWORD=hunter2 pg_dump -h db shop", /contains a PGPASSWORD= assignment/],
    ["--password", "mysqldump --password hunter2 shop", /contains a --password argument/],
    [
      "a libpq password= keyword",
      "psql 'host=db user=admin password=hunter2'",
      /contains a password= connection-string keyword/,
    ],
    [
      "a secret-named variable",
      "SESSION_SECRET=abc node app.js",
      /contains a secret-named variable assigned inline/,
    ],
  ];
  for (const [name, line, message] of COMMAND_LINES) {
    it(`fails ${name} in a command line`, async () => {
      const messages = await resourceViolations(secretsAreSecret, command({ create: line }));
      assert.equal(messages.length, 1, messages.join("\n"));
      assert.match(messages[0], /^command backup-run \(command:local:Command\): its create line /);
      assert.match(messages[0], message);
    });
  }

  it("accepts a command line that only reads a secret from the environment", async () => {
    for (const line of [
      'PGPASSWORD="$DB_PASSWORD" pg_dump shop',
      "pg_dump --password-file /run/secret shop",
      "psql postgres://admin@db/shop",
    ]) {
      assert.deepEqual(await resourceViolations(secretsAreSecret, command({ create: line })), [], line);
    }
  });

  it("checks update and delete lines too", async () => {
    const messages = await resourceViolations(
      secretsAreSecret,
      command({ create: "true", update: "PGPASSWORD=x psql", delete: "psql postgres://a:b@db/x" }),
    );
    assert.equal(messages.length, 2);
    assert.match(messages[0], /its update line contains a PGPASSWORD= assignment/);
    assert.match(messages[1], /its delete line contains a URL with a password/);
  });

  it("judges only command lines: secrets arrive unwrapped, so a policy cannot tell them from plaintext", async () => {
    // The engine's validation path hands plain values (pulumi-policy server.ts deserializeProperties(…,
    // false)): a secret PGPASSWORD and a plaintext one look alike, and container envs are not judged.
    // tests/components/secrets.test.ts proves on the program's graph that they are secrets.
    const plain = command({ create: "true", environment: { PGPASSWORD: "hunter2" } });
    assert.deepEqual(await resourceViolations(secretsAreSecret, plain), []);
    const envs = resourceArgs(RESOURCE.container, { image: "shop", envs: ["SESSION_SECRET=abc"] });
    assert.deepEqual(await resourceViolations(secretsAreSecret, envs), []);
  });

  it("judges step commands that run on a host the same way", async () => {
    const remote = resourceArgs(
      RESOURCE.remoteCommand,
      { create: "pg_dump postgres://a:b@db/x" },
      { name: "gate" },
    );
    const messages = await resourceViolations(secretsAreSecret, remote);
    assert.match(
      messages[0],
      /^command gate \(command:remote:Command\): its create line contains a URL with a password/,
    );
  });
});
