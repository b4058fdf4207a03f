import { beforeAll, describe, expect, it } from "vitest";
import { createAccount, login, refresh } from "./helpers/accounts";
import { createTestApp, type TestApp, type TestResponse } from "./helpers/app";

const PASSWORD = "correct horse battery staple";

describe("refresh token rotation", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });

  it("rotates on every refresh", async () => {
    const account = await createAccount(t, { email: "rotate@example.com", password: PASSWORD });

    const first = await refresh(t, account.refreshToken);
    expect(first.status).toBe(200);
    expect(first.body.refresh_token).not.toBe(account.refreshToken);
    expect(first.body.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(first.body.user.id).toBe(account.userId);

    const me = await t.request("GET", "/v1/me", { token: first.body.access_token });
    expect(me.status).toBe(200);

    const second = await refresh(t, first.body.refresh_token);
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).not.toBe(first.body.refresh_token);

    const sessions = await t.sql`SELECT id FROM auth_sessions WHERE user_id = ${account.userId}`;
    expect(sessions).toHaveLength(1);
  });

  it("stores refresh tokens only as hashes", async () => {
    const account = await createAccount(t, { email: "hashed@example.com", password: PASSWORD });
    const rotated = await refresh(t, account.refreshToken);
    const again = await refresh(t, rotated.body.refresh_token);

    const rows =
      await t.sql`SELECT row_to_json(s)::text AS row FROM auth_sessions AS s WHERE user_id = ${account.userId}`;
    const stored = rows.map((row) => row.row as string).join("\n");
    for (const token of [account.refreshToken, rotated.body.refresh_token, again.body.refresh_token]) {
      expect(stored).not.toContain(token);
    }
    const audit = await t.sql`SELECT metadata::text AS metadata FROM audit_events`;
    for (const row of audit) expect(row.metadata).not.toContain(account.refreshToken);
  });

  it("revokes the session on reuse", async () => {
    const account = await createAccount(t, { email: "reuse@example.com", password: PASSWORD });

    const rotated = await refresh(t, account.refreshToken);
    expect(rotated.status).toBe(200);

    t.clock.advanceSeconds(31);
    const replayed = await refresh(t, account.refreshToken);
    expect(replayed.status).toBe(401);
    expect(replayed.body.code).toBe("refresh_token_reused");

    const current = await refresh(t, rotated.body.refresh_token);
    expect(current.status).toBe(401);
    expect(current.body.code).toBe("invalid_refresh_token");

    const me = await t.request("GET", "/v1/me", { token: rotated.body.access_token });
    expect(me.status).toBe(401);
    const events = await t.sql`
      SELECT 1 FROM audit_events WHERE target_user_id = ${account.userId} AND action = 'session.refresh_token_reused'`;
    expect(events).toHaveLength(1);
  });

  it("returns the same token within the grace window", async () => {
    const account = await createAccount(t, { email: "grace@example.com", password: PASSWORD });

    const first = await refresh(t, account.refreshToken);
    t.clock.advanceSeconds(29);
    const second = await refresh(t, account.refreshToken);
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).toBe(first.body.refresh_token);

    const next = await refresh(t, first.body.refresh_token);
    expect(next.status).toBe(200);
  });

  it("detects reuse of older retired tokens", async () => {
    const account = await createAccount(t, { email: "older@example.com", password: PASSWORD });

    const tokens = [account.refreshToken];
    for (let rotation = 0; rotation < 4; rotation++) {
      t.clock.advanceSeconds(60);
      const response = await refresh(t, tokens.at(-1) as string);
      expect(response.status).toBe(200);
      tokens.push(response.body.refresh_token);
    }

    const replayed = await refresh(t, tokens[0] as string);
    expect(replayed.status).toBe(401);
    expect(replayed.body.code).toBe("refresh_token_reused");
    expect((await refresh(t, tokens.at(-1) as string)).status).toBe(401);
  });

  it("rejects unknown refresh tokens", async () => {
    for (const token of ["not-a-token", "A".repeat(43), "' OR 1=1 --"]) {
      const response = await refresh(t, token);
      expect(response.status, token).toBe(401);
      expect(response.body.code).toBe("invalid_refresh_token");
    }
    const wrongType = await t.request("POST", "/v1/auth/token/refresh", { body: { refresh_token: ["a", "b"] } });
    expect(wrongType.status).toBe(400);
    const extraField = await t.request("POST", "/v1/auth/token/refresh", {
      body: { refresh_token: "x", session_id: "y" },
    });
    expect(extraField.status).toBe(400);
  });

  it("ends sessions after thirty days", async () => {
    const account = await createAccount(t, { email: "expiry@example.com", password: PASSWORD });

    let token = account.refreshToken;
    for (let day = 1; day <= 29; day++) {
      t.clock.advanceSeconds(86_400);
      const response = await refresh(t, token);
      expect(response.status, `day ${day}`).toBe(200);
      expect(response.body.refresh_token_expires_in).toBe((30 - day) * 86_400);
      token = response.body.refresh_token;
    }

    t.clock.advanceSeconds(86_400);
    const expired = await refresh(t, token);
    expect(expired.status).toBe(401);
    expect(expired.body.code).toBe("invalid_refresh_token");
  });

  it("stops sessions of suspended users", async () => {
    const account = await createAccount(t, { email: "suspend-refresh@example.com", password: PASSWORD });
    await t.sql`UPDATE users SET status = 'suspended' WHERE id = ${account.userId}`;

    const response = await refresh(t, account.refreshToken);
    expect(response.status).toBe(401);
    expect(response.body.code).toBe("invalid_refresh_token");
  });

  it("uses one database round trip", async () => {
    const account = await createAccount(t, { email: "refresh-trips@example.com", password: PASSWORD });

    let response: TestResponse | undefined;
    expect(await t.countRoundTrips(async () => (response = await refresh(t, account.refreshToken)))).toBe(1);
    expect(response?.status).toBe(200);
    t.clock.advanceSeconds(31);
    expect(await t.countRoundTrips(async () => (response = await refresh(t, account.refreshToken)))).toBe(1);
    expect(response?.body.code).toBe("refresh_token_reused");
  });

  it("survives twenty parallel refreshes", async () => {
    const account = await createAccount(t, { email: "race@example.com", password: PASSWORD });

    const responses = await Promise.all(Array.from({ length: 20 }, () => refresh(t, account.refreshToken)));
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status >= 500)).toEqual([]);
    expect(statuses.every((status) => status === 200)).toBe(true);

    const tokens = new Set(responses.map((response) => response.body.refresh_token));
    expect(tokens.size).toBe(1);
    const sessions = await t.sql`SELECT id FROM auth_sessions WHERE user_id = ${account.userId}`;
    expect(sessions).toHaveLength(1);

    const next = await refresh(t, [...tokens][0] as string);
    expect(next.status).toBe(200);
  });
});

