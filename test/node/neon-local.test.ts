import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { neon, neonConfig } from "@neondatabase/serverless";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNeonLocal } from "../../scripts/neon-local/server";
import type { NeonQueryFunction } from "@neondatabase/serverless";
import type { NeonLocalBackend, NeonLocalServer } from "../../scripts/neon-local/server";

// Runs the same driver-level cases against the PGlite backend and, when
// TEST_DATABASE_URL is set, against a real Postgres server, then requires
// both to have produced the same values.

type Sql = NeonQueryFunction<false, false>;

const backends: { name: string; backend: NeonLocalBackend }[] = [{ name: "pglite", backend: { kind: "pglite" } }];
if (process.env.TEST_DATABASE_URL) {
  backends.push({ name: "postgres", backend: { kind: "postgres", url: process.env.TEST_DATABASE_URL } });
}

// Each backend gets its own host name in the connection string, and the
// driver's endpoint is picked from it, so both servers can run at once.
const endpointsByHost = new Map<string, string>();
neonConfig.fetchEndpoint = (host) => {
  const endpoint = endpointsByHost.get(host);
  if (endpoint === undefined) throw new Error(`test has no neon-local server for host ${host}`);
  return endpoint;
};

// Postgres databases are shared with anything else using the server, so the
// names carry the process id.
const namePrefix = `neon_local_${process.pid}`;
const templateName = `${namePrefix}_template`;
const mainName = `${namePrefix}_main`;
const cloneName = `${namePrefix}_clone`;

/** Results of each case by backend name, compared at the end of the file. */
const resultsByCase = new Map<string, Map<string, unknown>>();

function record(backendName: string, caseName: string, result: unknown): void {
  const byBackend = resultsByCase.get(caseName) ?? new Map<string, unknown>();
  byBackend.set(backendName, result);
  resultsByCase.set(caseName, byBackend);
}

/** Fields of a thrown driver error that must not depend on the Postgres build. */
async function captureError(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    const { message, code, severity, detail, constraint, table, schema, position } = error as Record<string, unknown>;
    return { message, code, severity, detail, constraint, table, schema, position };
  }
  throw new Error("expected the query to fail");
}

const schemaStatements = [
  `create table accounts (
     id uuid primary key default gen_random_uuid(),
     email text not null constraint accounts_email_key unique,
     created_at timestamptz not null default now()
   )`,
  `create table type_samples (
     id uuid primary key,
     label text,
     small integer,
     big bigint,
     flag boolean,
     at timestamptz,
     document jsonb,
     tags text[],
     scores integer[],
     payload bytea,
     nothing text
   )`,
  `insert into accounts (email) values ('template-owner@example.test')`,
];

const sampleUuid = "0b8a3c52-5a9e-4bd2-9f0c-6d2c4e1f7a10";
const sampleTimestamp = new Date("2024-02-29T23:59:58.123Z");

