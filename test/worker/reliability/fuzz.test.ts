// Property-based fuzzing of every operation in the service's own OpenAPI document, with valid and
// invalid bodies, content types, credentials and path values. Every request must get a status
// below 500 while the database is up, and every error must be a problem document with a registered
// code. A rejected request must leave row counts alone. A request without a valid token must change
// nothing through a bearer-only operation, and one user's token must never change another user's
// rows. The time budget is split evenly between operations, so the file stays bounded as
// operations are added. The properties do not depend on the database engine, so the file runs on
// the embedded database only, which keeps the second CI pass on Postgres short.
import { env } from "cloudflare:test";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../../src/app";
import { ERROR_CODES } from "../../../src/errors";
import { type Account, type ApiClient, createActiveAccount, sessionIdOf } from "../../endpoints/api-client";
import { apiOf, nextClientAddress } from "../helpers/api";
import { createTestApp, type TestApp, type TestResponse } from "../helpers/app";
import { consistencyViolations, serviceTables } from "../helpers/invariants";
import {
  arbitraryFromSchema,
  hostileString,
  invalidBody,
  type JsonSchema,
  type OpenApiDocument,
  type OpenApiOperation,
} from "../helpers/openapi-arbitraries";

/** Total time for all generated requests, split evenly between the operations. */
const FUZZ_BUDGET_MS = 40_000;
const MAX_RUNS_PER_OPERATION = 150;
const METHODS_WITH_BODY = new Set(["post", "put", "patch", "delete"]);
/** Audit events record refusals too (failed logins), so they are left out of the change checks. */
const UNCHECKED_TABLES = new Set(["audit_events"]);

// The document is read at collection time so that each operation gets its own test. Building it
// needs the bindings only, not the database.
const openApiResponse = await createApp({ logSink: () => {} }).fetch(new Request("https://api.test/openapi.json"), env);
const document = (await openApiResponse.json()) as OpenApiDocument;
const operations = Object.entries(document.paths)
  .filter(([path]) => !path.startsWith("/dev/"))
  .flatMap(([path, item]) => Object.entries(item).map(([method, operation]) => ({ method, path, operation })));
const budgetPerOperationMs = Math.max(300, Math.floor(FUZZ_BUDGET_MS / Math.max(1, operations.length)));

type Credential = "none" | "owner" | "garbage" | "tampered" | "basic";

const utf8 = new TextEncoder();

/**
 * Percent-encode a path segment byte by byte. Unlike encodeURIComponent it accepts lone
 * surrogates, which it writes as the three bytes of their (invalid) UTF-8 form, so the service
 * also gets segments that do not decode.
 */
