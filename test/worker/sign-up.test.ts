import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestApp, latestCode, type TestApp } from "./helpers/app";

const PASSWORD = "correct horse battery staple";

/** Everything in a response that must not differ between accounts, with the request id removed. */
function comparable(response: { status: number; headers: Headers; text: string }) {
  const headers = [...response.headers.entries()].filter(([name]) => name !== "x-request-id");
  return { status: response.status, headers, body: response.text.replace(/"request_id":"[^"]*"/, "") };
}

async function countRows(t: TestApp, table: string): Promise<number> {
  const rows = await t.sql.query(`SELECT count(*)::int AS n FROM ${table}`);
  return rows[0]?.n as number;
}

describe("sign-up and email verification", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  beforeEach(() => {
    t.mailer.messages.length = 0;
  });

  it("signs up, verifies and reads the account", async () => {
    const signUp = await t.request("POST", "/v1/auth/signup", {
      body: { email: "Asha@Example.com", password: PASSWORD, username: "asha" },
    });
    expect(signUp.status).toBe(202);
    expect(signUp.body).toEqual({
      status: "verification_required",
      channel: "email",
      destination: "a***@example.com",
      expires_in: 600,
    });

    const code = latestCode(t.mailer, "asha@example.com");
    const verified = await t.request("POST", "/v1/auth/email/verify", { body: { email: "asha@example.com", code } });
    expect(verified.status).toBe(200);
    expect(verified.body.token_type).toBe("Bearer");
    expect(verified.body.expires_in).toBe(900);
    expect(verified.body.refresh_token_expires_in).toBe(30 * 24 * 60 * 60);
    expect(verified.body.refresh_token.length).toBeGreaterThanOrEqual(43);
    expect(verified.body.user).toMatchObject({ status: "active", is_email_verified: true, username: "asha" });

    const me = await t.request("GET", "/v1/me", { token: verified.body.access_token });
    expect(me.status).toBe(200);
    expect(me.body.user.email).toBe("asha@example.com");
    expect(me.body.user.is_email_verified).toBe(true);
    expect(me.body.profile).toBeNull();
    expect(me.body.kyc).toBeNull();
    expect(me.body.login_methods).toEqual({ password: true, oauth: [] });
    expect(me.headers.get("cache-control")).toBe("no-store");
  });

  it("answers identically for new, pending and active addresses", async () => {
    await t.request("POST", "/v1/auth/signup", { body: { email: "pending@example.com", password: PASSWORD } });
    await t.request("POST", "/v1/auth/signup", { body: { email: "active@example.com", password: PASSWORD } });
    const code = latestCode(t.mailer, "active@example.com");
    await t.request("POST", "/v1/auth/email/verify", { body: { email: "active@example.com", code } });
    t.mailer.messages.length = 0;

    const answers = await Promise.all(
      ["new@example.com", "pending@example.com", "active@example.com"].map((email) =>
        t.request("POST", "/v1/auth/signup", { body: { email, password: PASSWORD } }),
      ),
    );
    const [fresh, pending, active] = answers.map(comparable);
    expect(fresh?.status).toBe(202);
    // The masked destination differs by address, so compare each against its own masking.
    expect(pending?.body.replace("p***", "n***")).toBe(fresh?.body);
    expect(active?.body.replace("a***", "n***")).toBe(fresh?.body);
    expect(pending?.headers).toEqual(fresh?.headers);
    expect(active?.headers).toEqual(fresh?.headers);

    expect(t.mailer.messagesTo("active@example.com")).toHaveLength(1);
    expect(t.mailer.messagesTo("active@example.com")[0]?.text).not.toMatch(/\b\d{6}\b/);
    expect(t.mailer.messagesTo("new@example.com")[0]?.text).toMatch(/\b\d{6}\b/);
  });

  it("resend answers identically and sends codes only to pending accounts", async () => {
    await t.request("POST", "/v1/auth/signup", { body: { email: "resend-pending@example.com", password: PASSWORD } });
    const firstCode = latestCode(t.mailer, "resend-pending@example.com");
    t.mailer.messages.length = 0;

    const unknown = await t.request("POST", "/v1/auth/email/resend", { body: { email: "resend-nobody@example.com" } });
    const pending = await t.request("POST", "/v1/auth/email/resend", { body: { email: "resend-pending@example.com" } });
    const active = await t.request("POST", "/v1/auth/email/resend", { body: { email: "active@example.com" } });
    for (const response of [unknown, pending, active]) {
      expect(response.status).toBe(202);
      expect(response.body.status).toBe("verification_required");
      expect(response.body.expires_in).toBe(600);
    }
    expect(comparable(pending).headers).toEqual(comparable(unknown).headers);

    expect(t.mailer.messagesTo("resend-nobody@example.com")).toHaveLength(0);
    expect(t.mailer.messagesTo("active@example.com")[0]?.text).not.toMatch(/\b\d{6}\b/);
    const newCode = latestCode(t.mailer, "resend-pending@example.com");

    // A newer code replaces the older one.
    if (firstCode !== newCode) {
      const stale = await t.request("POST", "/v1/auth/email/verify", {
        body: { email: "resend-pending@example.com", code: firstCode },
      });
      expect(stale.status).toBe(400);
      expect(stale.body.code).toBe("invalid_code");
    }
    const fresh = await t.request("POST", "/v1/auth/email/verify", {
      body: { email: "resend-pending@example.com", code: newCode },
    });
    expect(fresh.status).toBe(200);
  });

  it("reclaims a pending account with a new password", async () => {
    await t.request("POST", "/v1/auth/signup", { body: { email: "reclaim@example.com", password: PASSWORD } });
    const [before] =
      await t.sql`SELECT u.id, c.password_hash FROM users u JOIN auth_credentials c ON c.user_id = u.id WHERE u.email = 'reclaim@example.com'`;

    await t.request("POST", "/v1/auth/signup", {
      body: { email: "reclaim@example.com", password: "another long passphrase here" },
    });
    const after =
      await t.sql`SELECT u.id, c.password_hash FROM users u JOIN auth_credentials c ON c.user_id = u.id WHERE u.email = 'reclaim@example.com'`;
    expect(after).toHaveLength(1);
    expect(after[0]?.id).toBe(before?.id);
    expect(after[0]?.password_hash).not.toBe(before?.password_hash);

    // The second mail warns that its code activates the latest sign-up's password.
    const [first, second] = t.mailer.messagesTo("reclaim@example.com");
    expect(first?.text).not.toContain("signed up again");
    expect(second?.text).toContain("Someone signed up again with this address");
    expect(second?.text).toContain("If you signed up only once, do not use this code");

    const verified = await t.request("POST", "/v1/auth/email/verify", {
      body: { email: "reclaim@example.com", code: latestCode(t.mailer, "reclaim@example.com") },
    });
    expect(verified.status).toBe(200);
  });

  it("never changes the password of an active account", async () => {
    const [before] =
      await t.sql`SELECT c.password_hash FROM users u JOIN auth_credentials c ON c.user_id = u.id WHERE u.email = 'active@example.com'`;
    await t.request("POST", "/v1/auth/signup", {
      body: { email: "active@example.com", password: "attacker chosen passphrase" },
    });
    const [after] =
      await t.sql`SELECT c.password_hash, u.status FROM users u JOIN auth_credentials c ON c.user_id = u.id WHERE u.email = 'active@example.com'`;
    expect(after?.password_hash).toBe(before?.password_hash);
    expect(after?.status).toBe("active");
  });

  it("reports a taken username whoever asks", async () => {
    const taken = await t.request("POST", "/v1/auth/signup", {
      body: { email: "someone-else@example.com", password: PASSWORD, username: "ASHA" },
    });
    expect(taken.status).toBe(409);
    expect(taken.body.code).toBe("username_taken");

    const ownerAddress = await t.request("POST", "/v1/auth/signup", {
      body: { email: "asha@example.com", password: PASSWORD, username: "asha" },
    });
    expect(ownerAddress.status).toBe(409);
  });

  it("burns a code after five wrong tries", async () => {
    await t.request("POST", "/v1/auth/signup", { body: { email: "burn@example.com", password: PASSWORD } });
    const code = latestCode(t.mailer, "burn@example.com");
    const wrong = code === "000000" ? "111111" : "000000";
    for (let attempt = 0; attempt < 5; attempt++) {
      const response = await t.request("POST", "/v1/auth/email/verify", {
        body: { email: "burn@example.com", code: wrong },
      });
      expect(response.status).toBe(400);
      expect(response.body.code).toBe("invalid_code");
    }
    const right = await t.request("POST", "/v1/auth/email/verify", { body: { email: "burn@example.com", code } });
    expect(right.status).toBe(400);
  });

  it("rejects a code after ten minutes", async () => {
    await t.request("POST", "/v1/auth/signup", { body: { email: "late@example.com", password: PASSWORD } });
    const code = latestCode(t.mailer, "late@example.com");
    t.clock.advanceSeconds(10 * 60 + 1);
    const response = await t.request("POST", "/v1/auth/email/verify", { body: { email: "late@example.com", code } });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe("invalid_code");
  });

  it("lets exactly one of two parallel verifications win", async () => {
    await t.request("POST", "/v1/auth/signup", { body: { email: "race@example.com", password: PASSWORD } });
    const code = latestCode(t.mailer, "race@example.com");
    const results = await Promise.all(
      [1, 2].map(() => t.request("POST", "/v1/auth/email/verify", { body: { email: "race@example.com", code } })),
    );
    expect(results.map((response) => response.status).sort()).toEqual([200, 400]);
    const sessions =
      await t.sql`SELECT count(*)::int AS n FROM auth_sessions s JOIN users u ON u.id = s.user_id WHERE u.email = 'race@example.com'`;
    expect(sessions[0]?.n).toBe(1);
  });

  it("stores codes and refresh tokens only as hashes", async () => {
    await t.request("POST", "/v1/auth/signup", { body: { email: "hashes@example.com", password: PASSWORD } });
    const code = latestCode(t.mailer, "hashes@example.com");
    const verified = await t.request("POST", "/v1/auth/email/verify", { body: { email: "hashes@example.com", code } });

    const dump = JSON.stringify([
      await t.sql`SELECT * FROM verifications`,
      await t.sql`SELECT * FROM auth_sessions`,
      await t.sql`SELECT * FROM auth_credentials`,
      await t.sql`SELECT * FROM audit_events`,
    ]);
    expect(dump).not.toContain(code);
    expect(dump).not.toContain(verified.body.refresh_token);
    expect(dump).not.toContain(PASSWORD);
  });

  it("makes the expected number of database round trips", async () => {
    const signUp = await t.countRoundTrips(() =>
      t.request("POST", "/v1/auth/signup", { body: { email: "trips@example.com", password: PASSWORD } }),
    );
    const code = latestCode(t.mailer, "trips@example.com");
    let accessToken = "";
    const verify = await t.countRoundTrips(async () => {
      const response = await t.request("POST", "/v1/auth/email/verify", { body: { email: "trips@example.com", code } });
      accessToken = response.body.access_token;
    });
    const me = await t.countRoundTrips(() => t.request("GET", "/v1/me", { token: accessToken }));
    const resend = await t.countRoundTrips(() =>
      t.request("POST", "/v1/auth/email/resend", { body: { email: "trips@example.com" } }),
    );
    expect({ signUp, verify, me, resend }).toEqual({ signUp: 2, verify: 1, me: 1, resend: 1 });
  });

  it("writes nothing for invalid input", async () => {
    const before = await Promise.all(
      ["users", "auth_credentials", "verifications"].map((table) => countRows(t, table)),
    );
    const invalidBodies: unknown[] = [
      {},
      { email: "not-an-email", password: PASSWORD },
      { email: ["a@x.io", "b@y.io"], password: PASSWORD },
      { email: "a@x.io,b@y.io", password: PASSWORD },
      { email: "short@example.com", password: "elevenchars" },
      { email: "common@example.com", password: "password1234" },
      { email: "common@example.com", password: "qwertyuiop12" },
      { email: "jane.doe@example.com", password: "jane.doe2024!!" },
      { email: "mass@example.com", password: PASSWORD, role: "admin" },
      { email: "mass@example.com", password: PASSWORD, status: "active" },
      { email: "mass@example.com", password: PASSWORD, is_email_verified: true },
      { email: "mass@example.com", password: PASSWORD, user_id: crypto.randomUUID() },
      { email: "proto@example.com", password: PASSWORD, __proto__: { role: "admin" } },
      { email: "sql@example.com'; DROP TABLE users;--", password: PASSWORD },
      { email: "user@example.com", password: PASSWORD, username: "x' OR 1=1--" },
      { email: "user@example.com", password: PASSWORD, username: "ab" },
      { email: "user@example.com", password: 12345678901234 },
      { email: "user@example.com", password: { length: 20 } },
      { email: `${"a".repeat(250)}@example.com`, password: PASSWORD },
      "just a string",
      [1, 2, 3],
      null,
    ];
    for (const body of invalidBodies) {
      const raw =
        typeof body === "object" && body !== null && "__proto__" in body
          ? '{"email":"proto@example.com","password":"correct horse battery staple","__proto__":{"role":"admin"}}'
          : JSON.stringify(body);
      const response = await t.request("POST", "/v1/auth/signup", {
        rawBody: raw,
        headers: { "content-type": "application/json" },
      });
      expect(response.status, raw).toBe(400);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
      expect(response.body.code).toBe("validation_failed");
      expect(Array.isArray(response.body.errors)).toBe(true);
    }
    for (const body of [
      { email: "x@example.com", code: "12345" },
      { email: "x@example.com", code: "abcdef" },
      { email: "x@example.com" },
      { email: "x@example.com", code: "123456", extra: 1 },
    ]) {
      const response = await t.request("POST", "/v1/auth/email/verify", { body });
      expect(response.status).toBe(400);
      expect(response.body.code).toBe("validation_failed");
    }
    const after = await Promise.all(["users", "auth_credentials", "verifications"].map((table) => countRows(t, table)));
    expect(after).toEqual(before);
    expect(t.mailer.messages).toHaveLength(0);
  });

  it("names unknown fields in the error list", async () => {
    const response = await t.request("POST", "/v1/auth/signup", {
      body: { email: "mass@example.com", password: PASSWORD, role: "admin" },
    });
    expect(response.body.errors).toContainEqual({ path: "role", message: "Unknown field." });
  });

  it("accepts a 12-character and a Unicode password", async () => {
    for (const [email, password] of [
      ["twelve@example.com", "abcdefghijkm"],
      ["unicode@example.com", "пароль 密码 🔐 очень длинный"],
    ] as const) {
      const response = await t.request("POST", "/v1/auth/signup", { body: { email, password } });
      expect(response.status).toBe(202);
    }
  });
});

