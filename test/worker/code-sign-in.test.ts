import { beforeAll, describe, expect, it } from "vitest";
import { createTestApp, latestCode, type TestApp } from "./helpers/app";

const PASSWORD = "correct horse battery staple";

function requestCode(t: TestApp, channel: "email" | "sms", destination: string, headers: Record<string, string> = {}) {
  return t.request("POST", "/v1/auth/otp/request", { body: { channel, destination }, headers });
}

function verifyCode(t: TestApp, channel: "email" | "sms", destination: string, code: string) {
  return t.request("POST", "/v1/auth/otp/verify", { body: { channel, destination, code } });
}

/** Return a 6-digit code that differs from `code`. */
function wrongCode(code: string): string {
  return String((Number(code) + 1) % 1_000_000).padStart(6, "0");
}

async function signUpActive(t: TestApp, email: string) {
  await t.request("POST", "/v1/auth/signup", { body: { email, password: PASSWORD } });
  const verified = await t.request("POST", "/v1/auth/email/verify", {
    body: { email, code: latestCode(t.mailer, email) },
  });
  expect(verified.status).toBe(200);
  return verified.body;
}

describe("sign-in by SMS code", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });

  it("creates an account on first sign-in", async () => {
    const requested = await requestCode(t, "sms", "98765 43210");
    expect(requested.status).toBe(202);
    expect(requested.body).toEqual({
      status: "code_sent",
      channel: "sms",
      destination: "+91******10",
      expires_in: 600,
    });

    const message = t.sms.messagesTo("+919876543210").at(-1);
    expect(message?.text).toMatch(/^\d{6} is your Trade Identity code/);
    expect(message?.text).toContain("@app.test #");

    const verified = await verifyCode(t, "sms", "+919876543210", latestCode(t.sms, "+919876543210"));
    expect(verified.status).toBe(200);
    expect(verified.body.created).toBe(true);
    expect(verified.body.token_type).toBe("Bearer");
    expect(verified.body.user).toMatchObject({
      mobile_number: "+919876543210",
      email: null,
      status: "active",
      is_mobile_verified: true,
      is_email_verified: false,
    });

    const me = await t.request("GET", "/v1/me", { token: verified.body.access_token });
    expect(me.status).toBe(200);
    expect(me.body.login_methods).toEqual({ password: false, oauth: [] });
  });

  it("signs the same account in again", async () => {
    const first = await t.sql`SELECT id FROM users WHERE mobile_number = '+919876543210'`;
    t.clock.advanceSeconds(61);

    expect((await requestCode(t, "sms", "09876543210")).status).toBe(202);
    const verified = await verifyCode(t, "sms", "9876543210", latestCode(t.sms, "+919876543210"));

    expect(verified.status).toBe(200);
    expect(verified.body.created).toBe(false);
    expect(verified.body.user.id).toBe(first[0]?.id);
    const count = await t.sql`SELECT count(*)::int AS n FROM users WHERE mobile_number = '+919876543210'`;
    expect(count[0]?.n).toBe(1);
  });

  it("rejects a fixed-line number", async () => {
    const response = await requestCode(t, "sms", "+912223456789");

    expect(response.status).toBe(400);
    expect(response.body.code).toBe("validation_failed");
    expect(response.body.errors).toEqual([{ path: "destination", message: expect.any(String) }]);
    expect(t.sms.messagesTo("+912223456789")).toHaveLength(0);
  });

  it("rejects an invalid number", async () => {
    for (const destination of ["12345", "+91 98765 43210 ext 7", "not a number", "+1 555"]) {
      const response = await requestCode(t, "sms", destination);
      expect(response.status, destination).toBe(400);
      expect(response.body.code).toBe("validation_failed");
    }
  });

  it("costs one round trip per step", async () => {
    t.clock.advanceSeconds(61);
    const requestTrips = await t.countRoundTrips(() => requestCode(t, "sms", "+919876500001"));
    const code = latestCode(t.sms, "+919876500001");
    const verifyTrips = await t.countRoundTrips(() => verifyCode(t, "sms", "+919876500001", code));

    expect(requestTrips).toBe(1);
    expect(verifyTrips).toBe(1);
  });
});

