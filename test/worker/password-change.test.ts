import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createAccount, login, refresh } from "./helpers/accounts";
import { createTestApp, type TestApp, type TestResponse } from "./helpers/app";
import { fakeHost } from "./helpers/network";

const PASSWORD = "correct horse battery staple";
const NEW_PASSWORD = "a brand new passphrase for this account";

function changePassword(t: TestApp, token: string, body: Record<string, unknown>) {
  return t.request("POST", "/v1/me/password", { token, body });
}

async function sha1Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)]
    .map((byte) => byte.toString(16).padStart(2, "0"))
    .join("")
    .toUpperCase();
}

describe("password change", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });

  it("requires the current password", async () => {
    const account = await createAccount(t, { email: "change@example.com", password: PASSWORD });

    const wrong = await changePassword(t, account.accessToken, {
      current_password: "not my password at all",
      new_password: NEW_PASSWORD,
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe("invalid_credentials");

    const missing = await changePassword(t, account.accessToken, { new_password: NEW_PASSWORD });
    expect(missing.status).toBe(400);
    expect(missing.body.code).toBe("validation_failed");
    expect(missing.body.errors).toEqual([{ path: "current_password", message: expect.any(String) }]);

    expect((await login(t, "change@example.com", PASSWORD)).status).toBe(200);
  });

  it("revokes every other session", async () => {
    const account = await createAccount(t, { email: "change-others@example.com", password: PASSWORD });
    const otherDevice = await login(t, "change-others@example.com", PASSWORD);

    let response: TestResponse | undefined;
    const trips = await t.countRoundTrips(
      async () =>
        (response = await changePassword(t, account.accessToken, {
          current_password: PASSWORD,
          new_password: NEW_PASSWORD,
        })),
    );
    expect(response?.status).toBe(204);
    expect(trips).toBe(2);

    expect((await refresh(t, otherDevice.body.refresh_token)).status).toBe(401);
    expect((await t.request("GET", "/v1/me", { token: otherDevice.body.access_token })).status).toBe(401);
    expect((await t.request("GET", "/v1/me", { token: account.accessToken })).status).toBe(200);
    expect((await refresh(t, account.refreshToken)).status).toBe(200);

    expect((await login(t, "change-others@example.com", PASSWORD)).status).toBe(401);
    expect((await login(t, "change-others@example.com", NEW_PASSWORD)).status).toBe(200);
    expect(t.mailer.messagesTo("change-others@example.com").at(-1)?.subject).toBe("Your password was changed");
    const events = await t.sql`
      SELECT 1 FROM audit_events WHERE target_user_id = ${account.userId} AND action = 'password.changed'`;
    expect(events).toHaveLength(1);
  });

  it("checks the password policy", async () => {
    const account = await createAccount(t, { email: "asha.k@example.com", password: PASSWORD, username: "asha_k" });

    for (const newPassword of ["elevenchars", "password1234", "qwertyuiop12", "asha.k2024!!", "hello asha_k friend"]) {
      const response = await changePassword(t, account.accessToken, {
        current_password: PASSWORD,
        new_password: newPassword,
      });
      expect(response.status, newPassword).toBe(400);
      expect(response.body.code, newPassword).toBe("validation_failed");
      expect(response.body.errors[0].path).toBe("new_password");
    }

    const twelve = await changePassword(t, account.accessToken, {
      current_password: PASSWORD,
      new_password: "twelve chars",
    });
    expect(twelve.status).toBe(204);
    expect((await login(t, "asha.k@example.com", "twelve chars")).status).toBe(200);
  });

  it("counts wrong current passwords toward the lockout", async () => {
    const account = await createAccount(t, { email: "change-lock@example.com", password: PASSWORD });

    for (let attempt = 1; attempt <= 4; attempt++) {
      const response = await changePassword(t, account.accessToken, {
        current_password: `wrong password ${attempt}`,
        new_password: NEW_PASSWORD,
      });
      expect(response.status).toBe(401);
    }
    const locking = await changePassword(t, account.accessToken, {
      current_password: "wrong password 5",
      new_password: NEW_PASSWORD,
    });
    expect(locking.status).toBe(429);
    const right = await changePassword(t, account.accessToken, {
      current_password: PASSWORD,
      new_password: NEW_PASSWORD,
    });
    expect(right.status).toBe(429);
    expect(right.headers.get("retry-after")).toBe("900");
  });

  it("sets a first password without one", async () => {
    const account = await createAccount(t, { email: "first-password@example.com", password: PASSWORD });
    await t.sql`DELETE FROM auth_credentials WHERE user_id = ${account.userId}`;
    expect((await login(t, "first-password@example.com", PASSWORD)).status).toBe(401);

    const response = await changePassword(t, account.accessToken, { new_password: NEW_PASSWORD });
    expect(response.status).toBe(204);
    expect((await login(t, "first-password@example.com", NEW_PASSWORD)).status).toBe(200);

    const me = await t.request("GET", "/v1/me", { token: account.accessToken });
    expect(me.body.login_methods.password).toBe(true);
  });

  it("rejects a revoked session", async () => {
    const account = await createAccount(t, { email: "change-revoked@example.com", password: PASSWORD });
    await t.request("POST", "/v1/auth/logout", { token: account.accessToken });

    const response = await changePassword(t, account.accessToken, {
      current_password: PASSWORD,
      new_password: NEW_PASSWORD,
    });
    expect(response.status).toBe(401);
    expect(response.body.code).toBe("unauthorized");
    expect((await login(t, "change-revoked@example.com", PASSWORD)).status).toBe(200);
  });

  it("rejects unknown fields", async () => {
    const account = await createAccount(t, { email: "change-strict@example.com", password: PASSWORD });

    const response = await changePassword(t, account.accessToken, {
      current_password: PASSWORD,
      new_password: NEW_PASSWORD,
      user_id: crypto.randomUUID(),
    });
    expect(response.status).toBe(400);
    expect((await login(t, "change-strict@example.com", PASSWORD)).status).toBe(200);
  });
});

