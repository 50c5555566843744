import { strict as assert } from "assert";
import { databaseUrl } from "../../components/database-url";
import { DATABASE_CA_FILE } from "../../contract/database-tls";

describe("components/database-url: the DATABASE_URL of the app and of the migration", () => {
  it("encodes the connection string, password included, with sslmode when set (it only ever travels as a secret)", () => {
    assert.equal(
      databaseUrl(
        { host: "db.internal", port: 5432, database: "shop", user: "shop_migrator" },
        "p@ss/word#1",
      ),
      "postgresql://shop_migrator:p%40ss%2Fword%231@db.internal:5432/shop",
    );
    assert.match(
      databaseUrl({ host: "h", port: 1, database: "d", user: "u", sslmode: "require" }, "x"),
      /\/d\?sslmode=require$/,
    );
  });

  it("names the CA file greenlight puts in the container when there is one, as libpq and node-postgres read it", () => {
    const url = databaseUrl(
      {
        host: "db.internal",
        port: 5432,
        database: "shop",
        user: "shop_app",
        sslmode: "verify-full",
        withRootCert: true,
      },
      "pw",
    );
    assert.equal(
      url,
      "postgresql://shop_app:pw@db.internal:5432/shop?sslmode=verify-full&sslrootcert=%2Fetc%2Fgreenlight%2Fdb-ca.pem",
    );
    assert.equal(new URL(url).searchParams.get("sslrootcert"), DATABASE_CA_FILE);
  });
});
