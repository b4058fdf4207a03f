import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { MemoryMailer } from "../../src/adapters/mail/mailer";
import { createApp } from "../../src/app";
import { parseConfig } from "../../src/config";
import { ERROR_CODES } from "../../src/errors";
import { createTestApp, type TestApp } from "./helpers/app";
import { fakeHost } from "./helpers/network";

const PASSWORD = "correct horse battery staple";

function expectSecurityHeaders(headers: Headers) {
  expect(headers.get("strict-transport-security")).toMatch(/max-age=\d+/);
  expect(headers.get("x-content-type-options")).toBe("nosniff");
  expect(headers.get("x-frame-options")).toBe("DENY");
  expect(headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
  expect(headers.get("x-request-id")).toBeTruthy();
}

describe("HTTP surface", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });

  it("answers health without the database", async () => {
    const response = await t.request("GET", "/health");
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: "ok" });
  });

  it("reports readiness of the database", async () => {
    const response = await t.request("GET", "/health/ready");
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: "ok", database: "ok" });
  });

  it("reports an unreachable database as not ready", async () => {
    const app = createApp({ mailer: new MemoryMailer() });
    const bindings = { ...t.bindings, NEON_FETCH_ENDPOINT: "http://127.0.0.1:9/sql" };
    const removeFake = fakeHost("http://127.0.0.1:9", () => {
      throw new TypeError("Network connection lost.");
    });
    onTestFinished(removeFake);
    const response = await app.fetch(new Request("https://api.test/health/ready"), bindings);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ status: "unavailable", database: "unavailable" });

    const signUp = await app.fetch(
      new Request("https://api.test/v1/auth/signup", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "down@example.com", password: PASSWORD }),
      }),
      bindings,
    );
    expect(signUp.status).toBe(503);
    expect((await signUp.json()) as { code: string }).toMatchObject({ code: "service_unavailable" });
  });

  it("answers 503 when the database endpoint fails", async () => {
    const app = createApp({ mailer: new MemoryMailer() });
    const bindings = { ...t.bindings, NEON_FETCH_ENDPOINT: "http://127.0.0.1:9/sql" };
    onTestFinished(fakeHost("http://127.0.0.1:9", () => new Response("upstream exploded", { status: 500 })));
    const response = await app.fetch(new Request("https://api.test/v1/countries"), bindings);
    expect(response.status).toBe(503);
    const text = await response.text();
    expect(text).not.toContain("upstream exploded");
  });

  it("lists every ISO 3166-1 country", async () => {
    const response = await t.request("GET", "/v1/countries");
    expect(response.status).toBe(200);
    expect(response.body.countries).toHaveLength(249);
    expect(response.body.countries).toContainEqual({ code: "IND", alpha2: "IN", name: "India", dial_code: "+91" });
    expect(response.headers.get("cache-control")).toBe("public, max-age=86400");
  });

  it("publishes current and previous public keys", async () => {
    const response = await t.request("GET", "/.well-known/jwks.json");
    expect(response.status).toBe(200);
    expect(response.body.keys.map((key: { kid: string }) => key.kid)).toEqual(["test-current", "test-previous"]);
    for (const key of response.body.keys) expect(key).not.toHaveProperty("d");
  });

  it("describes every route in the OpenAPI document", async () => {
    const response = await t.request("GET", "/openapi.json");
    expect(response.status).toBe(200);
    expect(response.body.openapi).toBe("3.1.0");
    const paths = Object.keys(response.body.paths);
    for (const path of [
      "/health",
      "/health/ready",
      "/.well-known/jwks.json",
      "/v1/countries",
      "/v1/auth/signup",
      "/v1/auth/email/verify",
      "/v1/auth/email/resend",
      "/v1/me",
    ]) {
      expect(paths).toContain(path);
    }
    const routes = t.app.routes
      .filter((route) => route.method !== "ALL" && !["/openapi.json", "/docs", "/docs/scalar.js"].includes(route.path))
      .map((route) => route.path.replace(/:([A-Za-z_]+)/g, "{$1}"));
    for (const route of routes) expect(paths, route).toContain(route);
  });

  it("serves the API reference without a CDN", async () => {
    const page = await t.request("GET", "/docs");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(page.text).toContain('data-url="/openapi.json"');
    expect(page.text).not.toMatch(/https?:\/\//);
    const script = await t.request("GET", "/docs/scalar.js");
    expect(script.status).toBe(200);
    expect(script.headers.get("content-type")).toContain("javascript");
  });

  it("puts security headers on every response", async () => {
    const responses = [
      await t.request("GET", "/health"),
      await t.request("GET", "/v1/me"),
      await t.request("GET", "/nowhere"),
      await t.request("POST", "/v1/auth/signup", { body: {} }),
    ];
    expect(responses.map((response) => response.status)).toEqual([200, 401, 404, 400]);
    for (const response of responses) expectSecurityHeaders(response.headers);
    expect(responses[1]?.headers.get("cache-control")).toBe("no-store");
    expect(responses[3]?.headers.get("cache-control")).toBe("no-store");
  });

  it("returns registered problem documents", async () => {
    const response = await t.request("GET", "/nowhere");
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(response.body).toMatchObject({ type: "about:blank", status: 404, code: "not_found", title: "Not found" });
    expect(response.body.request_id).toBe(response.headers.get("x-request-id"));
    expect(Object.keys(ERROR_CODES)).toContain(response.body.code);
  });

  it("answers unsupported methods without a 500", async () => {
    for (const method of ["TRACE", "PATCH", "PUT"]) {
      const response = await t.request(method, "/v1/auth/signup");
      expect([404, 405]).toContain(response.status);
    }
  });

  it("rejects bodies over 64 KiB, chunked or not", async () => {
    const big = JSON.stringify({ email: "big@example.com", password: "x".repeat(1024 * 1024) });
    const plain = await t.request("POST", "/v1/auth/signup", {
      rawBody: big,
      headers: { "content-type": "application/json" },
    });
    expect(plain.status).toBe(413);
    expect(plain.body.code).toBe("payload_too_large");

    const bytes = new TextEncoder().encode(big);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let offset = 0; offset < bytes.length; offset += 16 * 1024)
          controller.enqueue(bytes.slice(offset, offset + 16 * 1024));
        controller.close();
      },
    });
    const chunked = await t.request("POST", "/v1/auth/signup", {
      rawBody: stream,
      headers: { "content-type": "application/json" },
    });
    expect(chunked.status).toBe(413);
  });

  it("rejects non-JSON bodies and malformed JSON", async () => {
    const plain = await t.request("POST", "/v1/auth/signup", {
      rawBody: "email=a@example.com",
      headers: { "content-type": "text/plain" },
    });
    expect(plain.status).toBe(415);
    expect(plain.body.code).toBe("unsupported_media_type");

    const malformed = await t.request("POST", "/v1/auth/signup", {
      rawBody: '{"email": "a@example.com",',
      headers: { "content-type": "application/json" },
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body.code).toBe("malformed_json");
  });

  it("rejects other charsets and invalid UTF-8", async () => {
    const utf16 = await t.request("POST", "/v1/auth/signup", {
      rawBody: JSON.stringify({ email: "charset@example.com", password: PASSWORD }),
      headers: { "content-type": "application/json; charset=utf-16" },
    });
    expect(utf16.status).toBe(415);

    const bytes = new Uint8Array([
      ...new TextEncoder().encode('{"email":"'),
      0xff,
      0xfe,
      ...new TextEncoder().encode('@x.io"}'),
    ]);
    const invalid = await t.request("POST", "/v1/auth/email/resend", {
      rawBody: bytes,
      headers: { "content-type": "application/json" },
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.code).toBe("malformed_json");

    const explicitUtf8 = await t.request("POST", "/v1/auth/email/resend", {
      rawBody: JSON.stringify({ email: "utf8@example.com" }),
      headers: { "content-type": "application/json; charset=UTF-8" },
    });
    expect(explicitUtf8.status).toBe(202);
  });

  it("rejects an empty required body", async () => {
    const headerSets: Record<string, string>[] = [
      { "content-type": "application/json" },
      { "content-type": "application/json", "content-length": "0" },
    ];
    for (const headers of headerSets) {
      const empty = await t.request("POST", "/v1/auth/login", { rawBody: "", headers });
      expect(empty.status).toBe(400);
      expect(empty.body.code).toBe("malformed_json");
    }
  });

  it("rejects U+0000 in request text", async () => {
    const login = await t.request("POST", "/v1/auth/login", {
      rawBody: `{"identifier": "u1\\u0000@example.com", "password": "${PASSWORD}"}`,
      headers: { "content-type": "application/json" },
    });
    expect(login.status).toBe(400);
    expect(login.body.code).toBe("validation_failed");
    expect(login.body.errors).toEqual([
      { path: "identifier", message: "Text cannot contain the NUL character (U+0000)." },
    ]);
  });

  it("rejects repeated member names", async () => {
    const bodies = [
      `{"email": "first@example.com", "password": "${PASSWORD}", "email": "second@example.com"}`,
      `{"email": "first@example.com", "password": "${PASSWORD}", "\u0065mail": "second@example.com"}`,
    ];
    for (const rawBody of bodies) {
      const repeated = await t.request("POST", "/v1/auth/signup", {
        rawBody,
        headers: { "content-type": "application/json" },
      });
      expect(repeated.status).toBe(400);
      expect(repeated.body.code).toBe("malformed_json");
    }
    const created = await t.sql`
      SELECT id FROM users WHERE email IN ('first@example.com', 'second@example.com')`;
    expect(created).toHaveLength(0);
  });

  it("grants CORS only to configured origins", async () => {
    const allowed = await t.request("GET", "/health", { headers: { origin: "https://client.test" } });
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://client.test");
    expect(allowed.headers.get("vary")).toContain("Origin");

    for (const origin of ["https://evil.example", "null", "https://client.test.evil.example"]) {
      const denied = await t.request("GET", "/health", { headers: { origin } });
      expect(denied.headers.get("access-control-allow-origin")).toBeNull();
    }
    const preflight = await t.request("OPTIONS", "/v1/auth/signup", {
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    });
    expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("ignores access tokens in the URL", async () => {
    await t.request("POST", "/v1/auth/signup", { body: { email: "url@example.com", password: PASSWORD } });
    const code = /\b(\d{6})\b/.exec(t.mailer.messagesTo("url@example.com")[0]?.text ?? "")?.[1];
    const verified = await t.request("POST", "/v1/auth/email/verify", { body: { email: "url@example.com", code } });
    const response = await t.request("GET", `/v1/me?access_token=${verified.body.access_token}`);
    expect(response.status).toBe(401);
    expect(response.body.code).toBe("unauthorized");

    // The scheme name is case-insensitive; the header is the only place a token is read from.
    const lowerCase = await t.request("GET", "/v1/me", {
      headers: { authorization: `bearer ${verified.body.access_token}` },
    });
    expect(lowerCase.status).toBe(200);
  });

  it("keeps a valid client request id and replaces a hostile one", async () => {
    const kept = await t.request("GET", "/health", { headers: { "x-request-id": "client-trace-12345" } });
    expect(kept.headers.get("x-request-id")).toBe("client-trace-12345");
    const replaced = await t.request("GET", "/health", { headers: { "x-request-id": 'bad "id" <script>' } });
    expect(replaced.headers.get("x-request-id")).not.toContain("bad");
  });

  it("hides development routes outside development", async () => {
    const response = await t.request("GET", "/dev/outbox");
    expect(response.status).toBe(404);
  });
});

describe("configuration", () => {
  it("names every missing setting", async () => {
    await expect(
      parseConfig({ ...env, ENVIRONMENT: "production", JWT_SIGNING_KEYS: "", PASSWORD_PEPPER: "" }),
    ).rejects.toThrow(/JWT_SIGNING_KEYS is not set.*PASSWORD_PEPPER is not set/);
  });

  it("refuses the local endpoint outside development and tests", async () => {
    await expect(parseConfig({ ...env, ENVIRONMENT: "production", RESEND_API_KEY: "re_test" })).rejects.toThrow(
      /NEON_FETCH_ENDPOINT is for local development and tests only/,
    );
  });

  it("rejects short secrets", async () => {
    await expect(parseConfig({ ...env, CODE_HASH_KEY: "short" })).rejects.toThrow(/CODE_HASH_KEY must be at least 32/);
  });

  it("answers 503 when the configuration is invalid", async () => {
    const app = createApp();
    const response = await app.fetch(new Request("https://api.test/health"), { ...env, PASSWORD_PEPPER: "" });
    expect(response.status).toBe(503);
    const body = (await response.json()) as { code: string; detail: string };
    expect(body.code).toBe("service_unavailable");
    expect(body.detail).not.toContain("PASSWORD_PEPPER");
  });
});