describe("breached password check", () => {
  let t: TestApp;
  let restore: (() => void) | undefined;
  beforeAll(async () => {
    t = await createTestApp({ bindings: { BREACHED_PASSWORD_CHECK: "true" } });
  });
  afterEach(() => {
    restore?.();
    restore = undefined;
  });

  /** Sign up with the range API answering "not breached", since sign-up runs the check too. */
  async function createUncheckedAccount(email: string) {
    const removeFake = fakeHost("https://api.pwnedpasswords.com", () => new Response(""));
    try {
      return await createAccount(t, { email, password: PASSWORD });
    } finally {
      removeFake();
    }
  }

  it("rejects a breached password", async () => {
    const account = await createUncheckedAccount("breached@example.com");
    const sha1 = await sha1Hex(NEW_PASSWORD);
    const requests: Request[] = [];
    restore = fakeHost("https://api.pwnedpasswords.com", (request) => {
      requests.push(request);
      return new Response(
        `0018A45C4D1DEF81644B54AB7F969B88D65:0\r\n${sha1.slice(5)}:42\r\nFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:3\r\n`,
      );
    });

    const response = await changePassword(t, account.accessToken, {
      current_password: PASSWORD,
      new_password: NEW_PASSWORD,
    });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe("validation_failed");
    expect(requests.map((request) => new URL(request.url).pathname)).toEqual([`/range/${sha1.slice(0, 5)}`]);
    expect(requests[0]?.headers.get("add-padding")).toBe("true");
  });

  it("accepts a password outside the range", async () => {
    const account = await createUncheckedAccount("unbreached@example.com");
    const sha1 = await sha1Hex(NEW_PASSWORD);
    restore = fakeHost("https://api.pwnedpasswords.com", () => new Response(`${sha1.slice(5)}:0\r\nABCDEF:12\r\n`));

    const response = await changePassword(t, account.accessToken, {
      current_password: PASSWORD,
      new_password: NEW_PASSWORD,
    });
    expect(response.status).toBe(204);
  });

  it("fails open on errors and timeouts", async () => {
    const account = await createUncheckedAccount("fail-open@example.com");
    const handlers: Array<(request: Request) => Response | Promise<Response>> = [
      () => new Response("upstream broke", { status: 503 }),
      () => {
        throw new TypeError("network down");
      },
      (request) =>
        new Promise<Response>((_, reject) => {
          request.signal.addEventListener("abort", () => reject(request.signal.reason));
        }),
    ];

    let current = PASSWORD;
    for (const [index, handler] of handlers.entries()) {
      restore?.();
      restore = fakeHost("https://api.pwnedpasswords.com", handler);
      const next = `fail open passphrase number ${index}`;
      const response = await changePassword(t, account.accessToken, { current_password: current, new_password: next });
      expect(response.status, `handler ${index}`).toBe(204);
      current = next;
    }
    expect(t.logs.some((line) => line.includes("breached_password_check_failed"))).toBe(true);
  });
});
