import { strict as assert } from "assert";
import { SchemaSnapshot, ColumnInfo, RelationInfo } from "../../../ops/rehearse/catalog";
import { classifySchemaChange } from "../../../ops/rehearse/classify";
import { copyUrl } from "../../../ops/rehearse";
import { judgeRehearsal, RehearsalOutcome } from "../../../ops/rehearse/verdict";
import { isWidening } from "../../../ops/rehearse/widening";

const column = (attnum: number, name: string, type: string, extra: Partial<ColumnInfo> = {}): ColumnInfo => ({
  attnum,
  name,
  type,
  notNull: false,
  default: null,
  generated: false,
  identity: false,
  ...extra,
});

const ORDERS: RelationInfo = {
  oid: "16400",
  schema: "public",
  name: "orders",
  kind: "table",
  definition: null,
  columns: [
    column(1, "id", "bigint", { notNull: true, default: "nextval('orders_id_seq'::regclass)" }),
    column(2, "customer", "text", { notNull: true }),
    column(3, "total_cents", "integer", { notNull: true }),
    column(4, "status", "text", { notNull: true, default: "'new'::text" }),
  ],
};

const BASE: SchemaSnapshot = {
  relations: [
    ORDERS,
    {
      oid: "16500",
      schema: "public",
      name: "order_summary",
      kind: "view",
      definition: " SELECT orders.customer, orders.total_cents FROM orders;",
      columns: [column(1, "customer", "text"), column(2, "total_cents", "integer")],
    },
  ],
  constraints: [
    { relationOid: "16400", name: "orders_pkey", type: "p", definition: "PRIMARY KEY (id)", columns: [1] },
  ],
  indexes: [
    {
      relationOid: "16400",
      schema: "public",
      name: "orders_created",
      unique: false,
      definition: "CREATE INDEX orders_created ON public.orders USING btree (customer)",
      columns: [2],
    },
  ],
  functions: [{ schema: "public", name: "order_total", args: "order_id bigint", result: "integer" }],
  sequences: [{ schema: "public", name: "orders_id_seq", type: "bigint" }],
  enums: [{ schema: "public", name: "channel", values: ["web", "phone"] }],
};

/** The base snapshot with the orders table's columns changed. */
function withOrders(columns: ColumnInfo[], changes: Partial<SchemaSnapshot> = {}): SchemaSnapshot {
  return { ...BASE, relations: [{ ...ORDERS, columns }, BASE.relations[1]], ...changes };
}

function lines(before: SchemaSnapshot, after: SchemaSnapshot): string[] {
  return classifySchemaChange(before, after).changes.map(
    (change) => `${change.effect} ${change.change} ${change.object} ${change.name}`,
  );
}

