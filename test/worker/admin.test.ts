import { beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "./helpers/app";
import { type SignedInUser, signUpUser } from "./helpers/accounts";
import { PAN_DETAILS, submitKycFor } from "./helpers/kyc";

type AdminRoute = { method: string; path: (id: string) => string; body?: unknown };

const REVIEW_ROUTES: AdminRoute[] = [
  { method: "GET", path: () => "/v1/admin/kyc" },
  { method: "GET", path: (id) => `/v1/admin/kyc/${id}` },
  { method: "GET", path: (id) => `/v1/admin/kyc/${id}/documents/government_id` },
  { method: "POST", path: (id) => `/v1/admin/kyc/${id}/approve` },
  { method: "POST", path: (id) => `/v1/admin/kyc/${id}/reject`, body: { reason: "Not readable" } },
];

const ADMIN_ONLY_ROUTES: AdminRoute[] = [
  { method: "GET", path: () => "/v1/admin/users" },
  { method: "POST", path: (id) => `/v1/admin/users/${id}/suspend`, body: { reason: "Fraud" } },
  { method: "POST", path: (id) => `/v1/admin/users/${id}/reactivate` },
  { method: "PUT", path: (id) => `/v1/admin/users/${id}/role`, body: { role: "admin" } },
  { method: "GET", path: () => "/v1/admin/audit" },
];

describe("admin route authorisation", () => {
  let t: TestApp;
  let trader: SignedInUser;
  let reviewer: SignedInUser;
  let admin: SignedInUser;

  beforeAll(async () => {
    t = await createTestApp();
    trader = await signUpUser(t, "trader@example.com");
    reviewer = await signUpUser(t, "reviewer@example.com", "reviewer");
    admin = await signUpUser(t, "admin@example.com", "admin");
    await submitKycFor(t, trader);
  });

  it("requires a token on every admin route", async () => {
    for (const route of [...REVIEW_ROUTES, ...ADMIN_ONLY_ROUTES]) {
      const response = await t.request(route.method, route.path(trader.id), { body: route.body });
      expect(response.status, `${route.method} ${route.path(":id")}`).toBe(401);
    }
  });

  it("refuses a user token on every admin route", async () => {
    const other = await signUpUser(t, "curious@example.com");
    for (const route of [...REVIEW_ROUTES, ...ADMIN_ONLY_ROUTES]) {
      const response = await t.request(route.method, route.path(trader.id), {
        token: other.accessToken,
        body: route.body,
      });
      expect(response.status, `${route.method} ${route.path(":id")}`).toBe(403);
      expect(response.body.code).toBe("forbidden");
    }
    // Invalid input does not get past the role check either.
    const invalid = await t.request("GET", "/v1/admin/kyc/not-a-uuid", { token: other.accessToken });
    expect(invalid.status).toBe(403);
    const [row] = await t.sql`SELECT status FROM user_kyc WHERE user_id = ${trader.id}`;
    expect(row?.status).toBe("pending");
  });

  it("refuses a reviewer on admin-only routes", async () => {
    for (const route of ADMIN_ONLY_ROUTES) {
      const response = await t.request(route.method, route.path(trader.id), {
        token: reviewer.accessToken,
        body: route.body,
      });
      expect(response.status, `${route.method} ${route.path(":id")}`).toBe(403);
    }
    const [row] = await t.sql`SELECT role, status FROM users WHERE id = ${trader.id}`;
    expect(row).toEqual({ role: "user", status: "active" });
  });

  it("lets an admin review", async () => {
    const queue = await t.request("GET", "/v1/admin/kyc", { token: admin.accessToken });
    expect(queue.status).toBe(200);
    expect(queue.body.items).toHaveLength(1);
  });

  it("cuts off a demoted reviewer at once", async () => {
    const demoted = await signUpUser(t, "demoted@example.com", "reviewer");
    expect((await t.request("GET", "/v1/admin/kyc", { token: demoted.accessToken })).status).toBe(200);

    await t.sql`UPDATE users SET role = 'user' WHERE id = ${demoted.id}`;
    // The access token still carries "reviewer", but the database no longer has it.
    for (const route of REVIEW_ROUTES) {
      const response = await t.request(route.method, route.path(trader.id), {
        token: demoted.accessToken,
        body: route.body,
      });
      expect(response.status, `${route.method} ${route.path(":id")}`).toBe(403);
    }
    const [row] = await t.sql`SELECT status FROM user_kyc WHERE user_id = ${trader.id}`;
    expect(row?.status).toBe("pending");
    expect(
      await t.sql`SELECT 1 FROM audit_events WHERE actor_user_id = ${demoted.id} AND action LIKE 'kyc.%'`,
    ).toHaveLength(0);
  });

  it("cuts off a suspended reviewer at once", async () => {
    const suspended = await signUpUser(t, "suspended-reviewer@example.com", "reviewer");
    await t.sql`UPDATE users SET status = 'suspended' WHERE id = ${suspended.id}`;
    const response = await t.request("POST", `/v1/admin/kyc/${trader.id}/approve`, { token: suspended.accessToken });
    expect(response.status).toBe(401);
    const [row] = await t.sql`SELECT status FROM user_kyc WHERE user_id = ${trader.id}`;
    expect(row?.status).toBe("pending");
  });

  it("cuts off a demoted admin at once", async () => {
    const demoted = await signUpUser(t, "former-admin@example.com", "admin");
    const demotion = await t.request("PUT", `/v1/admin/users/${demoted.id}/role`, {
      token: admin.accessToken,
      body: { role: "user" },
    });
    expect(demotion.status).toBe(200);
    for (const route of ADMIN_ONLY_ROUTES) {
      const response = await t.request(route.method, route.path(trader.id), {
        token: demoted.accessToken,
        body: route.body,
      });
      expect(response.status, `${route.method} ${route.path(":id")}`).toBe(403);
    }
    const [row] = await t.sql`SELECT role, status FROM users WHERE id = ${trader.id}`;
    expect(row).toEqual({ role: "user", status: "active" });
  });
});

describe("KYC review rules", () => {
  let t: TestApp;
  let reviewer: SignedInUser;

  beforeAll(async () => {
    t = await createTestApp();
    reviewer = await signUpUser(t, "reviewer@example.com", "reviewer");
  });

  it("refuses approving a draft", async () => {
    const trader = await signUpUser(t, "drafting@example.com");
    await t.request("PUT", "/v1/me/kyc", { token: trader.accessToken, body: PAN_DETAILS });
    const response = await t.request("POST", `/v1/admin/kyc/${trader.id}/approve`, { token: reviewer.accessToken });
    expect(response.status).toBe(409);
    expect(response.body.code).toBe("invalid_transition");
    const rejected = await t.request("POST", `/v1/admin/kyc/${trader.id}/reject`, {
      token: reviewer.accessToken,
      body: { reason: "No" },
    });
    expect(rejected.status).toBe(409);
    const [row] = await t.sql`SELECT status, reviewed_by FROM user_kyc WHERE user_id = ${trader.id}`;
    expect(row).toEqual({ status: "draft", reviewed_by: null });
  });

  it("answers 404 for users without KYC", async () => {
    const nobody = await signUpUser(t, "nobody@example.com");
    for (const id of [nobody.id, crypto.randomUUID()]) {
      expect((await t.request("POST", `/v1/admin/kyc/${id}/approve`, { token: reviewer.accessToken })).status).toBe(
        404,
      );
      expect((await t.request("GET", `/v1/admin/kyc/${id}`, { token: reviewer.accessToken })).status).toBe(404);
    }
    expect(await t.sql`SELECT 1 FROM audit_events WHERE action = 'kyc.viewed'`).toHaveLength(0);
  });

  it("forbids reviewing one's own KYC", async () => {
    await submitKycFor(t, reviewer, "Reviewer Herself");
    for (const [method, path, body] of [
      ["POST", `/v1/admin/kyc/${reviewer.id}/approve`, undefined],
      ["POST", `/v1/admin/kyc/${reviewer.id}/reject`, { reason: "Self" }],
      ["GET", `/v1/admin/kyc/${reviewer.id}`, undefined],
      ["GET", `/v1/admin/kyc/${reviewer.id}/documents/government_id`, undefined],
    ] as const) {
      const response = await t.request(method, path, { token: reviewer.accessToken, body });
      expect(response.status, `${method} ${path}`).toBe(403);
      expect(response.body.code).toBe("forbidden");
    }
    const [row] = await t.sql`SELECT status FROM user_kyc WHERE user_id = ${reviewer.id}`;
    expect(row?.status).toBe("pending");
  });

  it("validates the rejection reason", async () => {
    const trader = await signUpUser(t, "reasons@example.com");
    await submitKycFor(t, trader);
    for (const body of [
      {},
      { reason: "" },
      { reason: "   " },
      { reason: "x".repeat(1001) },
      { reason: "ok", status: "approved" },
    ]) {
      const response = await t.request("POST", `/v1/admin/kyc/${trader.id}/reject`, {
        token: reviewer.accessToken,
        body,
      });
      expect(response.status, JSON.stringify(body).slice(0, 40)).toBe(400);
    }
    const accepted = await t.request("POST", `/v1/admin/kyc/${trader.id}/reject`, {
      token: reviewer.accessToken,
      body: { reason: "x".repeat(1000) },
    });
    expect(accepted.status).toBe(200);
  });

  it("lets exactly one of racing decisions win", async () => {
    const trader = await signUpUser(t, "raced@example.com");
    await submitKycFor(t, trader);
    const second = await signUpUser(t, "second-reviewer@example.com", "reviewer");
    const responses = await Promise.all([
      ...Array.from({ length: 3 }, () =>
        t.request("POST", `/v1/admin/kyc/${trader.id}/approve`, { token: reviewer.accessToken }),
      ),
      ...Array.from({ length: 3 }, () =>
        t.request("POST", `/v1/admin/kyc/${trader.id}/reject`, { token: second.accessToken, body: { reason: "Race" } }),
      ),
    ]);
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses).toEqual([200, 409, 409, 409, 409, 409]);
    const decisions = await t.sql`SELECT action FROM audit_events
                                  WHERE target_user_id = ${trader.id} AND action IN ('kyc.approved', 'kyc.rejected')`;
    expect(decisions).toHaveLength(1);
    expect(t.mailer.messagesTo("raced@example.com").filter((mail) => /verification/.test(mail.subject))).toHaveLength(
      1,
    );
  });
});

