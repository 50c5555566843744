// No secret reaches a step's stdout or stderr (ops/lib/redact.ts): the secret variables a step receives,
// in every form they may be printed in, are replaced in everything the CLI writes, output that arrives in
// pieces included.
import { strict as assert } from "assert";
import { lines, redact, redactProcessOutput, secretValues } from "../../../ops/lib/redact";

const ENV = {
  PGPASSWORD: "pg-Secret/4711",
  DATABASE_URL: "postgresql://shop_migrator:m%40gr8-pass@db.internal:5432/shop",
  AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG",
  GREENLIGHT_WEBHOOK_URL: "https://hooks.example.com/services/T000/B000/XXXXSECRET",
  PGUSER: "greenlight_admin",
  GREENLIGHT_RELEASE: "v1",
  SHORT_TOKEN: "abc",
};

describe("ops/lib/redact: no secret in a step's output", () => {
  it("finds the secret variables and the forms they print in: as given, URL-encoded, a URL's password decoded", () => {
    const secrets = secretValues(ENV);
    for (const value of [
      "pg-Secret/4711",
      encodeURIComponent("pg-Secret/4711"),
      ENV.DATABASE_URL,
      "m%40gr8-pass",
      "m@gr8-pass",
      "wJalrXUtnFEMI/K7MDENG",
      ENV.GREENLIGHT_WEBHOOK_URL,
    ])
      assert.ok(secrets.includes(value), value);
    assert.ok(!secrets.includes("greenlight_admin") && !secrets.includes("v1"), "plain variables stay");
    assert.ok(!secrets.includes("abc"), "values shorter than 4 characters are not searched for");
    assert.equal(
      redact(
        `connect ${ENV.DATABASE_URL} failed; password m@gr8-pass; key ${ENV.AWS_SECRET_ACCESS_KEY}`,
        secrets,
      ),
      "connect [secret] failed; password [secret]; key [secret]",
    );
  });

  it("redacts everything written to stdout and stderr while a step runs, and restores the streams after", () => {
    const written: string[] = [];
    const original = process.stderr.write;
    process.stderr.write = ((chunk: string) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      const restore = redactProcessOutput(ENV);
      process.stderr.write(`backup: pg_dump: password pg-Secret/4711 refused\n`);
      process.stderr.write(Buffer.from(`notify: ${ENV.GREENLIGHT_WEBHOOK_URL} did not answer\n`));
      restore();
      process.stderr.write("after: pg-Secret/4711\n");
    } finally {
      process.stderr.write = original;
    }
    assert.deepEqual(written, [
      "backup: pg_dump: password [secret] refused\n",
      "notify: [secret] did not answer\n",
      "after: pg-Secret/4711\n",
    ]);
  });

  it("joins a child's output into lines, so a secret split across two chunks is still found", () => {
    const secrets = secretValues(ENV);
    const out: string[] = [];
    const buffer = lines((line) => out.push(redact(line, secrets)));
    buffer.push("connecting with pg-Sec");
    buffer.push(Buffer.from("ret/4711\nsecond line\npartial"));
    buffer.flush();
    assert.deepEqual(out, ["connecting with [secret]", "second line", "partial"]);
  });
});
