import { beforeAll, describe, expect, it } from "vitest";
import { createTestApp, latestCode, type TestApp } from "./helpers/app";
import { createAccount, login } from "./helpers/accounts";

const PASSWORD = "correct horse battery staple";

describe("lockout across sign-in methods", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });

  it("refuses code sign-in after password failures lock the account", async () => {
    await createAccount(t, { email: "locked-everywhere@example.com", password: PASSWORD });
    for (let attempt = 0; attempt < 5; attempt++) {
      await login(t, "locked-everywhere@example.com", "not the right password");
    }
    expect((await login(t, "locked-everywhere@example.com", PASSWORD)).status).toBe(429);

    const requested = await t.request("POST", "/v1/auth/otp/request", {
      body: { channel: "email", destination: "locked-everywhere@example.com" },
    });
    expect(requested.status).toBe(202);
    const code = latestCode(t.mailer, "locked-everywhere@example.com");
    const verified = await t.request("POST", "/v1/auth/otp/verify", {
      body: { channel: "email", destination: "locked-everywhere@example.com", code },
    });
    expect(verified.status).toBe(429);
    expect(verified.body.code).toBe("too_many_attempts");
    expect(verified.body).not.toHaveProperty("access_token");

    t.clock.advanceSeconds(15 * 60 + 1);
    expect((await login(t, "locked-everywhere@example.com", PASSWORD)).status).toBe(200);
  });
});

describe("lockout of accounts without a password", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });

  it("refuses code sign-in after password failures on a passwordless account", async () => {
    const first = await signInByCode(t, "+919876543210");
    expect(first.status).toBe(200);
    expect(first.body.created).toBe(true);

    for (let attempt = 0; attempt < 5; attempt++) {
      await login(t, "+919876543210", "not the right password");
    }
    const locked = await signInByCode(t, "+919876543210");
    expect(locked.status).toBe(429);
    expect(locked.body.code).toBe("too_many_attempts");
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(0);

    t.clock.advanceSeconds(15 * 60 + 1);
    expect((await signInByCode(t, "+919876543210")).status).toBe(200);
  });
});

async function signInByCode(t: TestApp, number: string) {
  const requested = await t.request("POST", "/v1/auth/otp/request", { body: { channel: "sms", destination: number } });
  expect(requested.status).toBe(202);
  const code = latestCode(t.sms, number);
  return t.request("POST", "/v1/auth/otp/verify", { body: { channel: "sms", destination: number, code } });
}