describe("rehearse: classifying a schema change from the catalog", () => {
  it("nothing changed: additive, no change", () => {
    assert.deepEqual(classifySchemaChange(BASE, BASE), { classification: "additive", changes: [] });
  });

  it("new nullable, defaulted and generated columns, a new table, index, function, sequence and enum value are additive", () => {
    const after = withOrders(
      [
        ...ORDERS.columns,
        column(5, "note", "text"),
        column(6, "priority", "integer", { notNull: true, default: "0" }),
        column(7, "total_euros", "numeric", { generated: true }),
      ],
      {
        indexes: [
          ...BASE.indexes,
          {
            relationOid: "16400",
            schema: "public",
            name: "orders_status",
            unique: false,
            definition: "CREATE INDEX orders_status ON public.orders USING btree (status)",
            columns: [4],
          },
        ],
        functions: [...BASE.functions, { schema: "public", name: "refund", args: "bigint", result: "void" }],
        sequences: [...BASE.sequences, { schema: "public", name: "invoice_no", type: "bigint" }],
        enums: [{ schema: "public", name: "channel", values: ["web", "phone", "store"] }],
      },
    );
    after.relations.push({
      oid: "16600",
      schema: "public",
      name: "coupons",
      kind: "table",
      definition: null,
      columns: [],
    });
    const result = classifySchemaChange(BASE, after);
    assert.equal(result.classification, "additive");
    assert.deepEqual(
      result.changes
        .map((change) => `${change.change} ${change.object} ${change.name}: ${change.detail}`)
        .sort(),
      [
        "added column public.orders.note: new nullable column",
        "added column public.orders.priority: new column with a default",
        "added column public.orders.total_euros: new generated column",
        "added enum value public.channel.'store': new value",
        "added function public.refund(bigint): new function",
        "added index public.orders_status: new index: CREATE INDEX orders_status ON public.orders USING btree (status)",
        "added sequence public.invoice_no: new sequence",
        "added table public.coupons: new table",
      ],
    );
  });

  it("a rename is told from a drop by the column's attnum and the table's oid; both are breaking", () => {
    const renamed = withOrders([
      ORDERS.columns[0],
      { ...ORDERS.columns[1], name: "customer_name" },
      ...ORDERS.columns.slice(2),
    ]);
    assert.deepEqual(lines(BASE, renamed), ["breaking renamed column public.orders.customer"]);
    const dropped = withOrders([ORDERS.columns[0], ...ORDERS.columns.slice(2)]);
    assert.deepEqual(lines(BASE, dropped), ["breaking dropped column public.orders.customer"]);
    const table = { ...BASE, relations: [{ ...ORDERS, name: "purchases" }, BASE.relations[1]] };
    assert.deepEqual(lines(BASE, table), ["breaking renamed table public.orders"]);
    const gone = { ...BASE, relations: [BASE.relations[1]], constraints: [], indexes: [] };
    assert.deepEqual(lines(BASE, gone), ["breaking dropped table public.orders"]);
  });

  it("a table dropped and created again under its name is compared column by column by name", () => {
    const recreated = {
      ...BASE,
      relations: [{ ...ORDERS, oid: "17000", columns: ORDERS.columns.slice(0, 3) }, BASE.relations[1]],
    };
    assert.deepEqual(lines(BASE, recreated), ["breaking dropped column public.orders.status"]);
  });

  it("types: widened is additive, narrowed or another type is breaking", () => {
    const retyped = (index: number, type: string) =>
      withOrders(ORDERS.columns.map((item, at) => (at === index ? { ...item, type } : item)));
    assert.deepEqual(lines(BASE, retyped(2, "bigint")), [
      "additive changed column public.orders.total_cents",
    ]);
    assert.deepEqual(lines(BASE, retyped(2, "smallint")), [
      "breaking changed column public.orders.total_cents",
    ]);
    assert.deepEqual(lines(BASE, retyped(1, "character varying(40)")), [
      "breaking changed column public.orders.customer",
    ]);
    assert.deepEqual(lines(BASE, retyped(2, "text")), ["breaking changed column public.orders.total_cents"]);
    const widenings: [string, string, boolean][] = [
      ["smallint", "integer", true],
      ["integer", "numeric(12,0)", true],
      ["integer", "numeric(8,0)", false],
      ["real", "double precision", true],
      ["double precision", "real", false],
      ["character varying(20)", "character varying(40)", true],
      ["character varying(40)", "character varying(20)", false],
      ["character varying", "character varying(20)", false],
      ["character varying(20)", "text", true],
      ["text", "character varying(20)", false],
      ["numeric(8,2)", "numeric(12,2)", true],
      ["numeric(8,2)", "numeric(12,4)", true],
      ["numeric(8,2)", "numeric(8,1)", false],
      ["numeric(8,2)", "numeric", true],
      ["numeric", "numeric(30,2)", false],
      ["timestamp(0) without time zone", "timestamp(3) without time zone", true],
      ["timestamp without time zone", "timestamp with time zone", false],
      ["integer[]", "bigint[]", true],
      ["integer", "integer[]", false],
      ["public.channel", "text", false],
    ];
    for (const [from, to, widened] of widenings)
      assert.equal(isWidening(from, to), widened, `${from} → ${to}`);
  });

  it("NOT NULL without a default is breaking, with one additive; dropping a NOT NULL column's default is breaking", () => {
    const set = (index: number, change: Partial<ColumnInfo>) =>
      withOrders(ORDERS.columns.map((item, at) => (at === index ? { ...item, ...change } : item)));
    const nullable = withOrders([...ORDERS.columns, column(5, "note", "text")]);
    const strict = withOrders([...ORDERS.columns, column(5, "note", "text", { notNull: true })]);
    const strictDefault = withOrders([
      ...ORDERS.columns,
      column(5, "note", "text", { notNull: true, default: "''::text" }),
    ]);
    assert.deepEqual(lines(nullable, strict), ["breaking changed column public.orders.note"]);
    assert.deepEqual(lines(nullable, strictDefault), [
      "additive changed column public.orders.note",
      "additive changed column public.orders.note",
    ]);
    assert.deepEqual(lines(BASE, strict), ["breaking added column public.orders.note"]);
    assert.deepEqual(lines(BASE, set(3, { default: null })), [
      "breaking changed column public.orders.status",
    ]);
    assert.deepEqual(lines(BASE, set(3, { notNull: false })), [
      "additive changed column public.orders.status",
    ]);
  });

  it("a new rule on existing columns is breaking, on new columns additive; a dropped unique key is breaking, a dropped check additive", () => {
    const withNote = withOrders([...ORDERS.columns, column(5, "note", "text")]);
    const check = (columns: number[]) => ({
      ...withNote,
      constraints: [
        ...BASE.constraints,
        { relationOid: "16400", name: "c1", type: "c", definition: "CHECK (x)", columns },
      ],
    });
    assert.deepEqual(
      lines(BASE, check([3])).filter((line) => line.includes("constraint")),
      ["breaking added constraint public.orders.c1"],
    );
    assert.deepEqual(
      lines(BASE, check([5])).filter((line) => line.includes("constraint")),
      ["additive added constraint public.orders.c1"],
    );
    assert.deepEqual(lines(check([3]), withNote), ["additive dropped constraint public.orders.c1"]);
    assert.deepEqual(lines(BASE, { ...BASE, constraints: [] }), [
      "breaking dropped constraint public.orders.orders_pkey",
    ]);
    const unique = {
      ...BASE,
      indexes: [
        {
          ...BASE.indexes[0],
          name: "orders_customer_key",
          unique: true,
          definition: "CREATE UNIQUE INDEX …",
        },
      ],
    };
    assert.deepEqual(lines(BASE, unique), [
      "breaking added index public.orders_customer_key",
      "additive dropped index public.orders_created",
    ]);
  });

  it("views, functions, sequences and enum values the old release uses: gone or changed is breaking", () => {
    const view = BASE.relations[1];
    const narrowerView = {
      ...BASE,
      relations: [ORDERS, { ...view, columns: [view.columns[0]], definition: "SELECT customer FROM orders" }],
    };
    assert.deepEqual(lines(BASE, narrowerView), [
      "breaking dropped view column public.order_summary.total_cents",
      "additive changed view public.order_summary",
    ]);
    assert.deepEqual(lines(BASE, { ...BASE, functions: [] }), [
      "breaking dropped function public.order_total(order_id bigint)",
    ]);
    assert.deepEqual(lines(BASE, { ...BASE, functions: [{ ...BASE.functions[0], result: "bigint" }] }), [
      "breaking changed function public.order_total(order_id bigint)",
    ]);
    assert.deepEqual(lines(BASE, { ...BASE, sequences: [] }), [
      "breaking dropped sequence public.orders_id_seq",
    ]);
    assert.deepEqual(
      lines(BASE, { ...BASE, enums: [{ schema: "public", name: "channel", values: ["web"] }] }),
      ["breaking dropped enum value public.channel.'phone'"],
    );
  });
});