describe("signing out", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });

  it("signs out with the access token", async () => {
    const account = await createAccount(t, { email: "logout@example.com", password: PASSWORD });
    const other = await login(t, "logout@example.com", PASSWORD);

    let response: TestResponse | undefined;
    const trips = await t.countRoundTrips(
      async () => (response = await t.request("POST", "/v1/auth/logout", { token: account.accessToken })),
    );
    expect(response?.status).toBe(204);
    expect(trips).toBe(1);

    expect((await refresh(t, account.refreshToken)).status).toBe(401);
    expect((await t.request("GET", "/v1/me", { token: account.accessToken })).status).toBe(401);
    expect((await refresh(t, other.body.refresh_token)).status).toBe(200);
  });

  it("signs out with the refresh token", async () => {
    const account = await createAccount(t, { email: "logout-refresh@example.com", password: PASSWORD });

    const response = await t.request("POST", "/v1/auth/logout", { body: { refresh_token: account.refreshToken } });
    expect(response.status).toBe(204);
    expect((await refresh(t, account.refreshToken)).status).toBe(401);

    const again = await t.request("POST", "/v1/auth/logout", { body: { refresh_token: account.refreshToken } });
    expect(again.status).toBe(204);
  });

  it("signs out with an expired access token", async () => {
    const account = await createAccount(t, { email: "logout-expired@example.com", password: PASSWORD });
    t.clock.advanceSeconds(16 * 60);

    const response = await t.request("POST", "/v1/auth/logout", {
      token: account.accessToken,
      body: { refresh_token: account.refreshToken },
    });
    expect(response.status).toBe(204);
    expect((await refresh(t, account.refreshToken)).status).toBe(401);
  });

  it("requires some credential to sign out", async () => {
    const response = await t.request("POST", "/v1/auth/logout");
    expect(response.status).toBe(401);
    expect(response.body.code).toBe("unauthorized");
  });

  it("signs out everywhere", async () => {
    const account = await createAccount(t, { email: "logout-all@example.com", password: PASSWORD });
    const second = await login(t, "logout-all@example.com", PASSWORD);
    const third = await login(t, "logout-all@example.com", PASSWORD);

    const response = await t.request("POST", "/v1/auth/logout-all", { token: second.body.access_token });
    expect(response.status).toBe(204);
    for (const token of [account.refreshToken, second.body.refresh_token, third.body.refresh_token]) {
      expect((await refresh(t, token)).status).toBe(401);
    }
    const events = await t.sql`
      SELECT 1 FROM audit_events WHERE target_user_id = ${account.userId} AND action = 'session.revoked_all'`;
    expect(events).toHaveLength(1);

    const again = await t.request("POST", "/v1/auth/logout-all", { token: second.body.access_token });
    expect(again.status).toBe(401);
  });
});

