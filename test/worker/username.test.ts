import { beforeAll, describe, expect, it } from "vitest";
import { createAccount, login } from "./helpers/accounts";
import { createTestApp, type TestApp } from "./helpers/app";

const PASSWORD = "correct horse battery staple";

describe("username change", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });

  it("changes the username", async () => {
    const account = await createAccount(t, { email: "rename@example.com", password: PASSWORD });

    const response = await t.request("PATCH", "/v1/me", { token: account.accessToken, body: { username: "New_Name" } });
    expect(response.status).toBe(200);
    expect(response.body.username).toBe("New_Name");
    expect(response.body.id).toBe(account.userId);
    expect((await login(t, "new_name", PASSWORD)).status).toBe(200);

    let recased: { status: number } | undefined;
    const trips = await t.countRoundTrips(
      async () =>
        (recased = await t.request("PATCH", "/v1/me", { token: account.accessToken, body: { username: "new_name" } })),
    );
    expect(recased?.status).toBe(200);
    expect(trips).toBe(1);
  });

  it("rejects a taken username", async () => {
    await createAccount(t, { email: "holder@example.com", password: PASSWORD, username: "Taken_Name" });
    const account = await createAccount(t, { email: "wants@example.com", password: PASSWORD });

    const response = await t.request("PATCH", "/v1/me", {
      token: account.accessToken,
      body: { username: "taken_NAME" },
    });
    expect(response.status).toBe(409);
    expect(response.body.code).toBe("username_taken");
  });

  it("rejects server-owned fields", async () => {
    const account = await createAccount(t, { email: "mass@example.com", password: PASSWORD });

    for (const body of [{ username: "fine_name", role: "admin" }, { status: "active" }, { is_email_verified: true }]) {
      const response = await t.request("PATCH", "/v1/me", { token: account.accessToken, body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.code).toBe("validation_failed");
    }
    const [user] = await t.sql`SELECT username, role FROM users WHERE id = ${account.userId}`;
    expect(user).toEqual({ username: null, role: "user" });

    const invalid = await t.request("PATCH", "/v1/me", { token: account.accessToken, body: { username: "no spaces" } });
    expect(invalid.status).toBe(400);
  });

  it("rejects reserved usernames", async () => {
    const account = await createAccount(t, { email: "reserved@example.com", password: PASSWORD });
    for (const username of ["admin", "Ad.Min", "SUPPORT", "trade-identity", "no_reply"]) {
      const response = await t.request("PATCH", "/v1/me", { token: account.accessToken, body: { username } });
      expect(response.status, username).toBe(400);
      expect(response.body.errors).toEqual([
        { path: "username", message: "This username is reserved. Choose another one." },
      ]);
    }
    const signUp = await t.request("POST", "/v1/auth/signup", {
      body: { email: "reserved-signup@example.com", password: PASSWORD, username: "Administrator" },
    });
    expect(signUp.status).toBe(400);
    expect(await t.sql`SELECT id FROM users WHERE email = 'reserved-signup@example.com'`).toHaveLength(0);

    const allowed = await t.request("PATCH", "/v1/me", {
      token: account.accessToken,
      body: { username: "admin_exports" },
    });
    expect(allowed.status).toBe(200);
  });

  it("rejects a revoked session", async () => {
    const account = await createAccount(t, { email: "rename-revoked@example.com", password: PASSWORD });
    await t.request("POST", "/v1/auth/logout-all", { token: account.accessToken });

    const response = await t.request("PATCH", "/v1/me", {
      token: account.accessToken,
      body: { username: "late_name" },
    });
    expect(response.status).toBe(401);
  });
});
