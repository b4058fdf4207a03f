// Parallel requests that compete for one row: only Postgres constraints and conditional updates
// can keep these exact, so they are run against the real server in CI (TEST_DATABASE_URL). On
// PGlite the endpoint executes one query at a time, so the same requests still run but serially.
// A race whose operations are missing from /openapi.json is skipped as not implemented yet.
import { beforeAll, describe, expect, it } from "vitest";
import {
  type ApiClient,
  type ApiResponse,
  BENCH_PASSWORD,
  createActiveAccount,
  latestCode,
  latestResetToken,
  uniqueEmail,
} from "../../endpoints/api-client";
import { documentedOperations } from "../../endpoints/catalog";
import { apiOf, distinctClient } from "../helpers/api";
import { createTestApp, type TestApp } from "../helpers/app";
import { consistencyViolations } from "../helpers/invariants";

const RACE_TIMEOUT_MS = 120_000;

function statuses(responses: ApiResponse[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const response of responses) counts[response.status] = (counts[response.status] ?? 0) + 1;
  return counts;
}

function expectNoServerError(responses: ApiResponse[]): void {
  const failed = responses.filter((response) => response.status >= 500);
  expect(failed.map((response) => response.text)).toEqual([]);
}

function inParallel<T>(count: number, send: (index: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: count }, (_, index) => send(index)));
}