describe("sign-in by email code", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });

  it("creates an account with a verified email", async () => {
    expect((await requestCode(t, "email", "Ravi@Example.com")).status).toBe(202);
    const message = t.mailer.messagesTo("ravi@example.com").at(-1);
    expect(message?.subject).toMatch(/sign-in code/);

    const verified = await verifyCode(t, "email", "ravi@example.com", latestCode(t.mailer, "ravi@example.com"));

    expect(verified.status).toBe(200);
    expect(verified.body.created).toBe(true);
    expect(verified.body.user).toMatchObject({ email: "ravi@example.com", is_email_verified: true, status: "active" });
  });

  it("signs in an account made by sign-up", async () => {
    const signedUp = await signUpActive(t, "meera@example.com");

    await requestCode(t, "email", "meera@example.com");
    const verified = await verifyCode(t, "email", "meera@example.com", latestCode(t.mailer, "meera@example.com"));

    expect(verified.status).toBe(200);
    expect(verified.body.created).toBe(false);
    expect(verified.body.user.id).toBe(signedUp.user.id);
  });

  it("answers alike for known and unknown addresses", async () => {
    const known = await requestCode(t, "email", "meera@example.com");
    const unknown = await requestCode(t, "email", "nobody@example.com");

    expect(unknown.status).toBe(known.status);
    expect(unknown.body).toEqual({ ...known.body, destination: "n***@example.com" });
    const headerNames = (response: typeof known) =>
      [...response.headers.keys()].filter((name) => name !== "x-request-id").sort();
    expect(headerNames(unknown)).toEqual(headerNames(known));
    for (const name of headerNames(known)) {
      expect(unknown.headers.get(name), name).toBe(known.headers.get(name));
    }
  });

  it("activates a pending account and drops its password", async () => {
    await t.request("POST", "/v1/auth/signup", { body: { email: "squatted@example.com", password: PASSWORD } });

    await requestCode(t, "email", "squatted@example.com");
    const verified = await verifyCode(t, "email", "squatted@example.com", latestCode(t.mailer, "squatted@example.com"));

    expect(verified.status).toBe(200);
    expect(verified.body.created).toBe(false);
    expect(verified.body.user).toMatchObject({ status: "active", is_email_verified: true });
    const credentials = await t.sql`SELECT 1 FROM auth_credentials WHERE user_id = ${verified.body.user.id}`;
    expect(credentials).toHaveLength(0);
  });
});

