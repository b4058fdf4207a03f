import { beforeAll, describe, expect, it } from "vitest";
import { createTestApp, latestCode, type TestApp } from "./helpers/app";

const PASSWORD = "correct horse battery staple";

async function signInBySms(t: TestApp, number: string): Promise<{ token: string; userId: string }> {
  t.clock.advanceSeconds(61);
  await t.request("POST", "/v1/auth/otp/request", { body: { channel: "sms", destination: number } });
  const verified = await t.request("POST", "/v1/auth/otp/verify", {
    body: { channel: "sms", destination: number, code: latestCode(t.sms, number) },
  });
  expect(verified.status).toBe(200);
  return { token: verified.body.access_token, userId: verified.body.user.id };
}

async function signUpActive(t: TestApp, email: string): Promise<{ token: string; userId: string }> {
  t.clock.advanceSeconds(61);
  await t.request("POST", "/v1/auth/signup", { body: { email, password: PASSWORD } });
  const verified = await t.request("POST", "/v1/auth/email/verify", {
    body: { email, code: latestCode(t.mailer, email) },
  });
  expect(verified.status).toBe(200);
  return { token: verified.body.access_token, userId: verified.body.user.id };
}

describe("email change", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });

  it("adds an email to an SMS account", async () => {
    const { token, userId } = await signInBySms(t, "+919876543210");

    const requested = await t.request("POST", "/v1/me/email", { token, body: { email: "Priya@Example.com" } });
    expect(requested.status).toBe(202);
    expect(requested.body).toEqual({
      status: "code_sent",
      channel: "email",
      destination: "p***@example.com",
      expires_in: 600,
    });

    const code = latestCode(t.mailer, "priya@example.com");
    const verified = await t.request("POST", "/v1/me/email/verify", { token, body: { code } });

    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({
      id: userId,
      email: "priya@example.com",
      is_email_verified: true,
      mobile_number: "+919876543210",
      is_mobile_verified: true,
    });
    const me = await t.request("GET", "/v1/me", { token });
    expect(me.body.user.email).toBe("priya@example.com");
  });

  it("signs in by the added email", async () => {
    t.clock.advanceSeconds(61);
    await t.request("POST", "/v1/auth/otp/request", { body: { channel: "email", destination: "priya@example.com" } });
    const verified = await t.request("POST", "/v1/auth/otp/verify", {
      body: { channel: "email", destination: "priya@example.com", code: latestCode(t.mailer, "priya@example.com") },
    });

    expect(verified.status).toBe(200);
    expect(verified.body.created).toBe(false);
    expect(verified.body.user.mobile_number).toBe("+919876543210");
  });

  it("notifies the old address", async () => {
    const { token } = await signUpActive(t, "old@example.com");

    await t.request("POST", "/v1/me/email", { token, body: { email: "new@example.com" } });
    const verified = await t.request("POST", "/v1/me/email/verify", {
      token,
      body: { code: latestCode(t.mailer, "new@example.com") },
    });

    expect(verified.status).toBe(200);
    expect(verified.body.email).toBe("new@example.com");
    const notice = t.mailer.messagesTo("old@example.com").at(-1);
    expect(notice?.subject).toMatch(/email address was changed/);
    expect(notice?.text).toContain("n***@example.com");
    expect(notice?.text).not.toMatch(/\b\d{6}\b/);
    const events = await t.sql`SELECT action FROM audit_events WHERE target_user_id = ${verified.body.id}`;
    expect(events.map((event) => event.action)).toContain("email.changed");
  });

  it("frees the old address", async () => {
    const owner = await t.sql`SELECT id FROM users WHERE email = 'old@example.com'`;

    expect(owner).toHaveLength(0);
  });

  it("reports another account's email", async () => {
    const { token } = await signUpActive(t, "first@example.com");
    await signUpActive(t, "second@example.com");
    const sentBefore = t.mailer.messagesTo("second@example.com").length;

    const response = await t.request("POST", "/v1/me/email", { token, body: { email: "second@example.com" } });

    expect(response.status).toBe(409);
    expect(response.body.code).toBe("email_taken");
    expect(t.mailer.messagesTo("second@example.com")).toHaveLength(sentBefore);
  });

  it("refuses the caller's own email", async () => {
    const { token } = await signUpActive(t, "same@example.com");

    const response = await t.request("POST", "/v1/me/email", { token, body: { email: "same@example.com" } });

    expect(response.status).toBe(400);
    expect(response.body.code).toBe("validation_failed");
  });

  it("loses a race for the address with 409", async () => {
    const { token } = await signUpActive(t, "racer@example.com");
    await t.request("POST", "/v1/me/email", { token, body: { email: "prize@example.com" } });
    const code = latestCode(t.mailer, "prize@example.com");
    // Another account takes the address between the request and the confirmation.
    await t.sql`INSERT INTO users (email, status, is_email_verified) VALUES ('prize@example.com', 'active', true)`;

    const lost = await t.request("POST", "/v1/me/email/verify", { token, body: { code } });

    expect(lost.status).toBe(409);
    expect(lost.body.code).toBe("email_taken");
    const stored = await t.sql`SELECT attempts, consumed_at FROM verifications WHERE identifier = 'prize@example.com'`;
    expect(stored).toEqual([{ attempts: 0, consumed_at: null }]);
  });

  it("confirms only the latest requested address", async () => {
    const { token } = await signUpActive(t, "changer@example.com");
    await t.request("POST", "/v1/me/email", { token, body: { email: "first-choice@example.com" } });
    const firstCode = latestCode(t.mailer, "first-choice@example.com");
    await t.request("POST", "/v1/me/email", { token, body: { email: "second-choice@example.com" } });

    const stale = await t.request("POST", "/v1/me/email/verify", { token, body: { code: firstCode } });
    const latest = await t.request("POST", "/v1/me/email/verify", {
      token,
      body: { code: latestCode(t.mailer, "second-choice@example.com") },
    });

    expect(stale.status).toBe(400);
    expect(latest.status).toBe(200);
    expect(latest.body.email).toBe("second-choice@example.com");
  });

  it("requires a live session", async () => {
    const { token, userId } = await signUpActive(t, "revoked@example.com");
    await t.sql`UPDATE auth_sessions SET revoked_at = now() WHERE user_id = ${userId}`;

    const requested = await t.request("POST", "/v1/me/email", { token, body: { email: "elsewhere@example.com" } });
    const unauthenticated = await t.request("POST", "/v1/me/email", { body: { email: "elsewhere@example.com" } });

    expect(requested.status).toBe(401);
    expect(unauthenticated.status).toBe(401);
    expect(t.mailer.messagesTo("elsewhere@example.com")).toHaveLength(0);
  });

  it("rejects unknown fields", async () => {
    const { token } = await signUpActive(t, "strict@example.com");

    const response = await t.request("POST", "/v1/me/email", {
      token,
      body: { email: "x@example.com", is_email_verified: true },
    });

    expect(response.status).toBe(400);
    expect(response.body.errors).toContainEqual({ path: "is_email_verified", message: "Unknown field." });
  });

  it("logs no address or code", async () => {
    const log = t.logs.join("\n");

    for (const address of ["priya@example.com", "new@example.com", "old@example.com", "9876543210"]) {
      expect(log).not.toContain(address);
    }
    for (const message of t.mailer.messages) {
      const code = /\b\d{6}\b/.exec(message.text)?.[0];
      if (code !== undefined) expect(log).not.toContain(code);
    }
  });

  it("costs one round trip to request and two to confirm", async () => {
    const { token } = await signUpActive(t, "trips@example.com");

    const requestTrips = await t.countRoundTrips(() =>
      t.request("POST", "/v1/me/email", { token, body: { email: "trips-new@example.com" } }),
    );
    const code = latestCode(t.mailer, "trips-new@example.com");
    const confirmTrips = await t.countRoundTrips(() =>
      t.request("POST", "/v1/me/email/verify", { token, body: { code } }),
    );

    expect(requestTrips).toBe(1);
    expect(confirmTrips).toBe(2);
  });
});

