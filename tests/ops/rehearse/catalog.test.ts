import { strict as assert } from "assert";
import { Client } from "pg";
import { readSchema } from "../../../ops/rehearse/catalog";
import { classifySchemaChange } from "../../../ops/rehearse/classify";
import { PgCluster, startPostgres } from "../../support/postgres";
import { needService } from "../../support/service";

// The schema the release before the migration runs on: what each case below changes.
const BASE_SCHEMA = `
  CREATE TYPE order_channel AS ENUM ('web', 'phone');
  CREATE SEQUENCE invoice_numbers;
  CREATE TABLE customers (id bigserial PRIMARY KEY, name text NOT NULL);
  CREATE TABLE orders (
    id bigserial PRIMARY KEY,
    customer text NOT NULL,
    note varchar(200),
    total_cents integer NOT NULL,
    weight_grams integer,
    status text NOT NULL DEFAULT 'new',
    channel order_channel NOT NULL DEFAULT 'web'
  );
  CREATE INDEX orders_customer ON orders (customer);
  CREATE VIEW order_summary AS SELECT customer, total_cents FROM orders;
  CREATE FUNCTION order_total(order_id bigint) RETURNS integer LANGUAGE sql
    AS 'SELECT total_cents FROM orders WHERE id = order_id';
  INSERT INTO orders (customer, note, total_cents) VALUES ('ada', 'first', 1200), ('bob', NULL, 300);
`;

/** A migration, as SQL, and what the classification must say of it. */
interface Case {
  title: string;
  migration: string;
  classification: "additive" | "breaking";
  /** "<effect> <change> <object> <name>" of each change, in the classification's order. */
  changes: string[];
}

const CASES: Case[] = [
  {
    title: "dropped table",
    migration: "DROP TABLE customers",
    classification: "breaking",
    // Its serial's sequence goes with it.
    changes: ["breaking dropped sequence public.customers_id_seq", "breaking dropped table public.customers"],
  },
  {
    title: "renamed table",
    migration: "ALTER TABLE customers RENAME TO clients",
    classification: "breaking",
    changes: ["breaking renamed table public.customers"],
  },
  {
    title: "dropped column",
    migration: "DROP VIEW order_summary; ALTER TABLE orders DROP COLUMN status",
    classification: "breaking",
    changes: ["breaking dropped column public.orders.status", "breaking dropped view public.order_summary"],
  },
  {
    title: "renamed column",
    migration: "ALTER TABLE orders RENAME COLUMN status TO state",
    classification: "breaking",
    changes: ["breaking renamed column public.orders.status"],
  },
  {
    title: "dropped view",
    migration: "DROP VIEW order_summary",
    classification: "breaking",
    changes: ["breaking dropped view public.order_summary"],
  },
  {
    title: "dropped enum value (type swap)",
    migration: `
      CREATE TYPE order_channel_new AS ENUM ('web');
      ALTER TABLE orders ALTER COLUMN channel DROP DEFAULT;
      ALTER TABLE orders ALTER COLUMN channel TYPE order_channel_new USING channel::text::order_channel_new;
      ALTER TABLE orders ALTER COLUMN channel SET DEFAULT 'web';
      DROP TYPE order_channel;
      ALTER TYPE order_channel_new RENAME TO order_channel`,
    classification: "breaking",
    changes: ["breaking dropped enum value public.order_channel.'phone'"],
  },
  {
    title: "narrowed type",
    migration: "ALTER TABLE orders ALTER COLUMN note TYPE varchar(50)",
    classification: "breaking",
    changes: ["breaking changed column public.orders.note"],
  },
  {
    title: "NOT NULL without a default",
    migration:
      "UPDATE orders SET note = '' WHERE note IS NULL; ALTER TABLE orders ALTER COLUMN note SET NOT NULL",
    classification: "breaking",
    changes: ["breaking changed column public.orders.note"],
  },
  {
    title: "dropped function",
    migration: "DROP FUNCTION order_total(bigint)",
    classification: "breaking",
    changes: ["breaking dropped function public.order_total(order_id bigint)"],
  },
  {
    title: "new nullable column, new table, new index",
    migration: `
      ALTER TABLE orders ADD COLUMN gift_note text;
      CREATE TABLE coupons (code text PRIMARY KEY, cents integer NOT NULL);
      CREATE INDEX orders_total ON orders (total_cents)`,
    classification: "additive",
    changes: [
      "additive added column public.orders.gift_note",
      "additive added index public.orders_total",
      "additive added table public.coupons",
    ],
  },
  {
    title: "new defaulted NOT NULL column, widened type, new enum value",
    migration: `
      ALTER TABLE orders ADD COLUMN priority integer NOT NULL DEFAULT 0;
      ALTER TABLE orders ALTER COLUMN note TYPE varchar(500);
      ALTER TABLE orders ALTER COLUMN weight_grams TYPE bigint;
      ALTER TYPE order_channel ADD VALUE 'app'`,
    classification: "additive",
    changes: [
      "additive added column public.orders.priority",
      "additive added enum value public.order_channel.'app'",
      "additive changed column public.orders.note",
      "additive changed column public.orders.weight_grams",
    ],
  },
];

describe("rehearse: the catalog of a real PostgreSQL 15, before and after each kind of migration", function () {
  this.timeout(120_000);
  let pg: PgCluster;

  before(async function () {
    pg = await needService(this, "PostgreSQL 15", startPostgres);
    await pg.query("CREATE DATABASE catalog_base");
    await pg.query(BASE_SCHEMA, [], "catalog_base");
  });
  after(async () => {
    await pg?.stop();
  });

  for (const [index, item] of CASES.entries()) {
    it(`${item.title}: ${item.classification}, naming ${item.changes.map((line) => line.slice(line.indexOf(" public.") + 1)).join(", ")}`, async () => {
      const database = `catalog_case_${index}`;
      await pg.query(`CREATE DATABASE ${database} TEMPLATE catalog_base`);
      const client = new Client({ connectionString: pg.url(database) });
      await client.connect();
      try {
        const before = await readSchema(client);
        // The migration in its own session, as the release's container runs it (the reader pins its search_path).
        await pg.query(item.migration, [], database);
        const schema = classifySchemaChange(before, await readSchema(client));
        const lines = schema.changes.map(
          (change) => `${change.effect} ${change.change} ${change.object} ${change.name}`,
        );
        assert.deepEqual(
          [...lines].sort(),
          [...item.changes].sort(),
          `the changes of "${item.migration.trim()}"`,
        );
        assert.equal(schema.classification, item.classification);
      } finally {
        await client.end();
        await pg.query(`DROP DATABASE ${database}`);
      }
    });
  }
});