describe("KYC queue", () => {
  let t: TestApp;
  let reviewer: SignedInUser;
  const traders: SignedInUser[] = [];

  beforeAll(async () => {
    t = await createTestApp();
    reviewer = await signUpUser(t, "reviewer@example.com", "reviewer");
    for (const name of ["first", "second", "third"]) {
      const trader = await signUpUser(t, `${name}@example.com`);
      t.clock.advanceSeconds(1);
      await submitKycFor(t, trader, `Trader ${name}`);
      traders.push(trader);
    }
  });

  it("pages oldest submission first", async () => {
    const first = await t.request("GET", "/v1/admin/kyc?limit=2", { token: reviewer.accessToken });
    expect(first.status).toBe(200);
    expect(first.body.items.map((item: { full_name: string }) => item.full_name)).toEqual([
      "Trader first",
      "Trader second",
    ]);
    expect(first.body.next_cursor).toEqual(expect.any(String));

    const second = await t.request("GET", `/v1/admin/kyc?limit=2&cursor=${first.body.next_cursor}`, {
      token: reviewer.accessToken,
    });
    expect(second.body.items.map((item: { full_name: string }) => item.full_name)).toEqual(["Trader third"]);
    expect(second.body.next_cursor).toBeNull();
  });

  it("filters by status", async () => {
    const [trader] = traders;
    if (trader === undefined) throw new Error("no trader");
    await t.request("POST", `/v1/admin/kyc/${trader.id}/approve`, { token: reviewer.accessToken });
    const approved = await t.request("GET", "/v1/admin/kyc?status=approved", { token: reviewer.accessToken });
    expect(approved.body.items.map((item: { user_id: string }) => item.user_id)).toEqual([trader.id]);
    const pending = await t.request("GET", "/v1/admin/kyc", { token: reviewer.accessToken });
    expect(pending.body.items).toHaveLength(2);
  });

  it("rejects bad query parameters", async () => {
    const forged = btoa(JSON.stringify(["2026-13-40T00:00:00.000000Z", crypto.randomUUID()])).replaceAll("=", "");
    for (const query of [
      "status=draft",
      "status=anything",
      "limit=0",
      "limit=101",
      "limit=ten",
      "cursor=not-a-cursor",
      `cursor=${forged}`,
      "cursor=W10",
      "status=pending&status=approved",
      "sort=desc",
    ]) {
      const response = await t.request("GET", `/v1/admin/kyc?${query}`, { token: reviewer.accessToken });
      expect(response.status, query).toBe(400);
      expect(response.body.code, query).toBe("validation_failed");
    }
  });
});