describe("mobile change", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });

  it("sets a verified mobile number", async () => {
    const { token, userId } = await signUpActive(t, "kiran@example.com");

    const requested = await t.request("POST", "/v1/me/mobile", { token, body: { mobile_number: "98111 22233" } });
    expect(requested.status).toBe(202);
    expect(requested.body).toEqual({
      status: "code_sent",
      channel: "sms",
      destination: "+91******33",
      expires_in: 600,
    });

    const verified = await t.request("POST", "/v1/me/mobile/verify", {
      token,
      body: { code: latestCode(t.sms, "+919811122233") },
    });

    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({ id: userId, mobile_number: "+919811122233", is_mobile_verified: true });
  });

  it("reports another account's number", async () => {
    const { token } = await signUpActive(t, "other@example.com");

    const response = await t.request("POST", "/v1/me/mobile", { token, body: { mobile_number: "+919811122233" } });

    expect(response.status).toBe(409);
    expect(response.body.code).toBe("mobile_taken");
  });

  it("rejects a fixed-line number", async () => {
    const { token } = await signUpActive(t, "landline@example.com");

    const response = await t.request("POST", "/v1/me/mobile", { token, body: { mobile_number: "+912223456789" } });

    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([{ path: "mobile_number", message: expect.any(String) }]);
  });

  it("costs one round trip to request and two to confirm", async () => {
    const { token } = await signUpActive(t, "mobile-trips@example.com");

    const requestTrips = await t.countRoundTrips(() =>
      t.request("POST", "/v1/me/mobile", { token, body: { mobile_number: "+919811100055" } }),
    );
    const code = latestCode(t.sms, "+919811100055");
    const confirmTrips = await t.countRoundTrips(() =>
      t.request("POST", "/v1/me/mobile/verify", { token, body: { code } }),
    );

    expect(requestTrips).toBe(1);
    expect(confirmTrips).toBe(2);
  });

  it("loses a race for the number with 409", async () => {
    const { token } = await signUpActive(t, "mobile-racer@example.com");
    await t.request("POST", "/v1/me/mobile", { token, body: { mobile_number: "+919811100077" } });
    await t.sql`INSERT INTO users (mobile_number, status, is_mobile_verified) VALUES ('+919811100077', 'active', true)`;

    const lost = await t.request("POST", "/v1/me/mobile/verify", {
      token,
      body: { code: latestCode(t.sms, "+919811100077") },
    });

    expect(lost.status).toBe(409);
    expect(lost.body.code).toBe("mobile_taken");
  });
});