describe("rehearse: the verdict", () => {
  const outcome = (change: Partial<RehearsalOutcome> = {}): RehearsalOutcome => ({
    release: "v7",
    database: "shop",
    migration: { ok: true, error: null },
    durationMs: 1200,
    stoppedAtLimit: false,
    schema: { classification: "additive", changes: [] },
    declared: "additive",
    maxMigrationSeconds: 60,
    maintenanceMode: "off",
    locks: [],
    ...change,
  });
  const breaking = {
    classification: "breaking" as const,
    changes: [
      {
        object: "column",
        name: "public.orders.status",
        change: "dropped" as const,
        effect: "breaking" as const,
        detail: "",
      },
    ],
  };

  it("passes an additive rehearsal within the limit", () => {
    assert.deepEqual(judgeRehearsal(outcome()), { verdict: "passed", reasons: [], warnings: [], notes: [] });
  });

  it("refuses breaking-but-declared-additive, naming the objects; passes it when declared breaking", () => {
    const refused = judgeRehearsal(outcome({ schema: breaking }));
    assert.equal(refused.verdict, "refused");
    assert.match(
      refused.reasons[0],
      /declared additive \(greenlight:schemaBreaking false\) but its migration is breaking: dropped column public\.orders\.status/,
    );
    assert.equal(judgeRehearsal(outcome({ schema: breaking, declared: "breaking" })).verdict, "passed");
  });

  it("refuses a long migration without maintenance mode; accepts it with one, with a note", () => {
    const slow = outcome({ durationMs: 61_000 });
    assert.equal(judgeRehearsal(slow).verdict, "refused");
    assert.match(
      judgeRehearsal(slow).reasons[0],
      /took 61\.0 s, longer than greenlight:maxMigrationSeconds \(60 s\)/,
    );
    const readOnly = judgeRehearsal({ ...slow, maintenanceMode: "read-only" });
    assert.equal(readOnly.verdict, "passed");
    assert.match(readOnly.notes[0], /accepted because greenlight:maintenanceMode is read-only/);
  });

  it("a failed migration fails with its error; ACCESS EXCLUSIVE on a large table is a warning, other modes are not", () => {
    const failed = judgeRehearsal(outcome({ migration: { ok: false, error: "exited 1: boom" } }));
    assert.equal(failed.verdict, "failed");
    assert.equal(failed.reasons[0], "its migration failed on a restored copy of shop: exited 1: boom");
    const locked = judgeRehearsal(
      outcome({
        locks: [
          { table: "public.orders", mode: "AccessExclusiveLock", bytes: 2_400_000_000, heldMs: 3400 },
          { table: "public.orders", mode: "ShareLock", bytes: 2_400_000_000, heldMs: 900 },
        ],
      }),
    );
    assert.equal(locked.verdict, "passed");
    assert.deepEqual(
      locked.warnings.map((warning) => warning.split(":")[0]),
      ["ACCESS EXCLUSIVE lock on public.orders (2.4 GB) for about 3.4 s"],
    );
  });
});

describe("rehearse: the migrator's connection string to the copy", () => {
  it("replaces only the database, keeping the role, password, host and parameters", () => {
    assert.equal(
      copyUrl(
        "postgresql://shop_migrator:p%40ss@db.internal:5432/shop?sslmode=require",
        "shop_rehearse_20261207t101500z",
      ),
      "postgresql://shop_migrator:p%40ss@db.internal:5432/shop_rehearse_20261207t101500z?sslmode=require",
    );
    assert.throws(() => copyUrl("not a url", "x"), /DATABASE_URL is not a URL/);
  });
});