// KV counts the 1-per-minute rule too, but eventually: two sign-ups close together can both pass it
// there. The limiter below lets everything through, as KV does then, so the database rule decides.
describe("sign-up again within the resend interval", () => {
  const OTHER_PASSWORD = "another long passphrase here";
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({
      settings: { RATE_LIMIT_CODE_SENDS_PER_DESTINATION: "1/60s, 5/1h, 10/1d" },
      overrides: { rateLimiter: { consume: async () => ({ allowed: true }) } },
    });
  });

  async function passwordHashOf(email: string): Promise<unknown> {
    const [row] = await t.sql`
      SELECT c.password_hash FROM users u JOIN auth_credentials c ON c.user_id = u.id WHERE u.email = ${email}`;
    return row?.password_hash;
  }

  it("keeps the password within the interval", async () => {
    const email = "within-interval@example.com";
    await t.request("POST", "/v1/auth/signup", { body: { email, password: PASSWORD } });
    const firstHash = await passwordHashOf(email);
    const firstCode = latestCode(t.mailer, email);

    t.clock.advanceSeconds(30);
    const again = await t.request("POST", "/v1/auth/signup", { body: { email, password: OTHER_PASSWORD } });
    expect(again.status).toBe(202);
    expect(await passwordHashOf(email)).toBe(firstHash);
    expect(t.mailer.messagesTo(email)).toHaveLength(1);

    const verified = await t.request("POST", "/v1/auth/email/verify", { body: { email, code: firstCode } });
    expect(verified.status).toBe(200);
    expect(
      (await t.request("POST", "/v1/auth/login", { body: { identifier: email, password: PASSWORD } })).status,
    ).toBe(200);
    const other = await t.request("POST", "/v1/auth/login", { body: { identifier: email, password: OTHER_PASSWORD } });
    expect(other.status).toBe(401);
  });

  it("replaces the password after the interval", async () => {
    const email = "after-interval@example.com";
    await t.request("POST", "/v1/auth/signup", { body: { email, password: PASSWORD } });
    const firstHash = await passwordHashOf(email);

    t.clock.advanceSeconds(61);
    const again = await t.request("POST", "/v1/auth/signup", { body: { email, password: OTHER_PASSWORD } });
    expect(again.status).toBe(202);
    expect(await passwordHashOf(email)).not.toBe(firstHash);
    expect(t.mailer.messagesTo(email)).toHaveLength(2);

    const verified = await t.request("POST", "/v1/auth/email/verify", {
      body: { email, code: latestCode(t.mailer, email) },
    });
    expect(verified.status).toBe(200);
    const login = await t.request("POST", "/v1/auth/login", { body: { identifier: email, password: OTHER_PASSWORD } });
    expect(login.status).toBe(200);
  });
});
