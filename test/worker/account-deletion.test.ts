import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "./helpers/app";
import { createAccount, login, refresh } from "./helpers/accounts";

const PASSWORD = "correct horse battery staple";

describe("account deletion", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });

  it("requires the password of an account that has one", async () => {
    const account = await createAccount(t, { email: "needs-password@example.com", password: PASSWORD });
    const missing = await t.request("DELETE", "/v1/me", { token: account.accessToken });
    expect(missing.status).toBe(400);
    expect(missing.body.errors).toContainEqual({ path: "password", message: expect.any(String) });

    const wrong = await t.request("DELETE", "/v1/me", {
      token: account.accessToken,
      body: { password: "not the password" },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe("invalid_credentials");

    const [row] = await t.sql`SELECT status, email FROM users WHERE id = ${account.userId}`;
    expect(row).toEqual({ status: "active", email: "needs-password@example.com" });
  });

  it("scrubs the account and releases its identifiers", async () => {
    const account = await createAccount(t, { email: "leaving@example.com", password: PASSWORD, username: "leaving" });
    const other = await login(t, "leaving@example.com", PASSWORD);
    await t.sql`INSERT INTO user_profile (user_id, full_name, country_code) VALUES (${account.userId}, 'Leaving Trader', 'IND')`;

    const deleted = await t.request("DELETE", "/v1/me", { token: account.accessToken, body: { password: PASSWORD } });
    expect(deleted.status).toBe(204);

    const [user] =
      await t.sql`SELECT status, email, username, mobile_number, is_email_verified FROM users WHERE id = ${account.userId}`;
    expect(user).toEqual({
      status: "deleted",
      email: null,
      username: null,
      mobile_number: null,
      is_email_verified: false,
    });
    for (const table of [
      "auth_sessions",
      "auth_credentials",
      "oauth_accounts",
      "verifications",
      "user_profile",
      "user_kyc",
    ]) {
      const rows = await t.sql.query(`SELECT count(*)::int AS n FROM ${table} WHERE user_id = $1`, [account.userId]);
      expect(rows[0]?.n, table).toBe(0);
    }

    expect((await refresh(t, account.refreshToken)).status).toBe(401);
    expect((await refresh(t, other.body.refresh_token)).status).toBe(401);
    expect((await t.request("GET", "/v1/me", { token: account.accessToken })).status).toBe(401);
    expect((await login(t, "leaving@example.com", PASSWORD)).status).toBe(401);

    const audit =
      await t.sql`SELECT action, metadata FROM audit_events WHERE target_user_id = ${account.userId} AND action = 'user.deleted'`;
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit)).not.toContain("leaving@example.com");

    const again = await createAccount(t, { email: "leaving@example.com", password: PASSWORD, username: "leaving" });
    expect(again.userId).not.toBe(account.userId);
  });

  it("removes KYC documents from R2", async () => {
    const account = await createAccount(t, { email: "kyc-leaver@example.com", password: PASSWORD });
    const key = `kyc/${account.userId}/government_id/${crypto.randomUUID()}`;
    await env.KYC_BUCKET.put(key, new Uint8Array([0x25, 0x50, 0x44, 0x46, 0x2d]));
    await t.sql`INSERT INTO user_kyc (user_id, government_id_object_key) VALUES (${account.userId}, ${key})`;

    const deleted = await t.request("DELETE", "/v1/me", { token: account.accessToken, body: { password: PASSWORD } });
    expect(deleted.status).toBe(204);
    expect(await env.KYC_BUCKET.head(key)).toBeNull();
  });

  it("keeps KYC records when retention says so", async () => {
    const retaining = await createTestApp({ bindings: { KYC_RETENTION_DAYS: "365" } });
    const account = await createAccount(retaining, { email: "kept@example.com", password: PASSWORD });
    const key = `kyc/${account.userId}/government_id/${crypto.randomUUID()}`;
    await env.KYC_BUCKET.put(key, new Uint8Array([0x25, 0x50, 0x44, 0x46, 0x2d]));
    await retaining.sql`INSERT INTO user_kyc (user_id, government_id_object_key) VALUES (${account.userId}, ${key})`;

    const deleted = await retaining.request("DELETE", "/v1/me", {
      token: account.accessToken,
      body: { password: PASSWORD },
    });
    expect(deleted.status).toBe(204);
    expect(await env.KYC_BUCKET.head(key)).not.toBeNull();
    expect(await retaining.sql`SELECT user_id FROM user_kyc WHERE user_id = ${account.userId}`).toHaveLength(1);
  });

  it("answers 503 and changes nothing when R2 fails", async () => {
    const failingBucket = new Proxy(env.KYC_BUCKET, {
      get(target, property) {
        if (property === "delete") return () => Promise.reject(new Error("R2 is down"));
        return Reflect.get(target, property);
      },
    });
    const broken = await createTestApp({ bindings: {} });
    const account = await createAccount(broken, { email: "r2-down@example.com", password: PASSWORD });
    await broken.sql`INSERT INTO user_kyc (user_id, government_id_object_key) VALUES (${account.userId}, 'kyc/x/government_id/y')`;
    const request = new Request("https://api.test/v1/me", {
      method: "DELETE",
      headers: { authorization: `Bearer ${account.accessToken}`, "content-type": "application/json" },
      body: JSON.stringify({ password: PASSWORD }),
    });
    const response = await broken.app.fetch(request, { ...broken.bindings, KYC_BUCKET: failingBucket });
    expect(response.status).toBe(503);
    const [user] = await broken.sql`SELECT status FROM users WHERE id = ${account.userId}`;
    expect(user?.status).toBe("active");
  });
});
