import { beforeAll, describe, expect, it } from "vitest";
import { createTestApp, latestCode, type TestApp } from "./helpers/app";

const PASSWORD = "correct horse battery staple";

describe("sign-up and email verification", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
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
    expect(verified.body.user.status).toBe("active");

    const me = await t.request("GET", "/v1/me", { token: verified.body.access_token });
    expect(me.status).toBe(200);
    expect(me.body.user.email).toBe("asha@example.com");
    expect(me.body.user.is_email_verified).toBe(true);
    expect(me.body.login_methods).toEqual({ password: true, oauth: [] });
  });
});