describe.each(backends)("neon-local on $name", ({ name: backendName, backend }) => {
  let server: NeonLocalServer;
  let sql: Sql;
  let adminUrl: string;
  const host = `${backendName}.localtest.me`;
  const sqlFor = (database: string): Sql => neon(`postgres://user:password@${host}/${database}`);

  beforeAll(async () => {
    server = await startNeonLocal({ backend });
    endpointsByHost.set(host, server.url);
    adminUrl = server.url.replace(/\/sql$/, "/_neon_local");

    for (const name of [cloneName, mainName, templateName]) await server.dropDatabase(name);
    await server.createDatabase(templateName);
    const template = sqlFor(templateName);
    for (const statement of schemaStatements) await template.query(statement);
    await server.createDatabase(mainName, { template: templateName });

    sql = sqlFor(mainName);
  }, 120_000);

  afterAll(async () => {
    if (server === undefined) return;
    for (const name of [cloneName, mainName, templateName]) await server.dropDatabase(name);
    await server.close();
  }, 60_000);

  it("parses result columns of common types", async () => {
    const [row] = await sql.query(
      `select $1::uuid as id, 'héllo'::text as label, 42::int4 as small, 9007199254740993::int8 as big,
              true as flag, '2024-02-29T23:59:58.123Z'::timestamptz as at,
              '{"a": [1, 2, {"b": null}]}'::jsonb as document,
              array['a', 'b,c', null]::text[] as tags, array[1, 2, 3]::int[] as scores,
              '\\x00ff10'::bytea as payload, null::text as nothing`,
      [sampleUuid],
    );

    expect(row).toEqual({
      id: sampleUuid,
      label: "héllo",
      small: 42,
      big: "9007199254740993",
      flag: true,
      at: sampleTimestamp,
      document: { a: [1, 2, { b: null }] },
      tags: ["a", "b,c", null],
      scores: [1, 2, 3],
      payload: Buffer.from([0x00, 0xff, 0x10]),
      nothing: null,
    });
    record(backendName, "result types", row);
  });

  it("round-trips parameters of common types", async () => {
    const [row] = await sql`
      insert into type_samples (id, label, small, big, flag, at, document, tags, scores, payload, nothing)
      values (${sampleUuid}, ${'it\'s "quoted"'}, ${-7}, ${9007199254740993n}, ${false}, ${sampleTimestamp},
              ${JSON.stringify({ nested: { list: [true, "x"] } })}, ${["x", "y z", "{}"]}, ${[10, -20]},
              ${Buffer.from("deadbeef", "hex")}, ${null})
      returning *`;

    expect(row).toEqual({
      id: sampleUuid,
      label: 'it\'s "quoted"',
      small: -7,
      big: "9007199254740993",
      flag: false,
      at: sampleTimestamp,
      document: { nested: { list: [true, "x"] } },
      tags: ["x", "y z", "{}"],
      scores: [10, -20],
      payload: Buffer.from("deadbeef", "hex"),
      nothing: null,
    });
    record(backendName, "parameter types", row);
  });

  it("fills defaults with gen_random_uuid and now", async () => {
    const [row] = await sql`insert into accounts (email) values ('defaults@example.test') returning id, created_at`;

    expect(row?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(row?.created_at).toBeInstanceOf(Date);
  });

  it("reports a unique violation with its constraint", async () => {
    await sql`insert into accounts (email) values ('taken@example.test')`;
    const error = await captureError(sql`insert into accounts (email) values ('taken@example.test')`);

    expect(error.code).toBe("23505");
    expect(error.constraint).toBe("accounts_email_key");
    expect(error.table).toBe("accounts");
    record(backendName, "unique violation", error);
  });

  it("reports a syntax error with its position", async () => {
    const error = await captureError(sql.query("select 1 frm accounts"));

    expect(error.code).toBe("42601");
    expect(error.position).toBe("14");
    record(backendName, "syntax error", error);
  });

  it("rejects several statements in one query", async () => {
    const error = await captureError(sql.query("select 1; select 2"));

    expect(error.code).toBe("42601");
    record(backendName, "several statements", error);
  });

  it("commits a transaction", async () => {
    const results = await sql.transaction([
      sql`insert into accounts (email) values ('batch-1@example.test') returning email`,
      sql`insert into accounts (email) values ('batch-2@example.test') returning email`,
      sql`select count(*)::int as count from accounts where email like 'batch-%'`,
    ]);

    expect(results).toEqual([[{ email: "batch-1@example.test" }], [{ email: "batch-2@example.test" }], [{ count: 2 }]]);
    record(backendName, "transaction commit", results);
  });

  it("rolls back a whole transaction when a query fails", async () => {
    const error = await captureError(
      sql.transaction([
        sql`insert into accounts (email) values ('rolled-back@example.test')`,
        sql`insert into accounts (email) values ('template-owner@example.test')`,
      ]),
    );
    const [row] = await sql`select count(*)::int as count from accounts where email = 'rolled-back@example.test'`;

    expect(error.code).toBe("23505");
    expect(row).toEqual({ count: 0 });
    record(backendName, "transaction rollback", { error, row });
  });

  it("rejects writes in a read-only transaction", async () => {
    const error = await captureError(
      sql.transaction([sql`insert into accounts (email) values ('read-only@example.test')`], { readOnly: true }),
    );

    expect(error.code).toBe("25006");
    record(backendName, "read-only transaction", error);
  });

  it("applies the isolation level and deferrable mode of a transaction", async () => {
    const results = await sql.transaction(
      [
        sql`select current_setting('transaction_isolation') as isolation, current_setting('transaction_read_only') as read_only, current_setting('transaction_deferrable') as deferrable`,
      ],
      { isolationLevel: "Serializable", readOnly: true, deferrable: true },
    );
    const defaults = await sql.transaction([sql`select current_setting('transaction_isolation') as isolation`], {
      isolationLevel: "RepeatableRead",
    });

    expect(results).toEqual([[{ isolation: "serializable", read_only: "on", deferrable: "on" }]]);
    expect(defaults).toEqual([[{ isolation: "repeatable read" }]]);
  });

  it("serves concurrent requests and transactions", async () => {
    const emails = Array.from({ length: 12 }, (_, index) => `concurrent-${index}@example.test`);

    const results = await Promise.all(
      emails.map((email, index) =>
        index % 2 === 0
          ? sql.transaction([
              sql`insert into accounts (email) values (${email})`,
              sql`select count(*)::int as count from accounts where email = ${email}`,
            ])
          : sql`insert into accounts (email) values (${email}) returning email`,
      ),
    );
    const [row] = await sql`select count(*)::int as count from accounts where email like 'concurrent-%'`;

    expect(results.filter((_, index) => index % 2 === 0)).toEqual(Array(6).fill([[], [{ count: 1 }]]));
    expect(row).toEqual({ count: 12 });
  });

  it("counts a transaction as one request", async () => {
    server.resetRequestCount();

    await sql.transaction([sql`select 1`, sql`select 2`, sql`select 3`]);
    await sql`select 4`;
    await captureError(sql`select * from missing_table`);
    const stats = await (await fetch(`${adminUrl}/stats`)).json();

    expect(server.requestCount(mainName)).toBe(3);
    expect(server.requestCount()).toBe(3);
    expect(server.requestCount("other_database")).toBe(0);
    expect(stats).toEqual({ requests: { total: 3, byDatabase: { [mainName]: 3 } } });
  });

  it("clones a database from a template", async () => {
    const template = sqlFor(templateName);
    const clone = sqlFor(cloneName);

    await template`insert into accounts (email) values ('before-clone@example.test')`;
    const startedAt = performance.now();
    await server.createDatabase(cloneName, { template: templateName });
    const cloneMs = performance.now() - startedAt;
    const copied = await clone`select email from accounts order by email`;
    await clone`insert into accounts (email) values ('clone-only@example.test')`;
    const templateRows = await template`select email from accounts order by email`;

    expect(copied).toEqual([{ email: "before-clone@example.test" }, { email: "template-owner@example.test" }]);
    expect(templateRows).toEqual(copied);
    expect(cloneMs).toBeLessThan(10_000);
    record(backendName, "clone", { copied, templateRows });
  });

  it("rejects creating an existing database", async () => {
    const response = await fetch(`${adminUrl}/databases`, { method: "POST", body: JSON.stringify({ name: mainName }) });

    expect(response.status).toBe(409);
    expect(await response.json()).toMatchObject({ code: "42P04" });
  });

  it("rejects a missing template", async () => {
    const response = await fetch(`${adminUrl}/databases`, {
      method: "POST",
      body: JSON.stringify({ name: `${namePrefix}_orphan`, template: `${namePrefix}_no_such_template` }),
    });

    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: "3D000" });
  });

  it("creates and drops a database over HTTP", async () => {
    const name = `${namePrefix}_over_http`;

    const created = await fetch(`${adminUrl}/databases`, { method: "POST", body: JSON.stringify({ name }) });
    const rows = await sqlFor(name)`select 1 as one`;
    const dropped = await fetch(`${adminUrl}/databases/${name}`, { method: "DELETE" });

    expect(created.status).toBe(201);
    expect(rows).toEqual([{ one: 1 }]);
    expect(dropped.status).toBe(204);
  });

  it("returns objects when array mode is off", async () => {
    const body = await postSql(
      server.url,
      { query: "select 1 as one, null::text as two", params: [] },
      { "Neon-Array-Mode": "false" },
    );

    expect(body.status).toBe(200);
    expect(body.json).toMatchObject({
      command: "SELECT",
      rowCount: 1,
      rows: [{ one: "1", two: null }],
      rowAsArray: false,
    });
  });

  it("returns raw text and field descriptions", async () => {
    const body = await postSql(server.url, {
      query: "select $1::int8 as big, email from accounts limit 1",
      params: ["12"],
    });

    expect(body.status).toBe(200);
    expect(body.json).toMatchObject({
      command: "SELECT",
      rowCount: 1,
      rows: [["12", expect.any(String)]],
      rowAsArray: true,
      fields: [
        { name: "big", dataTypeID: 20, tableID: 0, format: "text" },
        { name: "email", dataTypeID: 25, tableID: expect.any(Number), format: "text" },
      ],
    });
    record(
      backendName,
      "raw field types",
      (body.json as { fields: { dataTypeID: number }[] }).fields.map((field) => field.dataTypeID),
    );
  });

  it("rejects malformed requests with 400", async () => {
    const badJson = await fetch(server.url, { method: "POST", headers: connectionHeader(mainName), body: "{" });
    const noQuery = await postSql(server.url, { params: [] });
    const badParams = await postSql(server.url, { query: "select 1", params: "1" });
    const noHeader = await fetch(server.url, { method: "POST", body: JSON.stringify({ query: "select 1" }) });
    const noDatabase = await fetch(server.url, {
      method: "POST",
      headers: { "Neon-Connection-String": "postgres://user@host" },
      body: JSON.stringify({ query: "select 1" }),
    });
    const badName = await fetch(server.url, {
      method: "POST",
      headers: connectionHeader("Not-Valid"),
      body: JSON.stringify({ query: "select 1" }),
    });
    const badIsolation = await postSql(
      server.url,
      { queries: [{ query: "select 1" }] },
      { "Neon-Batch-Isolation-Level": "Chaos" },
    );

    expect(badJson.status).toBe(400);
    expect(noQuery.status).toBe(400);
    expect(badParams.status).toBe(400);
    expect(noHeader.status).toBe(400);
    expect(await noHeader.json()).toEqual({ message: "missing Neon-Connection-String header" });
    expect(noDatabase.status).toBe(400);
    expect(badName.status).toBe(400);
    expect(await badName.json()).toMatchObject({ code: "42602" });
    expect(badIsolation.status).toBe(400);
  });

  it("rejects a body over 8 MiB with 413", async () => {
    const query = `select '${"x".repeat(8 * 1024 * 1024)}'`;
    const response = await postSql(server.url, { query });

    expect(response.status).toBe(413);
  });

  it("rejects unknown paths and methods", async () => {
    const unknown = await fetch(server.url.replace(/\/sql$/, "/nothing"));
    const wrongMethod = await fetch(server.url);

    expect(unknown.status).toBe(404);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("POST");
  });

  it("handles a missing database per backend", async () => {
    const name = `${namePrefix}_never_created`;

    if (backend.kind === "pglite") {
      // PGlite creates the database empty on first use.
      expect(await sqlFor(name)`select count(*)::int as count from pg_tables where schemaname = 'public'`).toEqual([
        { count: 0 },
      ]);
      await server.dropDatabase(name);
    } else {
      expect(await captureError(sqlFor(name)`select 1`)).toMatchObject({ code: "3D000" });
    }
  });

  function connectionHeader(database: string): Record<string, string> {
    return { "Neon-Connection-String": `postgres://user:password@${host}/${database}` };
  }

  async function postSql(url: string, body: unknown, headers: Record<string, string> = {}) {
    const response = await fetch(url, {
      method: "POST",
      headers: { ...connectionHeader(mainName), "Neon-Array-Mode": "true", ...headers },
      body: JSON.stringify(body),
    });
    return { status: response.status, json: (await response.json()) as unknown };
  }
});

