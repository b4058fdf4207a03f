import { beforeAll, describe, expect, it } from "vitest";
import { PASSWORD_HASH_ITERATIONS } from "../../src/crypto/password-hash";
import { createAccount, login, refresh } from "./helpers/accounts";
import { createTestApp, latestCode, type TestApp, type TestResponse } from "./helpers/app";

const PASSWORD = "correct horse battery staple";
const PEPPER = "test-pepper-0123456789abcdef0123456789abcdef";

function encodeBase64NoPadding(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/=+$/, "");
}

/** Build a stored hash by the documented recipe with Web Crypto alone, with any iteration count. */
async function buildStoredHash(password: string, iterations: number): Promise<string> {
  const utf8 = new TextEncoder();
  const hmacKey = await crypto.subtle.importKey("raw", utf8.encode(PEPPER), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const peppered = await crypto.subtle.sign("HMAC", hmacKey, utf8.encode(password.normalize("NFKC")));
  const baseKey = await crypto.subtle.importKey("raw", peppered, "PBKDF2", false, ["deriveBits"]);
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const hash = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-512", salt, iterations }, baseKey, 512);
  return `$pbkdf2-sha512$i=${iterations}$${encodeBase64NoPadding(salt)}$${encodeBase64NoPadding(new Uint8Array(hash))}`;
}

/** Strip what differs on every request, so two responses can be compared byte for byte. */
function comparable(response: TestResponse) {
  const headers = [...response.headers.entries()].filter(([name]) => name !== "x-request-id");
  const body = response.text.replace(/"request_id":"[^"]*"/, '"request_id":""');
  return { status: response.status, headers, body };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

describe("password sign-in", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });

  it("signs in with email, username and mobile number", async () => {
    const account = await createAccount(t, { email: "ident@example.com", password: PASSWORD, username: "Ident_User" });
    await t.sql`UPDATE users SET mobile_number = '+919876543210', is_mobile_verified = true WHERE id = ${account.userId}`;

    for (const identifier of [
      "ident@example.com",
      "  IDENT@Example.COM ",
      "ident_user",
      "IDENT_USER",
      "+919876543210",
      "98765 43210",
      "098765-43210",
    ]) {
      const response = await login(t, identifier, PASSWORD);
      expect(response.status, identifier).toBe(200);
      expect(response.body.user.id, identifier).toBe(account.userId);
      expect(response.body.token_type).toBe("Bearer");
      expect(response.body.expires_in).toBe(900);
      expect(response.body.refresh_token_expires_in).toBe(30 * 24 * 60 * 60);
    }
  });

  it("ignores unverified mobile numbers", async () => {
    const account = await createAccount(t, { email: "unverified-mobile@example.com", password: PASSWORD });
    await t.sql`UPDATE users SET mobile_number = '+919811111111', is_mobile_verified = false WHERE id = ${account.userId}`;

    const response = await login(t, "+919811111111", PASSWORD);
    expect(response.status).toBe(401);
    expect(response.body.code).toBe("invalid_credentials");
  });

  it("records the session and last login", async () => {
    const account = await createAccount(t, { email: "record@example.com", password: PASSWORD });
    t.clock.advanceSeconds(60);
    const response = await login(t, "record@example.com", PASSWORD, { "user-agent": "TestBrowser/1.0" });
    expect(response.status).toBe(200);
    expect(response.body.user.last_login_at).toBe(t.clock.now().toISOString());

    const [session] = await t.sql`
      SELECT user_agent, created_at, expires_at, last_used_at, refresh_token_hash FROM auth_sessions
      WHERE user_id = ${account.userId} ORDER BY created_at DESC LIMIT 1`;
    expect(session?.user_agent).toBe("TestBrowser/1.0");
    expect(new Date(session?.expires_at).getTime() - new Date(session?.created_at).getTime()).toBe(30 * 86_400_000);
    expect(session?.refresh_token_hash).not.toBe(response.body.refresh_token);

    const events = await t.sql`
      SELECT action, metadata FROM audit_events WHERE target_user_id = ${account.userId} AND action = 'login.succeeded'`;
    expect(events).toHaveLength(1);
  });

  it("rejects wrong and truncated passwords", async () => {
    await createAccount(t, { email: "truncate@example.com", password: PASSWORD });

    const truncated = await login(t, "truncate@example.com", PASSWORD.slice(0, -1));
    expect(truncated.status).toBe(401);
    expect(truncated.body.code).toBe("invalid_credentials");

    const longer = await login(t, "truncate@example.com", `${PASSWORD}!`);
    expect(longer.status).toBe(401);
  });

  it("accepts Unicode passwords", async () => {
    for (const [index, password] of [
      "пароль-для-входа-сюда",
      "这是一个很长的中文密码短语啊",
      "🔐🦄🌈 party time 🎉🎉",
    ].entries()) {
      const email = `unicode${index}@example.com`;
      await createAccount(t, { email, password });
      expect((await login(t, email, password)).status, password).toBe(200);
      expect((await login(t, email, password.slice(0, -1))).status, password).toBe(401);
    }
  });

  it("rejects an oversized password quickly", async () => {
    const started = performance.now();
    const response = await login(t, "truncate@example.com", "x".repeat(60_000));
    expect(response.status).toBe(400);
    expect(response.body.code).toBe("validation_failed");
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it("uses two database round trips", async () => {
    await createAccount(t, { email: "trips@example.com", password: PASSWORD });

    let response: TestResponse | undefined;
    expect(await t.countRoundTrips(async () => (response = await login(t, "trips@example.com", PASSWORD)))).toBe(2);
    expect(response?.status).toBe(200);
    expect(await t.countRoundTrips(() => login(t, "trips@example.com", "wrong password here"))).toBe(2);
    expect(await t.countRoundTrips(() => login(t, "nobody-trips@example.com", "wrong password here"))).toBe(2);
  });

  it("upgrades an outdated password hash", async () => {
    const account = await createAccount(t, { email: "rehash@example.com", password: PASSWORD });
    const oldHash = await buildStoredHash(PASSWORD, 50_000);
    await t.sql`UPDATE auth_credentials SET password_hash = ${oldHash} WHERE user_id = ${account.userId}`;

    expect((await login(t, "rehash@example.com", PASSWORD)).status).toBe(200);

    const [row] = await t.sql`SELECT password_hash FROM auth_credentials WHERE user_id = ${account.userId}`;
    expect(row?.password_hash).not.toBe(oldHash);
    expect(row?.password_hash).toMatch(new RegExp(`^\\$pbkdf2-sha512\\$i=${PASSWORD_HASH_ITERATIONS}\\$`));
    expect((await login(t, "rehash@example.com", PASSWORD)).status).toBe(200);
  });

  it("reveals status only after a correct password", async () => {
    const suspended = await createAccount(t, { email: "suspended@example.com", password: PASSWORD });
    await t.sql`UPDATE users SET status = 'suspended' WHERE id = ${suspended.userId}`;

    const wrong = await login(t, "suspended@example.com", "not the password at all");
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe("invalid_credentials");
    const right = await login(t, "suspended@example.com", PASSWORD);
    expect(right.status).toBe(403);
    expect(right.body.code).toBe("account_suspended");
    expect(right.body.access_token).toBeUndefined();

    const refreshed = await refresh(t, suspended.refreshToken);
    expect(refreshed.status).toBe(401);
  });

  it("rejects pending accounts after a correct password", async () => {
    await t.request("POST", "/v1/auth/signup", { body: { email: "pending@example.com", password: PASSWORD } });

    const wrong = await login(t, "pending@example.com", "not the password at all");
    expect(wrong.status).toBe(401);
    const right = await login(t, "pending@example.com", PASSWORD);
    expect(right.status).toBe(403);
    expect(right.body.code).toBe("email_not_verified");

    // The code still works afterwards.
    const code = latestCode(t.mailer, "pending@example.com");
    const verified = await t.request("POST", "/v1/auth/email/verify", { body: { email: "pending@example.com", code } });
    expect(verified.status).toBe(200);
  });

  it("treats deleted accounts as unknown", async () => {
    const deleted = await createAccount(t, { email: "deleted@example.com", password: PASSWORD });
    await t.sql`UPDATE users SET status = 'deleted' WHERE id = ${deleted.userId}`;

    const response = await login(t, "deleted@example.com", PASSWORD);
    expect(response.status).toBe(401);
    expect(response.body.code).toBe("invalid_credentials");
  });
});

describe("sign-in lockout", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });

  it("locks after five failures", async () => {
    const account = await createAccount(t, { email: "lock@example.com", password: PASSWORD });

    for (let attempt = 1; attempt <= 4; attempt++) {
      const response = await login(t, "lock@example.com", `wrong password ${attempt}`);
      expect(response.status, `attempt ${attempt}`).toBe(401);
    }
    const fifth = await login(t, "lock@example.com", "wrong password 5");
    expect(fifth.status).toBe(429);
    expect(fifth.body.code).toBe("too_many_attempts");
    expect(fifth.headers.get("retry-after")).toBe("900");

    t.clock.advanceSeconds(60);
    const sixth = await login(t, "lock@example.com", PASSWORD);
    expect(sixth.status).toBe(429);
    expect(sixth.body.code).toBe("too_many_attempts");
    expect(sixth.headers.get("retry-after")).toBe("840");
    expect(sixth.body.access_token).toBeUndefined();

    const mail = t.mailer.messagesTo("lock@example.com").at(-1);
    expect(mail?.subject).toBe("Sign-in to your account is paused");
    const events = await t.sql`
      SELECT action FROM audit_events WHERE target_user_id = ${account.userId} AND action LIKE 'login.%' ORDER BY id`;
    expect(events.filter((event) => event.action === "login.failed")).toHaveLength(5);
    expect(events.filter((event) => event.action === "login.locked")).toHaveLength(1);

    t.clock.advanceSeconds(840);
    const afterExpiry = await login(t, "lock@example.com", PASSWORD);
    expect(afterExpiry.status).toBe(200);
  });

  it("resets the count after a success", async () => {
    await createAccount(t, { email: "reset-count@example.com", password: PASSWORD });

    for (let attempt = 1; attempt <= 4; attempt++) await login(t, "reset-count@example.com", "wrong password here");
    expect((await login(t, "reset-count@example.com", PASSWORD)).status).toBe(200);
    for (let attempt = 1; attempt <= 4; attempt++) {
      expect((await login(t, "reset-count@example.com", "wrong password here")).status).toBe(401);
    }
  });

  it("forgets failures older than the window", async () => {
    await createAccount(t, { email: "window@example.com", password: PASSWORD });

    for (let attempt = 1; attempt <= 4; attempt++) await login(t, "window@example.com", "wrong password here");
    t.clock.advanceSeconds(15 * 60 + 1);
    expect((await login(t, "window@example.com", "wrong password here")).status).toBe(401);
    expect((await login(t, "window@example.com", PASSWORD)).status).toBe(200);
  });

  it("shares one lock across identifier kinds", async () => {
    await createAccount(t, { email: "kinds@example.com", password: PASSWORD, username: "kinds_user" });

    for (let attempt = 1; attempt <= 5; attempt++) {
      await login(t, attempt % 2 === 0 ? "kinds@example.com" : "kinds_user", "wrong password here");
    }
    expect((await login(t, "kinds@example.com", PASSWORD)).status).toBe(429);
    expect((await login(t, "kinds_user", PASSWORD)).status).toBe(429);
  });

  it("throttles unknown identifiers alike", async () => {
    for (let attempt = 1; attempt <= 4; attempt++) {
      expect((await login(t, "ghost@example.com", "wrong password here")).status).toBe(401);
    }
    const fifth = await login(t, "ghost@example.com", "wrong password here");
    expect(fifth.status).toBe(429);
    expect(fifth.headers.get("retry-after")).toBe("900");
    expect((await login(t, "GHOST@example.com", "wrong password here")).status).toBe(429);

    const keys = await t.bindings.OTP_KV.list({ prefix: "login-failures:" });
    expect(keys.keys.length).toBeGreaterThan(0);
    for (const key of keys.keys) expect(key.name).not.toContain("ghost");

    t.clock.advanceSeconds(15 * 60);
    expect((await login(t, "ghost@example.com", "wrong password here")).status).toBe(401);
  });

  it("responds identically to unknown identifiers", async () => {
    await createAccount(t, { email: "known@example.com", password: PASSWORD });

    // Each step mirrors the other path: four plain failures, then the one that locks, then a locked attempt.
    for (let attempt = 1; attempt <= 6; attempt++) {
      const known = await login(t, "known@example.com", "wrong password here");
      const unknown = await login(t, "unknown@example.com", "wrong password here");
      expect(comparable(unknown), `attempt ${attempt}`).toEqual(comparable(known));
    }
  });

  it("takes as long for unknown identifiers", async () => {
    await createAccount(t, { email: "timing@example.com", password: PASSWORD });
    // Warm up both paths once, so isolate start-up and the first KV access are not sampled.
    await login(t, "timing@example.com", "wrong password here");
    await login(t, "timing-nobody@example.com", "wrong password here");

    const knownMs: number[] = [];
    const unknownMs: number[] = [];
    for (let sample = 0; sample < 30; sample++) {
      // Each sample starts a new failure window, so neither path ever locks.
      t.clock.advanceSeconds(16 * 60);
      const order = sample % 2 === 0 ? ["known", "unknown"] : ["unknown", "known"];
      for (const kind of order) {
        const started = performance.now();
        const response =
          kind === "known"
            ? await login(t, "timing@example.com", "wrong password here")
            : await login(t, "timing-nobody@example.com", "wrong password here");
        const elapsed = performance.now() - started;
        expect(response.status).toBe(401);
        (kind === "known" ? knownMs : unknownMs).push(elapsed);
      }
    }

    const known = median(knownMs);
    const unknown = median(unknownMs);
    expect(Math.abs(known - unknown) / Math.max(known, unknown)).toBeLessThan(0.25);
  });

  it("holds the lock under parallel failures", async () => {
    const account = await createAccount(t, { email: "parallel@example.com", password: PASSWORD });

    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, index) => login(t, "parallel@example.com", `wrong password ${index}`)),
    );
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status >= 500)).toEqual([]);
    expect(statuses.filter((status) => status === 401)).toHaveLength(4);
    expect(statuses.filter((status) => status === 429)).toHaveLength(46);

    const locks =
      await t.sql`SELECT 1 FROM audit_events WHERE target_user_id = ${account.userId} AND action = 'login.locked'`;
    expect(locks).toHaveLength(1);
    expect(t.mailer.messagesTo("parallel@example.com").filter((mail) => mail.subject.includes("paused"))).toHaveLength(
      1,
    );

    expect((await login(t, "parallel@example.com", PASSWORD)).status).toBe(429);
    t.clock.advanceSeconds(15 * 60 - 1);
    expect((await login(t, "parallel@example.com", PASSWORD)).status).toBe(429);
    t.clock.advanceSeconds(1);
    expect((await login(t, "parallel@example.com", PASSWORD)).status).toBe(200);
  });
});