function encodePathSegment(value: string): string {
  let encoded = "";
  for (const character of value) {
    if (/^[A-Za-z0-9_.~-]$/.test(character)) {
      encoded += character;
      continue;
    }
    const code = character.codePointAt(0) ?? 0;
    const bytes =
      code >= 0xd800 && code <= 0xdfff
        ? [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)]
        : [...utf8.encode(character)];
    encoded += bytes.map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, "0")}`).join("");
  }
  return encoded;
}

interface GeneratedRequest {
  pathValues: string[];
  query: string;
  credential: Credential;
  body: { raw: string | Uint8Array | undefined; contentType: string | undefined };
}

interface Snapshot {
  /** Row count per table, audit events left out. */
  counts: Record<string, number>;
  /** Content hash of every table, audit events left out. */
  everything: string;
  /** Content hash of the victim's rows in every table that names a user. */
  victim: string;
}

describe.skipIf(env.DATABASE_BACKEND === "postgres")("fuzzing every operation", () => {
  let t: TestApp;
  let api: ApiClient;
  let owner: Account;
  let victim: Account;
  let victimSessionId: string;
  let checkedTables: string[];
  let userTables: { table: string; column: string }[];

  beforeAll(async () => {
    t = await createTestApp();
    api = apiOf(t, { headers: () => ({ "cf-connecting-ip": nextClientAddress() }) });
    owner = await createActiveAccount(api, "fuzz-owner");
    victim = await createActiveAccount(api, "fuzz-victim");
    victimSessionId = sessionIdOf(victim.accessToken);
    checkedTables = (await serviceTables(t)).filter((table) => !UNCHECKED_TABLES.has(table));
    const columns = await t.sql`
      SELECT table_name, column_name FROM information_schema.columns
      WHERE table_schema = 'public' AND column_name IN ('user_id', 'target_user_id')`;
    userTables = [
      { table: "users", column: "id" },
      ...columns
        .map((row) => ({ table: String(row.table_name), column: String(row.column_name) }))
        .filter(({ table }) => !UNCHECKED_TABLES.has(table)),
    ];
  });

  async function snapshot(): Promise<Snapshot> {
    const counts = checkedTables.map(
      (table) =>
        `SELECT '${table}' AS name, count(*)::int AS rows, coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') AS hash FROM "${table}" AS x`,
    );
    const victimRows = userTables.map(
      ({ table, column }) =>
        `SELECT 'victim:${table}' AS name, count(*)::int, coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') FROM "${table}" AS x WHERE x."${column}" = $1`,
    );
    const rows = await t.sql.query([...counts, ...victimRows].join(" UNION ALL "), [victim.userId]);
    const result: Snapshot = { counts: {}, everything: "", victim: "" };
    for (const row of rows) {
      const name = String(row.name);
      if (name.startsWith("victim:")) result.victim += `${name}=${row.hash};`;
      else {
        result.counts[name] = Number(row.rows);
        result.everything += `${name}=${row.hash};`;
      }
    }
    return result;
  }

  function pathValueFor(name: string): fc.Arbitrary<string> {
    const known: string[] = [];
    if (name === "provider") known.push("google", "github", "facebook");
    if (name === "kind") known.push("government_id", "business_cert");
    if (/id$/.test(name)) known.push(victim.userId, victimSessionId, owner.userId, crypto.randomUUID());
    const valid = known.length > 0 ? fc.constantFrom(...known) : fc.string({ minLength: 1, maxLength: 20 });
    return fc.oneof(
      valid,
      valid,
      fc.uuid(),
      hostileString.filter((value) => value !== ""),
      fc.string({ minLength: 1 }),
    );
  }

  function queryFor(operation: OpenApiOperation): fc.Arbitrary<string> {
    const parameters = (operation.parameters ?? []).filter((parameter) => parameter.in === "query");
    if (parameters.length === 0) return fc.constant("");
    const model = Object.fromEntries(
      parameters.map((parameter) => [
        parameter.name,
        fc.oneof(
          arbitraryFromSchema(parameter.schema ?? { type: "string" }, document, parameter.name).map(String),
          hostileString,
        ),
      ]),
    );
    return fc.record(model, { requiredKeys: [] }).map((values) => {
      const search = new URLSearchParams(values as Record<string, string>).toString();
      return search === "" ? "" : `?${search}`;
    });
  }

  function bodyFor(operation: OpenApiOperation, method: string): fc.Arbitrary<GeneratedRequest["body"]> {
    const none = fc.constant({ raw: undefined, contentType: undefined });
    if (!METHODS_WITH_BODY.has(method)) return none;
    const content = operation.requestBody?.content ?? {};
    const jsonSchema = content["application/json"]?.schema as JsonSchema | undefined;
    const uploadTypes = Object.keys(content).filter((type) => type !== "application/json");

    const json = (value: fc.Arbitrary<unknown>) =>
      fc
        .tuple(value, fc.constantFrom("application/json", "application/json; charset=utf-8"))
        .map(([body, contentType]) => ({ raw: JSON.stringify(body) ?? "null", contentType }));
    const variants: fc.Arbitrary<GeneratedRequest["body"]>[] = [
      json(invalidBody(jsonSchema, document)),
      fc.record({ raw: fc.string(), contentType: fc.constant("application/json") }),
      fc.record({
        raw: fc.string({ maxLength: 200 }),
        contentType: fc.constantFrom("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"),
      }),
      none,
    ];
    if (jsonSchema !== undefined) {
      // Weighted so that about half of the requests get past validation and reach the services.
      const valid = json(arbitraryFromSchema(jsonSchema, document));
      variants.unshift(valid, valid, valid, valid);
    }
    if (uploadTypes.length > 0) {
      variants.unshift(
        fc.record({
          raw: fc.uint8Array({ maxLength: 2048 }),
          contentType: fc.constantFrom(...uploadTypes, "image/svg+xml", "text/html"),
        }),
      );
    }
    return fc.oneof(...variants);
  }

  function authorizationHeader(credential: Credential): Record<string, string> {
    switch (credential) {
      case "owner":
        return { authorization: `Bearer ${owner.accessToken}` };
      case "garbage":
        return { authorization: "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0." };
      case "tampered": {
        // The owner's token with the victim's id in its payload: the signature no longer matches.
        const [header, payload, signature] = owner.accessToken.split(".");
        const claims = JSON.parse(atob((payload ?? "").replaceAll("-", "+").replaceAll("_", "/")));
        const forged = btoa(JSON.stringify({ ...claims, sub: victim.userId }))
          .replaceAll("+", "-")
          .replaceAll("/", "_")
          .replace(/=+$/, "");
        return { authorization: `Bearer ${header}.${forged}.${signature}` };
      }
      case "basic":
        return { authorization: "Basic dXNlcjpwYXNz" };
      default:
        return {};
    }
  }

  /** Replace the owner when a request ended their session, so later runs keep a live token. */
  async function keepOwnerSignedIn(): Promise<void> {
    const me = await t.request("GET", "/v1/me", { token: owner.accessToken });
    if (me.status !== 200) owner = await createActiveAccount(api, "fuzz-owner");
  }

  function checkResponse(label: string, response: TestResponse): void {
    expect(response.status, `${label} answered ${response.status}: ${response.text.slice(0, 300)}`).toBeLessThan(500);
    if (response.status < 400) return;
    expect(response.headers.get("content-type"), label).toBe("application/problem+json");
    expect(Object.keys(ERROR_CODES), `${label}: ${response.text.slice(0, 300)}`).toContain(response.body?.code);
    expect(response.body.status, label).toBe(response.status);
    expect(response.text, label).not.toMatch(/\bat [\w.]+ \(|SELECT |INSERT |NeonDbError/);
  }

  for (const { method, path, operation } of operations) {
    const label = `${method.toUpperCase()} ${path}`;
    const isBearerOnly = (operation.security ?? []).length > 0;
    const parameterNames = [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1] as string);

    it(
      label,
      async () => {
        const request: fc.Arbitrary<GeneratedRequest> = fc.record({
          pathValues: fc.tuple(...parameterNames.map((name) => pathValueFor(name))),
          query: queryFor(operation),
          credential: fc.constantFrom<Credential>("none", "owner", "owner", "garbage", "tampered", "basic"),
          body: bodyFor(operation, method),
        });

        // The budget is checked inside the property rather than with fast-check's
        // interruptAfterTimeLimit, which stops waiting for a run still in flight, so that run's
        // writes would land in the next operation's checks.
        const deadline = Date.now() + budgetPerOperationMs;
        await fc.assert(
          fc.asyncProperty(request, async (generated) => {
            if (Date.now() > deadline) return;
            let concretePath = path;
            parameterNames.forEach((name, index) => {
              concretePath = concretePath.replace(`{${name}}`, encodePathSegment(generated.pathValues[index] ?? ""));
            });
            const headers: Record<string, string> = {
              "cf-connecting-ip": nextClientAddress(),
              ...authorizationHeader(generated.credential),
            };
            if (generated.body.contentType !== undefined) headers["content-type"] = generated.body.contentType;
            const described = `${method.toUpperCase()} ${concretePath}${generated.query} as ${generated.credential}`;

            const before = await snapshot();
            const response = await t.request(method.toUpperCase(), `${concretePath}${generated.query}`, {
              rawBody: generated.body.raw as BodyInit | undefined,
              headers,
            });
            const after = await snapshot();

            checkResponse(described, response);
            if (response.status >= 400) {
              expect(after.counts, `${described} was refused but changed row counts`).toEqual(before.counts);
            }
            if (isBearerOnly && generated.credential !== "owner") {
              expect(after.everything, `${described} changed data without a valid token`).toBe(before.everything);
            }
            if (isBearerOnly && generated.credential === "owner") {
              expect(after.victim, `${described} changed another user's rows`).toBe(before.victim);
              if (method !== "get" && response.status < 400) await keepOwnerSignedIn();
            }
          }),
          { numRuns: MAX_RUNS_PER_OPERATION },
        );
      },
      budgetPerOperationMs + 30_000,
    );
  }

  it("leaves the data consistent", async () => {
    expect(await consistencyViolations(t)).toEqual([]);
  });
});