describe("code binding", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });

  it("rejects a sign-up code elsewhere", async () => {
    await t.request("POST", "/v1/auth/signup", { body: { email: "bound@example.com", password: PASSWORD } });
    const signUpCode = latestCode(t.mailer, "bound@example.com");
    const { token } = await signInBySms(t, "+919811199999");
    await t.request("POST", "/v1/me/mobile", { token, body: { mobile_number: "+919811188888" } });
    t.clock.advanceSeconds(61);
    await t.request("POST", "/v1/auth/otp/request", { body: { channel: "email", destination: "bound@example.com" } });

    const atMobileVerify = await t.request("POST", "/v1/me/mobile/verify", { token, body: { code: signUpCode } });
    const atCodeSignIn = await t.request("POST", "/v1/auth/otp/verify", {
      body: { channel: "email", destination: "bound@example.com", code: signUpCode },
    });

    expect(atMobileVerify.status).toBe(400);
    expect(atMobileVerify.body.code).toBe("invalid_code");
    expect(atCodeSignIn.status).toBe(400);
    expect(atCodeSignIn.body.code).toBe("invalid_code");
    // The code still works for the purpose it was sent for.
    const atSignUpVerify = await t.request("POST", "/v1/auth/email/verify", {
      body: { email: "bound@example.com", code: signUpCode },
    });
    expect(atSignUpVerify.status).toBe(200);
  });

  it("rejects the first code after a resend", async () => {
    await t.request("POST", "/v1/auth/signup", { body: { email: "resent@example.com", password: PASSWORD } });
    const firstCode = latestCode(t.mailer, "resent@example.com");
    t.clock.advanceSeconds(61);
    await t.request("POST", "/v1/auth/email/resend", { body: { email: "resent@example.com" } });
    const secondCode = latestCode(t.mailer, "resent@example.com");

    const first = await t.request("POST", "/v1/auth/email/verify", {
      body: { email: "resent@example.com", code: firstCode },
    });
    const second = await t.request("POST", "/v1/auth/email/verify", {
      body: { email: "resent@example.com", code: secondCode },
    });

    expect(firstCode).not.toBe(secondCode);
    expect(first.status).toBe(400);
    expect(second.status).toBe(200);
  });

  it("rejects the first sign-in code after a new one", async () => {
    await t.request("POST", "/v1/auth/otp/request", { body: { channel: "sms", destination: "+919811177777" } });
    const firstCode = latestCode(t.sms, "+919811177777");
    t.clock.advanceSeconds(61);
    await t.request("POST", "/v1/auth/otp/request", { body: { channel: "sms", destination: "+919811177777" } });

    const first = await t.request("POST", "/v1/auth/otp/verify", {
      body: { channel: "sms", destination: "+919811177777", code: firstCode },
    });

    expect(firstCode).not.toBe(latestCode(t.sms, "+919811177777"));
    expect(first.status).toBe(400);
  });
});
