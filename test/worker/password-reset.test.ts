import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { createAccount, login, refresh } from "./helpers/accounts";
import { createTestApp, type TestApp, type TestResponse } from "./helpers/app";

const PASSWORD = "correct horse battery staple";
const NEW_PASSWORD = "a brand new passphrase for this account";

/** Read the reset token from the newest mail to `address`, checking that the link points at APP_URL. */
function latestResetToken(t: TestApp, address: string): string {
  const text = t.mailer.messagesTo(address).at(-1)?.text ?? "";
  const match = /(\S+)\/reset-password\?token=([A-Za-z0-9_-]+)/.exec(text);
  if (match?.[2] === undefined) throw new Error(`No reset link was sent to ${address}`);
  expect(match[1]).toBe("https://app.test");
  return match[2];
}

function forgot(t: TestApp, email: string, headers: Record<string, string> = {}) {
  return t.request("POST", "/v1/auth/password/forgot", { body: { email }, headers });
}

function reset(t: TestApp, token: string, password = NEW_PASSWORD) {
  return t.request("POST", "/v1/auth/password/reset", { body: { token, password } });
}

describe("password reset", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });

  it("resets the password once", async () => {
    await createAccount(t, { email: "reset@example.com", password: PASSWORD });

    const requested = await forgot(t, "reset@example.com");
    expect(requested.status).toBe(202);
    expect(requested.body).toEqual({ status: "email_sent_if_account_exists" });
    const token = latestResetToken(t, "reset@example.com");
    expect(token.length).toBeGreaterThanOrEqual(22);

    const response = await reset(t, token);
    expect(response.status).toBe(204);
    expect(response.text).toBe("");

    expect((await login(t, "reset@example.com", NEW_PASSWORD)).status).toBe(200);
    expect((await login(t, "reset@example.com", PASSWORD)).status).toBe(401);

    const reused = await reset(t, token, "yet another new passphrase");
    expect(reused.status).toBe(400);
    expect(reused.body.code).toBe("invalid_token");
  });

  it("stores only the token hash", async () => {
    const account = await createAccount(t, { email: "reset-hash@example.com", password: PASSWORD });
    await forgot(t, "reset-hash@example.com");
    const token = latestResetToken(t, "reset-hash@example.com");

    const [row] =
      await t.sql`SELECT row_to_json(c)::text AS row FROM auth_credentials AS c WHERE user_id = ${account.userId}`;
    expect(row?.row).not.toContain(token);
    const audit = await t.sql`SELECT metadata::text AS metadata FROM audit_events`;
    for (const event of audit) expect(event.metadata).not.toContain(token);
    expect(t.logs.join("\n")).not.toContain(token);
  });

  it("accepts one of ten parallel resets", async () => {
    await createAccount(t, { email: "reset-race@example.com", password: PASSWORD });
    await forgot(t, "reset-race@example.com");
    const token = latestResetToken(t, "reset-race@example.com");

    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, index) => reset(t, token, `parallel passphrase number ${index}`)),
    );
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 204)).toHaveLength(1);
    expect(statuses.filter((status) => status === 400)).toHaveLength(9);
    for (const response of responses.filter((candidate) => candidate.status === 400)) {
      expect(response.body.code).toBe("invalid_token");
    }

    const winner = statuses.indexOf(204);
    expect((await login(t, "reset-race@example.com", `parallel passphrase number ${winner}`)).status).toBe(200);
  });

  it("invalidates older tokens", async () => {
    await createAccount(t, { email: "reset-newer@example.com", password: PASSWORD });
    await forgot(t, "reset-newer@example.com");
    const first = latestResetToken(t, "reset-newer@example.com");
    await forgot(t, "reset-newer@example.com");
    const second = latestResetToken(t, "reset-newer@example.com");

    expect((await reset(t, first)).status).toBe(400);
    expect((await reset(t, second)).status).toBe(204);
  });

  it("expires tokens after thirty minutes", async () => {
    await createAccount(t, { email: "reset-expiry@example.com", password: PASSWORD });
    await forgot(t, "reset-expiry@example.com");
    const token = latestResetToken(t, "reset-expiry@example.com");

    t.clock.advanceSeconds(30 * 60);
    const response = await reset(t, token);
    expect(response.status).toBe(400);
    expect(response.body.code).toBe("invalid_token");
  });

  it("revokes sessions and clears the lockout", async () => {
    const account = await createAccount(t, { email: "reset-revoke@example.com", password: PASSWORD });
    for (let attempt = 0; attempt < 5; attempt++) await login(t, "reset-revoke@example.com", "wrong password here");
    expect((await login(t, "reset-revoke@example.com", PASSWORD)).status).toBe(429);

    await forgot(t, "reset-revoke@example.com");
    const token = latestResetToken(t, "reset-revoke@example.com");
    let response: TestResponse | undefined;
    const trips = await t.countRoundTrips(async () => (response = await reset(t, token)));
    expect(response?.status).toBe(204);
    expect(trips).toBe(2);

    expect((await refresh(t, account.refreshToken)).status).toBe(401);
    expect((await t.request("GET", "/v1/me", { token: account.accessToken })).status).toBe(401);
    expect((await login(t, "reset-revoke@example.com", NEW_PASSWORD)).status).toBe(200);

    const notice = t.mailer.messagesTo("reset-revoke@example.com").at(-1);
    expect(notice?.subject).toBe("Your password was reset");
    expect(notice?.text).not.toContain(token);
    const events = await t.sql`
      SELECT action FROM audit_events WHERE target_user_id = ${account.userId} AND action LIKE 'password.%' ORDER BY id`;
    expect(events.map((event) => event.action)).toEqual(["password.reset_requested", "password.reset"]);
  });

  it("activates a pending account", async () => {
    await t.request("POST", "/v1/auth/signup", { body: { email: "reset-pending@example.com", password: PASSWORD } });
    await forgot(t, "reset-pending@example.com");
    const token = latestResetToken(t, "reset-pending@example.com");

    expect((await reset(t, token)).status).toBe(204);
    const signedIn = await login(t, "reset-pending@example.com", NEW_PASSWORD);
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.user.status).toBe("active");
    expect(signedIn.body.user.is_email_verified).toBe(true);
  });

  it("checks the password policy", async () => {
    await createAccount(t, { email: "reset-policy@example.com", password: PASSWORD, username: "policy_person" });
    await forgot(t, "reset-policy@example.com");
    const token = latestResetToken(t, "reset-policy@example.com");

    for (const password of [
      "elevenchars",
      "password1234",
      "qwertyuiop12",
      "reset-policy2024!!",
      "my policy_person pw",
    ]) {
      const response = await reset(t, token, password);
      expect(response.status, password).toBe(400);
      expect(response.body.code, password).toBe("validation_failed");
      expect(response.body.errors[0].path).toBe("password");
    }
    expect((await reset(t, token, "twelve chars")).status).toBe(204);
  });

  it("rejects suspended accounts", async () => {
    const account = await createAccount(t, { email: "reset-suspended@example.com", password: PASSWORD });
    await forgot(t, "reset-suspended@example.com");
    const token = latestResetToken(t, "reset-suspended@example.com");
    await t.sql`UPDATE users SET status = 'suspended' WHERE id = ${account.userId}`;

    expect((await reset(t, token)).status).toBe(400);
    const before = t.mailer.messagesTo("reset-suspended@example.com").length;
    expect((await forgot(t, "reset-suspended@example.com")).status).toBe(202);
    expect(t.mailer.messagesTo("reset-suspended@example.com")).toHaveLength(before);
  });
});