describe("neon-local PGlite data directory", () => {
  let scratchDir: string;
  let dataDir: string;

  beforeAll(async () => {
    scratchDir = await mkdtemp(join(tmpdir(), "neon-local-test-"));
    dataDir = join(scratchDir, "not", "yet", "created");
  });

  afterAll(async () => {
    await rm(scratchDir, { recursive: true, force: true });
  });

  it("keeps databases and clones across restarts", async () => {
    const host = "persistent.localtest.me";
    const sqlFor = (database: string): Sql => neon(`postgres://user:password@${host}/${database}`);

    const first = await startNeonLocal({ backend: { kind: "pglite", dataDir } });
    endpointsByHost.set(host, first.url);
    await sqlFor("kept")`create table notes (body text not null)`;
    await sqlFor("kept")`insert into notes values ('written before restart')`;
    await first.createDatabase("kept_copy", { template: "kept" });
    await sqlFor("kept_copy")`insert into notes values ('only in the copy')`;
    await first.close();

    const second = await startNeonLocal({ backend: { kind: "pglite", dataDir } });
    endpointsByHost.set(host, second.url);
    const keptRows = await sqlFor("kept")`select body from notes order by body`;
    const copyRows = await sqlFor("kept_copy")`select body from notes order by body`;
    const duplicate = await second.createDatabase("kept").then(
      () => undefined,
      (error: { code?: string }) => error.code,
    );
    await second.dropDatabase("kept_copy");
    const remaining = await readdir(dataDir);
    await second.close();

    expect(keptRows).toEqual([{ body: "written before restart" }]);
    expect(copyRows).toEqual([{ body: "only in the copy" }, { body: "written before restart" }]);
    expect(duplicate).toBe("42P04");
    expect(remaining).toEqual(["kept"]);
  }, 60_000);
});

describe("neon-local backends", () => {
  it.skipIf(backends.length < 2)("return identical results", () => {
    expect(resultsByCase.size).toBeGreaterThan(0);
    for (const [caseName, byBackend] of resultsByCase) {
      expect.soft([...byBackend.keys()], caseName).toEqual(["pglite", "postgres"]);
      expect.soft(byBackend.get("postgres"), caseName).toEqual(byBackend.get("pglite"));
    }
  });
});