describe("sign-in code checks", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });

  async function freshCode(destination: string): Promise<string> {
    t.clock.advanceSeconds(61);
    const requested = await requestCode(t, "sms", destination);
    expect(requested.status).toBe(202);
    return latestCode(t.sms, destination);
  }

  it("expires a code after ten minutes", async () => {
    const code = await freshCode("+919811100001");
    t.clock.advanceSeconds(10 * 60 + 1);

    const response = await verifyCode(t, "sms", "+919811100001", code);

    expect(response.status).toBe(400);
    expect(response.body.code).toBe("invalid_code");
  });

  it("accepts a code just before expiry", async () => {
    const code = await freshCode("+919811100002");
    t.clock.advanceSeconds(10 * 60 - 1);

    expect((await verifyCode(t, "sms", "+919811100002", code)).status).toBe(200);
  });

  it("rejects a reused code", async () => {
    const code = await freshCode("+919811100003");

    expect((await verifyCode(t, "sms", "+919811100003", code)).status).toBe(200);
    const reused = await verifyCode(t, "sms", "+919811100003", code);

    expect(reused.status).toBe(400);
    expect(reused.body.code).toBe("invalid_code");
  });

  it("lets one of parallel checks win", async () => {
    const code = await freshCode("+919811100004");

    const responses = await Promise.all(Array.from({ length: 8 }, () => verifyCode(t, "sms", "+919811100004", code)));

    const statuses = responses.map((response) => response.status).sort();
    expect(statuses).toEqual([200, 400, 400, 400, 400, 400, 400, 400]);
    const users = await t.sql`SELECT count(*)::int AS n FROM users WHERE mobile_number = '+919811100004'`;
    expect(users[0]?.n).toBe(1);
    const sessions = await t.sql`
      SELECT count(*)::int AS n FROM auth_sessions AS s JOIN users AS u ON u.id = s.user_id
      WHERE u.mobile_number = '+919811100004'`;
    expect(sessions[0]?.n).toBe(1);
  });

  it("burns a code after five wrong tries", async () => {
    const code = await freshCode("+919811100005");

    for (let attempt = 1; attempt <= 5; attempt++) {
      const wrong = await verifyCode(t, "sms", "+919811100005", wrongCode(code));
      expect(wrong.status, `attempt ${attempt}`).toBe(400);
    }
    const right = await verifyCode(t, "sms", "+919811100005", code);

    expect(right.status).toBe(400);
    expect(right.body.code).toBe("invalid_code");
  });

  it("accepts the right code on the fifth try", async () => {
    const code = await freshCode("+919811100006");

    for (let attempt = 1; attempt <= 4; attempt++) {
      expect((await verifyCode(t, "sms", "+919811100006", wrongCode(code))).status).toBe(400);
    }

    expect((await verifyCode(t, "sms", "+919811100006", code)).status).toBe(200);
  });

  it("refuses a locked account", async () => {
    const account = await signUpActive(t, "locked@example.com");
    t.clock.advanceSeconds(61);
    const lockedUntil = new Date(t.clock.now().getTime() + 15 * 60 * 1000).toISOString();
    await t.sql`UPDATE auth_credentials SET failed_attempts = 5, locked_until = ${lockedUntil} WHERE user_id = ${account.user.id}`;

    await requestCode(t, "email", "locked@example.com");
    const code = latestCode(t.mailer, "locked@example.com");
    const rejected = await verifyCode(t, "email", "locked@example.com", code);

    expect(rejected.status).toBe(429);
    expect(rejected.body.code).toBe("too_many_attempts");
    expect(rejected.headers.get("retry-after")).toBe(String(15 * 60));
    expect(rejected.body).not.toHaveProperty("access_token");
    const sessions = await t.sql`SELECT count(*)::int AS n FROM auth_sessions WHERE user_id = ${account.user.id}`;
    expect(sessions[0]?.n).toBe(1);

    // The right code was used up, so it is worth nothing once the lock has expired.
    t.clock.advanceSeconds(15 * 60);
    expect((await verifyCode(t, "email", "locked@example.com", code)).status).toBe(400);
  });

  it("signs in once the lock expires", async () => {
    const account = await t.sql`SELECT id FROM users WHERE email = 'locked@example.com'`;

    t.clock.advanceSeconds(61);
    await requestCode(t, "email", "locked@example.com");
    const verified = await verifyCode(t, "email", "locked@example.com", latestCode(t.mailer, "locked@example.com"));

    expect(verified.status).toBe(200);
    expect(verified.body.user.id).toBe(account[0]?.id);
    const credentials = await t.sql`SELECT failed_attempts FROM auth_credentials WHERE user_id = ${account[0]?.id}`;
    expect(credentials[0]?.failed_attempts).toBe(0);
  });

  it("refuses a suspended account", async () => {
    const account = await signUpActive(t, "suspended@example.com");
    await t.sql`UPDATE users SET status = 'suspended' WHERE id = ${account.user.id}`;

    t.clock.advanceSeconds(61);
    await requestCode(t, "email", "suspended@example.com");
    const wrong = await verifyCode(t, "email", "suspended@example.com", "000000");
    const right = await verifyCode(t, "email", "suspended@example.com", latestCode(t.mailer, "suspended@example.com"));

    expect(wrong.status).toBe(400);
    expect(right.status).toBe(403);
    expect(right.body.code).toBe("account_suspended");
  });

  it("records sign-ins and failures in the audit log", async () => {
    const events = await t.sql`
      SELECT action, metadata->>'reason' AS reason, metadata->>'channel' AS channel FROM audit_events
      WHERE metadata->>'method' = 'one_time_code' ORDER BY id`;

    expect(events).toContainEqual({ action: "signup.verified", reason: null, channel: "mobile" });
    expect(events).toContainEqual({ action: "login.succeeded", reason: null, channel: "mobile" });
    expect(events).toContainEqual({ action: "login.failed", reason: "account_locked_or_suspended", channel: "email" });
  });

  it("logs no number or code", async () => {
    const code = await freshCode("+919811100099");
    await verifyCode(t, "sms", "+919811100099", code);
    const log = t.logs.join("\n");

    expect(log).not.toContain("9811100099");
    expect(log).not.toContain(code);
    expect(log).not.toContain("locked@example.com");
  });
});

describe("code routes in OpenAPI", () => {
  it("documents every code route", async () => {
    const t = await createTestApp();

    const response = await t.request("GET", "/openapi.json");

    expect(response.status).toBe(200);
    const paths = response.body.paths;
    for (const path of [
      "/v1/auth/otp/request",
      "/v1/auth/otp/verify",
      "/v1/me/email",
      "/v1/me/email/verify",
      "/v1/me/mobile",
      "/v1/me/mobile/verify",
    ]) {
      expect(paths[path]?.post, path).toBeDefined();
    }
    const requestBody = paths["/v1/auth/otp/request"].post.requestBody.content["application/json"].schema;
    expect(JSON.stringify(requestBody)).toContain('"sms"');
    const signInResponse = JSON.stringify(response.body.components.schemas.CodeSignInResponse);
    expect(signInResponse).toContain("#/components/schemas/TokenResponse");
    expect(signInResponse).toContain('"created":{"type":"boolean"');
  });
});