describe("forgotten password requests", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });

  it("responds the same to unknown addresses", async () => {
    await createAccount(t, { email: "exists@example.com", password: PASSWORD });

    const known = await forgot(t, "exists@example.com");
    const unknown = await forgot(t, "missing@example.com");
    expect(unknown.status).toBe(known.status);
    expect(unknown.text).toBe(known.text);
    const headers = (response: TestResponse) =>
      [...response.headers.entries()].filter(([name]) => name !== "x-request-id");
    expect(headers(unknown)).toEqual(headers(known));
    expect(t.mailer.messagesTo("missing@example.com")).toHaveLength(0);
    expect(t.mailer.messagesTo("exists@example.com").at(-1)?.subject).toBe("Reset your password");

    expect(await t.countRoundTrips(() => forgot(t, "exists@example.com"))).toBe(1);
    expect(await t.countRoundTrips(() => forgot(t, "missing@example.com"))).toBe(1);
  });

  it("ignores request headers for the link", async () => {
    await createAccount(t, { email: "host@example.com", password: PASSWORD });

    const context = createExecutionContext();
    const response = await t.app.fetch(
      new Request("https://evil.example/v1/auth/password/forgot", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          host: "evil.example",
          "x-forwarded-host": "evil.example",
          "x-forwarded-proto": "http",
          origin: "https://evil.example",
          "cf-connecting-ip": "203.0.113.10",
        },
        body: JSON.stringify({ email: "host@example.com" }),
      }),
      t.bindings,
      context,
    );
    await waitOnExecutionContext(context);
    expect(response.status).toBe(202);

    const text = t.mailer.messagesTo("host@example.com").at(-1)?.text ?? "";
    expect(text).toContain("https://app.test/reset-password?token=");
    expect(text).not.toContain("evil.example");
  });

  it("sends a notice to accounts without a password", async () => {
    const account = await createAccount(t, { email: "no-password@example.com", password: PASSWORD });
    await t.sql`DELETE FROM auth_credentials WHERE user_id = ${account.userId}`;

    expect((await forgot(t, "no-password@example.com")).status).toBe(202);
    const notice = t.mailer.messagesTo("no-password@example.com").at(-1);
    expect(notice?.subject).toBe("About your password reset request");
    expect(notice?.text).not.toContain("reset-password?token=");
  });

  it("limits requests per address", async () => {
    // The suite turns rate limits off; this test restores the production default.
    const t = await createTestApp({ settings: { RATE_LIMIT_FORGOT_PASSWORD_PER_EMAIL: "3/1h" } });
    for (const email of ["limited@example.com", "limited-nobody@example.com"]) {
      if (email === "limited@example.com") await createAccount(t, { email, password: PASSWORD });
      for (let request = 1; request <= 3; request++) expect((await forgot(t, email)).status).toBe(202);
      const limited = await forgot(t, email);
      expect(limited.status, email).toBe(429);
      expect(limited.body.code).toBe("rate_limited");
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    }
    expect(
      t.mailer.messagesTo("limited@example.com").filter((mail) => mail.subject === "Reset your password"),
    ).toHaveLength(3);

    t.clock.advanceSeconds(60 * 60);
    expect((await forgot(t, "limited@example.com")).status).toBe(202);
  });
});