describe("races", () => {
  let t: TestApp;
  let api: ApiClient;
  let documented: Set<string>;

  beforeAll(async () => {
    t = await createTestApp();
    // Every request comes from its own address, so per-address rate limits do not decide the race.
    api = apiOf(t, { headers: distinctClient });
    documented = await documentedOperations(api);
  });

  function requireOperations(skip: (note: string) => void, ...operations: string[]): void {
    const missing = operations.filter((operation) => !documented.has(operation));
    if (missing.length > 0) skip(`not implemented yet: ${missing.join(", ")}`);
  }

  it(
    "fifty sign-ups with one email",
    async () => {
      const email = uniqueEmail("race-signup");
      const responses = await inParallel(50, (index) =>
        api.request("POST", "/v1/auth/signup", { body: { email, password: `${BENCH_PASSWORD} ${index}` } }),
      );

      expectNoServerError(responses);
      expect(statuses(responses)).toEqual({ 202: 50 });
      const users = await t.sql`SELECT id FROM users WHERE email = ${email}`;
      expect(users).toHaveLength(1);
      const credentials =
        await t.sql`SELECT c.user_id FROM auth_credentials c JOIN users u ON u.id = c.user_id WHERE u.email = ${email}`;
      expect(credentials).toHaveLength(1);
      const liveCodes = await t.sql`SELECT id FROM verifications WHERE identifier = ${email} AND consumed_at IS NULL`;
      expect(liveCodes).toHaveLength(1);

      // The last code sent is the live one, and it activates the single account.
      const verified = await api.request("POST", "/v1/auth/email/verify", {
        body: { email, code: await latestCode(api, email) },
      });
      expect(verified.status).toBe(200);
      expect(verified.body.user.id).toBe(users[0]?.id);
    },
    RACE_TIMEOUT_MS,
  );

  it(
    "twenty refreshes with one token",
    async (context) => {
      requireOperations((note) => context.skip(note), "POST /v1/auth/token/refresh");
      const account = await createActiveAccount(api, "race-refresh");
      const sessionsBefore = await t.sql`SELECT id FROM auth_sessions WHERE user_id = ${account.userId}`;

      const responses = await inParallel(20, () =>
        api.request("POST", "/v1/auth/token/refresh", { body: { refresh_token: account.refreshToken } }),
      );

      expectNoServerError(responses);
      const succeeded = responses.filter((response) => response.status === 200);
      expect(succeeded.length).toBeGreaterThan(0);
      const newTokens = new Set(succeeded.map((response) => response.body.refresh_token));
      expect(newTokens.size, "every winner must hold the same new refresh token").toBe(1);
      expect(newTokens.has(account.refreshToken)).toBe(false);
      const sessionsAfter = await t.sql`SELECT id FROM auth_sessions WHERE user_id = ${account.userId}`;
      expect(sessionsAfter).toEqual(sessionsBefore);

      const [newToken] = [...newTokens];
      const next = await api.request("POST", "/v1/auth/token/refresh", { body: { refresh_token: newToken } });
      expect(next.status).toBe(200);
    },
    RACE_TIMEOUT_MS,
  );

  it(
    "ten verifications of one code",
    async () => {
      const email = uniqueEmail("race-verify");
      await api.request("POST", "/v1/auth/signup", { body: { email, password: BENCH_PASSWORD } });
      const code = await latestCode(api, email);

      const responses = await inParallel(10, () =>
        api.request("POST", "/v1/auth/email/verify", { body: { email, code } }),
      );

      expectNoServerError(responses);
      expect(statuses(responses)).toEqual({ 200: 1, 400: 9 });
      const sessions =
        await t.sql`SELECT s.id FROM auth_sessions s JOIN users u ON u.id = s.user_id WHERE u.email = ${email}`;
      expect(sessions).toHaveLength(1);
    },
    RACE_TIMEOUT_MS,
  );

  it(
    "ten sign-in code verifications",
    async (context) => {
      requireOperations((note) => context.skip(note), "POST /v1/auth/otp/request", "POST /v1/auth/otp/verify");
      const account = await createActiveAccount(api, "race-otp");
      const body = { channel: "email", destination: account.email };
      expect((await api.request("POST", "/v1/auth/otp/request", { body })).status).toBe(202);
      const code = await latestCode(api, account.email);
      const sessionsBefore = await t.sql`SELECT id FROM auth_sessions WHERE user_id = ${account.userId}`;

      const responses = await inParallel(10, () =>
        api.request("POST", "/v1/auth/otp/verify", { body: { ...body, code } }),
      );

      expectNoServerError(responses);
      expect(statuses(responses)).toEqual({ 200: 1, 400: 9 });
      const sessionsAfter = await t.sql`SELECT id FROM auth_sessions WHERE user_id = ${account.userId}`;
      expect(sessionsAfter).toHaveLength(sessionsBefore.length + 1);
    },
    RACE_TIMEOUT_MS,
  );

  it(
    "ten resets with one token",
    async (context) => {
      requireOperations((note) => context.skip(note), "POST /v1/auth/password/forgot", "POST /v1/auth/password/reset");
      const account = await createActiveAccount(api, "race-reset");
      expect((await api.request("POST", "/v1/auth/password/forgot", { body: { email: account.email } })).status).toBe(
        202,
      );
      const token = await latestResetToken(api, account.email);

      const responses = await inParallel(10, (index) =>
        api.request("POST", "/v1/auth/password/reset", {
          body: { token, password: `a brand new passphrase ${index}` },
        }),
      );

      expectNoServerError(responses);
      expect(statuses(responses)).toEqual({ 204: 1, 400: 9 });
    },
    RACE_TIMEOUT_MS,
  );

  it(
    "fifty wrong passwords lock the account",
    async (context) => {
      requireOperations((note) => context.skip(note), "POST /v1/auth/login");
      const account = await createActiveAccount(api, "race-lockout");

      const responses = await inParallel(50, (index) =>
        api.request("POST", "/v1/auth/login", {
          body: { identifier: account.email, password: `wrong passphrase number ${index}` },
        }),
      );

      expectNoServerError(responses);
      const counts = statuses(responses);
      expect(Object.keys(counts).sort()).toEqual(expect.arrayContaining(["429"]));
      for (const status of Object.keys(counts)) expect(["401", "429"]).toContain(status);
      expect(counts[401] ?? 0, "at most five failures may be checked before the lock").toBeLessThanOrEqual(5);

      const rightPassword = await api.request("POST", "/v1/auth/login", {
        body: { identifier: account.email, password: account.password },
      });
      expect(rightPassword.status).toBe(429);
      expect(rightPassword.headers.get("retry-after")).toMatch(/^\d+$/);
    },
    RACE_TIMEOUT_MS,
  );

  it("leaves the data consistent", async () => {
    expect(await consistencyViolations(t)).toEqual([]);
  });
});