describe("user administration", () => {
  let t: TestApp;
  let admin: SignedInUser;
  let target: SignedInUser;

  beforeAll(async () => {
    t = await createTestApp();
    admin = await signUpUser(t, "admin@example.com", "admin");
    target = await signUpUser(t, "target@example.com");
    await t.sql`UPDATE users SET username = 'tara_exports' WHERE id = ${target.id}`;
    for (const name of ["alpha", "beta", "gamma"]) {
      t.clock.advanceSeconds(1);
      await signUpUser(t, `${name}@traders.example`);
    }
  });

  it("searches users by prefix", async () => {
    const byEmail = await t.request("GET", "/v1/admin/users?q=TARGET@", { token: admin.accessToken });
    expect(byEmail.status).toBe(200);
    expect(byEmail.body.items.map((user: { id: string }) => user.id)).toEqual([target.id]);
    const byUsername = await t.request("GET", "/v1/admin/users?q=tara_", { token: admin.accessToken });
    expect(byUsername.body.items.map((user: { id: string }) => user.id)).toEqual([target.id]);
    const byId = await t.request("GET", `/v1/admin/users?q=${target.id}`, { token: admin.accessToken });
    expect(byId.body.items.map((user: { id: string }) => user.id)).toEqual([target.id]);
    // LIKE wildcards in q are literal characters.
    const wildcard = await t.request("GET", "/v1/admin/users?q=%25", { token: admin.accessToken });
    expect(wildcard.body.items).toEqual([]);
    const underscore = await t.request("GET", "/v1/admin/users?q=_", { token: admin.accessToken });
    expect(underscore.body.items).toEqual([]);
    // Postgres text cannot hold U+0000, so it is rejected as input.
    const nul = await t.request("GET", "/v1/admin/users?q=u1%00", { token: admin.accessToken });
    expect(nul.status).toBe(400);
    expect(nul.body.code).toBe("validation_failed");
  });

  it("serves the prefix search from indexes", async () => {
    // With sequential scans priced out, the plan shows which indexes can serve the search.
    const [, plan] = await t.sql.transaction([
      t.sql`SET LOCAL enable_seqscan = off`,
      t.sql`EXPLAIN SELECT id FROM users AS u
            WHERE u.email LIKE 'tar%' ESCAPE '\\' OR lower(u.username) LIKE 'tar%' ESCAPE '\\'`,
    ]);
    const text = (plan as Record<string, string>[]).map((row) => row["QUERY PLAN"]).join("\n");
    expect(text).toContain("users_email_prefix_idx");
    expect(text).toContain("users_username_lower_prefix_idx");
  });

  it("pages through users newest first", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? "limit=2" : `limit=2&cursor=${cursor}`;
      const page = await t.request("GET", `/v1/admin/users?${query}`, { token: admin.accessToken });
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((user: { email: string }) => user.email));
      cursor = page.body.next_cursor;
    } while (cursor !== null);
    // Admin and target share one created_at, so the id tie-break decides across a page boundary.
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
    expect(seen.slice(0, 3)).toEqual(["gamma@traders.example", "beta@traders.example", "alpha@traders.example"]);
  });

  it("suspends and revokes every session", async () => {
    const suspended = await t.request("POST", `/v1/admin/users/${target.id}/suspend`, {
      token: admin.accessToken,
      body: { reason: "Chargeback fraud reported by the bank" },
      headers: { "x-request-id": "suspend-target-1" },
    });
    expect(suspended.status).toBe(200);
    expect(suspended.body).toMatchObject({ id: target.id, status: "suspended" });

    const sessions = await t.sql`SELECT revoked_at, revoked_reason FROM auth_sessions WHERE user_id = ${target.id}`;
    expect(sessions.length).toBeGreaterThan(0);
    for (const session of sessions) {
      expect(session.revoked_at).not.toBeNull();
      expect(session.revoked_reason).toBe("account_suspended");
    }
    expect((await t.request("GET", "/v1/me", { token: target.accessToken })).status).toBe(401);
    expect((await t.request("GET", "/v1/me/kyc", { token: target.accessToken })).status).toBe(401);

    const [event] = await t.sql`SELECT actor_user_id, target_user_id, metadata FROM audit_events
                                WHERE action = 'user.suspended' AND request_id = 'suspend-target-1'`;
    expect(event).toEqual({
      actor_user_id: admin.id,
      target_user_id: target.id,
      metadata: { reason: "Chargeback fraud reported by the bank" },
    });

    const again = await t.request("POST", `/v1/admin/users/${target.id}/suspend`, {
      token: admin.accessToken,
      body: { reason: "Again" },
    });
    expect(again.status).toBe(200);
    expect(await t.sql`SELECT 1 FROM audit_events WHERE action = 'user.suspended'`).toHaveLength(1);
  });

  it("reactivates a suspended account", async () => {
    const response = await t.request("POST", `/v1/admin/users/${target.id}/reactivate`, { token: admin.accessToken });
    expect(response.status).toBe(200);
    expect(response.body.status).toBe("active");
    const events = await t.sql`SELECT actor_user_id FROM audit_events WHERE action = 'user.reactivated'`;
    expect(events).toEqual([{ actor_user_id: admin.id }]);
  });

  it("keeps an unverified account pending on reactivation", async () => {
    await t.request("POST", "/v1/auth/signup", {
      body: { email: "pending@example.com", password: "correct horse battery staple" },
    });
    const [pending] = await t.sql`SELECT id FROM users WHERE email = 'pending@example.com'`;
    await t.request("POST", `/v1/admin/users/${pending?.id}/suspend`, {
      token: admin.accessToken,
      body: { reason: "Spam" },
    });
    const response = await t.request("POST", `/v1/admin/users/${pending?.id}/reactivate`, { token: admin.accessToken });
    expect(response.status).toBe(200);
    expect(response.body.status).toBe("pending_verification");
  });

  it("changes roles and audits the change", async () => {
    const response = await t.request("PUT", `/v1/admin/users/${target.id}/role`, {
      token: admin.accessToken,
      body: { role: "reviewer" },
    });
    expect(response.status).toBe(200);
    expect(response.body.role).toBe("reviewer");
    const [event] =
      await t.sql`SELECT actor_user_id, target_user_id, metadata FROM audit_events WHERE action = 'user.role_changed'`;
    expect(event).toEqual({
      actor_user_id: admin.id,
      target_user_id: target.id,
      metadata: { from: "user", to: "reviewer" },
    });

    const unchanged = await t.request("PUT", `/v1/admin/users/${target.id}/role`, {
      token: admin.accessToken,
      body: { role: "reviewer" },
    });
    expect(unchanged.status).toBe(200);
    expect(await t.sql`SELECT 1 FROM audit_events WHERE action = 'user.role_changed'`).toHaveLength(1);
  });

  it("refuses changes to one's own account", async () => {
    for (const [method, path, body] of [
      ["PUT", `/v1/admin/users/${admin.id}/role`, { role: "user" }],
      ["POST", `/v1/admin/users/${admin.id}/suspend`, { reason: "Oops" }],
      ["POST", `/v1/admin/users/${admin.id}/reactivate`, undefined],
    ] as const) {
      const response = await t.request(method, path, { token: admin.accessToken, body });
      expect(response.status, path).toBe(403);
    }
    const [row] = await t.sql`SELECT role, status FROM users WHERE id = ${admin.id}`;
    expect(row).toEqual({ role: "admin", status: "active" });
  });

  it("rejects invalid admin input", async () => {
    const cases: [string, string, unknown][] = [
      ["PUT", `/v1/admin/users/${target.id}/role`, { role: "superuser" }],
      ["PUT", `/v1/admin/users/${target.id}/role`, { role: "admin", status: "active" }],
      ["POST", `/v1/admin/users/${target.id}/suspend`, {}],
      ["POST", `/v1/admin/users/not-a-uuid/suspend`, { reason: "x" }],
      ["GET", "/v1/admin/users?status=banned", undefined],
      ["GET", "/v1/admin/audit?user_id=abc", undefined],
      ["GET", "/v1/admin/audit?cursor=abc", undefined],
      ["GET", "/v1/admin/audit?action=drop_table", undefined],
    ];
    for (const [method, path, body] of cases) {
      const response = await t.request(method, path, { token: admin.accessToken, body });
      expect(response.status, `${method} ${path}`).toBe(400);
    }
    const missing = await t.request("PUT", `/v1/admin/users/${crypto.randomUUID()}/role`, {
      token: admin.accessToken,
      body: { role: "admin" },
    });
    expect(missing.status).toBe(404);
  });

  it("reads the audit log newest first", async () => {
    const all = await t.request("GET", "/v1/admin/audit?limit=2", { token: admin.accessToken });
    expect(all.status).toBe(200);
    expect(all.body.items).toHaveLength(2);
    expect(all.body.items[0].id).toBeGreaterThan(all.body.items[1].id);
    const next = await t.request("GET", `/v1/admin/audit?limit=2&cursor=${all.body.next_cursor}`, {
      token: admin.accessToken,
    });
    expect(next.body.items[0].id).toBeLessThan(all.body.items[1].id);

    const forTarget = await t.request("GET", `/v1/admin/audit?user_id=${target.id}&action=user.suspended`, {
      token: admin.accessToken,
    });
    expect(forTarget.body.items).toHaveLength(1);
    expect(forTarget.body.items[0]).toMatchObject({
      action: "user.suspended",
      actor_user_id: admin.id,
      target_user_id: target.id,
      request_id: "suspend-target-1",
    });
  });

  it("uses one round trip per admin request", async () => {
    const token = admin.accessToken;
    const trips = {
      users: await t.countRoundTrips(() => t.request("GET", "/v1/admin/users?q=a", { token })),
      suspend: await t.countRoundTrips(() =>
        t.request("POST", `/v1/admin/users/${target.id}/suspend`, { token, body: { reason: "Check" } }),
      ),
      reactivate: await t.countRoundTrips(() =>
        t.request("POST", `/v1/admin/users/${target.id}/reactivate`, { token }),
      ),
      role: await t.countRoundTrips(() =>
        t.request("PUT", `/v1/admin/users/${target.id}/role`, { token, body: { role: "user" } }),
      ),
      audit: await t.countRoundTrips(() => t.request("GET", "/v1/admin/audit", { token })),
    };
    expect(trips).toEqual({ users: 1, suspend: 1, reactivate: 1, role: 1, audit: 1 });
  });
});
