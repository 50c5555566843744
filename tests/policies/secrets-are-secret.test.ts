import { strict as assert } from "assert";
import { RESOURCE } from "../../policies/lib/contract";
import { secretsAreSecret } from "../../policies/secrets-are-secret";
import { resourceArgs, resourceViolations } from "./args";
import { secretInput } from "./release-graph";

const command = (props: Record<string, unknown>, secretAware = true) =>
  resourceArgs(RESOURCE.command, props, { name: "backup-run", secretAware });
const container = (envs: unknown[]) =>
  resourceArgs(RESOURCE.container, { image: "shop", envs }, { name: "service-blue-0", secretAware: true });

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
      const messages = await resourceViolations(secretsAreSecret, command({ create: line }, false));
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
      assert.deepEqual(
        await resourceViolations(secretsAreSecret, command({ create: line }, false)),
        [],
        line,
      );
    }
  });

  it("checks update and delete lines too", async () => {
    const messages = await resourceViolations(
      secretsAreSecret,
      command({ create: "true", update: "PGPASSWORD=x psql", delete: "psql postgres://a:b@db/x" }, false),
    );
    assert.equal(messages.length, 2);
    assert.match(messages[0], /its update line contains a PGPASSWORD= assignment/);
    assert.match(messages[1], /its delete line contains a URL with a password/);
  });

  it("fails a command line that is itself a secret: a secret was interpolated into it", async () => {
    const messages = await resourceViolations(secretsAreSecret, command({ create: secretInput() }));
    assert.deepEqual(messages, [
      "command backup-run (command:local:Command): its create line is a secret, so a secret value was interpolated into the command line, where ps, logs and the state show it; pass it through environment (a secret entry) and read it there.",
    ]);
  });

  it("fails a plaintext environment entry whose name looks secret", async () => {
    const messages = await resourceViolations(
      secretsAreSecret,
      command({ create: "true", environment: { PGPASSWORD: "hunter2", PGHOST: "db" } }),
    );
    assert.deepEqual(messages, [
      "command backup-run (command:local:Command): environment PGPASSWORD looks secret but is plaintext; wrap it with pulumi.secret (or read it from a --secret config key).",
    ]);
  });

  it("fails a plaintext URL with a password under any name", async () => {
    const messages = await resourceViolations(
      secretsAreSecret,
      command({ create: "true", environment: { PRIMARY: "postgres://a:b@db/shop" } }),
    );
    assert.match(messages[0], /environment PRIMARY holds a URL with a password in plaintext/);
  });

  it("accepts a whole environment that is secret", async () => {
    assert.deepEqual(
      await resourceViolations(secretsAreSecret, command({ create: "true", environment: secretInput() })),
      [],
    );
  });

  it("cannot see secretness where the engine unwraps secrets, and then judges only command lines", async () => {
    // The engine's validation path hands plain values: a secret PGPASSWORD and a plaintext one look alike.
    const plain = command({ create: "true", environment: { PGPASSWORD: "hunter2" } }, false);
    assert.deepEqual(await resourceViolations(secretsAreSecret, plain), []);
  });

  it("fails plaintext secret-looking container envs, and passes secret ones", async () => {
    const messages = await resourceViolations(
      secretsAreSecret,
      container([
        "CORS_ORIGIN=https://shop.example.com",
        "SESSION_SECRET=abc",
        secretInput(),
        "DSN=postgres://a:b@db/x",
        "EMPTY_TOKEN=",
      ]),
    );
    assert.deepEqual(messages, [
      "container service-blue-0 (docker:index/container:Container): envs SESSION_SECRET looks secret but is plaintext; set it with pulumi config set --secret greenlight-env:SESSION_SECRET (components keep it secret).",
      "container service-blue-0 (docker:index/container:Container): envs DSN looks secret but is plaintext; set it with pulumi config set --secret greenlight-env:DSN (components keep it secret).",
    ]);
  });

  it("accepts container envs that are secret as a whole", async () => {
    const args = resourceArgs(
      RESOURCE.container,
      { image: "shop", envs: secretInput() },
      { secretAware: true },
    );
    assert.deepEqual(await resourceViolations(secretsAreSecret, args), []);
  });
});