describe("session list", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });

  it("lists live sessions", async () => {
    const account = await createAccount(t, { email: "list@example.com", password: PASSWORD });
    t.clock.advanceSeconds(10);
    const phone = await login(t, "list@example.com", PASSWORD, { "user-agent": "Phone/2.0" });
    const revoked = await login(t, "list@example.com", PASSWORD);
    await t.request("POST", "/v1/auth/logout", { token: revoked.body.access_token });

    const response = await t.request("GET", "/v1/auth/sessions", { token: phone.body.access_token });
    expect(response.status).toBe(200);
    expect(response.body.sessions).toHaveLength(2);
    const [newest, oldest] = response.body.sessions;
    expect(newest).toMatchObject({ user_agent: "Phone/2.0", current: true, created_at: t.clock.now().toISOString() });
    expect(Object.keys(newest).sort()).toEqual([
      "created_at",
      "current",
      "expires_at",
      "id",
      "last_used_at",
      "user_agent",
    ]);
    expect(oldest.current).toBe(false);

    const fromFirst = await t.request("GET", "/v1/auth/sessions", { token: account.accessToken });
    expect(fromFirst.body.sessions.filter((session: { current: boolean }) => session.current)).toHaveLength(1);
    expect(fromFirst.body.sessions.find((session: { current: boolean }) => session.current).id).toBe(oldest.id);
  });

  it("revokes one session by id", async () => {
    const account = await createAccount(t, { email: "revoke@example.com", password: PASSWORD });
    const laptop = await login(t, "revoke@example.com", PASSWORD);
    const list = await t.request("GET", "/v1/auth/sessions", { token: account.accessToken });
    const laptopSession = list.body.sessions.find((session: { current: boolean }) => !session.current);

    const response = await t.request("DELETE", `/v1/auth/sessions/${laptopSession.id}`, { token: account.accessToken });
    expect(response.status).toBe(204);
    expect((await refresh(t, laptop.body.refresh_token)).status).toBe(401);
    expect((await refresh(t, account.refreshToken)).status).toBe(200);

    const again = await t.request("DELETE", `/v1/auth/sessions/${laptopSession.id}`, { token: account.accessToken });
    expect(again.status).toBe(404);
  });

  it("hides other users' sessions", async () => {
    const owner = await createAccount(t, { email: "owner@example.com", password: PASSWORD });
    const intruder = await createAccount(t, { email: "intruder@example.com", password: PASSWORD });
    const [ownerSession] = await t.sql`SELECT id FROM auth_sessions WHERE user_id = ${owner.userId}`;

    const response = await t.request("DELETE", `/v1/auth/sessions/${ownerSession?.id}`, {
      token: intruder.accessToken,
    });
    expect(response.status).toBe(404);
    expect(response.body.code).toBe("not_found");
    expect((await refresh(t, owner.refreshToken)).status).toBe(200);

    const unknown = await t.request("DELETE", `/v1/auth/sessions/${crypto.randomUUID()}`, {
      token: intruder.accessToken,
    });
    expect(unknown.status).toBe(404);
    const malformed = await t.request("DELETE", "/v1/auth/sessions/not-a-uuid", { token: intruder.accessToken });
    expect(malformed.status).toBe(400);
  });

  it("uses one round trip per call", async () => {
    const account = await createAccount(t, { email: "session-trips@example.com", password: PASSWORD });
    const other = await login(t, "session-trips@example.com", PASSWORD);

    let list: TestResponse | undefined;
    expect(
      await t.countRoundTrips(
        async () => (list = await t.request("GET", "/v1/auth/sessions", { token: account.accessToken })),
      ),
    ).toBe(1);
    const otherId = list?.body.sessions.find((session: { current: boolean }) => !session.current).id;

    let deleted: TestResponse | undefined;
    expect(
      await t.countRoundTrips(
        async () =>
          (deleted = await t.request("DELETE", `/v1/auth/sessions/${otherId}`, { token: account.accessToken })),
      ),
    ).toBe(1);
    expect(deleted?.status).toBe(204);
    expect((await refresh(t, other.body.refresh_token)).status).toBe(401);

    let signedOut: TestResponse | undefined;
    expect(
      await t.countRoundTrips(
        async () => (signedOut = await t.request("POST", "/v1/auth/logout-all", { token: account.accessToken })),
      ),
    ).toBe(1);
    expect(signedOut?.status).toBe(204);
  });

  it("rejects a revoked session's token", async () => {
    const account = await createAccount(t, { email: "revoked-list@example.com", password: PASSWORD });
    await t.request("POST", "/v1/auth/logout", { token: account.accessToken });

    expect((await t.request("GET", "/v1/auth/sessions", { token: account.accessToken })).status).toBe(401);
    const [session] = await t.sql`SELECT id FROM auth_sessions WHERE user_id = ${account.userId}`;
    const deleted = await t.request("DELETE", `/v1/auth/sessions/${session?.id}`, { token: account.accessToken });
    expect(deleted.status).toBe(401);
  });
});

describe("access tokens", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });

  it("never reads tokens from the URL", async () => {
    const account = await createAccount(t, { email: "url@example.com", password: PASSWORD });

    const response = await t.request("GET", `/v1/me?access_token=${account.accessToken}`);
    expect(response.status).toBe(401);
    expect(response.body.code).toBe("unauthorized");
  });

  it("reads the user in one round trip", async () => {
    const account = await createAccount(t, { email: "me-trips@example.com", password: PASSWORD });

    let response: TestResponse | undefined;
    const trips = await t.countRoundTrips(
      async () => (response = await t.request("GET", "/v1/me", { token: account.accessToken })),
    );
    expect(response?.status).toBe(200);
    expect(trips).toBeLessThanOrEqual(1);
  });
});
