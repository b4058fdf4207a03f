import { beforeAll, describe, expect, it } from "vitest";
import { type SignedInUser, signUpUser, TEST_PASSWORD } from "./helpers/accounts";
import { createTestApp, type TestApp } from "./helpers/app";
import { submitKycFor } from "./helpers/kyc";

// A deleted account's KYC record stays only for the KYC_RETENTION_DAYS period, and reviewers cannot
// list, approve or reject it.
describe("KYC records of deleted accounts", () => {
  let t: TestApp;
  let reviewer: SignedInUser;
  let leaving: SignedInUser;
  let staying: SignedInUser;

  beforeAll(async () => {
    t = await createTestApp({ bindings: { KYC_RETENTION_DAYS: "365" } });
    reviewer = await signUpUser(t, "retention-reviewer@example.com", "reviewer");
    leaving = await signUpUser(t, "retention-leaving@example.com");
    staying = await signUpUser(t, "retention-staying@example.com");
    await submitKycFor(t, leaving, "Leaving Trader");
    await submitKycFor(t, staying, "Staying Trader");
    const deleted = await t.request("DELETE", "/v1/me", {
      token: leaving.accessToken,
      body: { password: TEST_PASSWORD },
    });
    expect(deleted.status).toBe(204);
  });

  it("leaves the record out of the queue", async () => {
    const [kept] = await t.sql`SELECT status FROM user_kyc WHERE user_id = ${leaving.id}`;
    expect(kept?.status).toBe("pending");

    const queue = await t.request("GET", "/v1/admin/kyc?status=pending", { token: reviewer.accessToken });
    expect(queue.status).toBe(200);
    const listed = queue.body.items.map((item: { user_id: string }) => item.user_id);
    expect(listed).toContain(staying.id);
    expect(listed).not.toContain(leaving.id);
  });

  it("answers 404 to decisions on it", async () => {
    const approve = await t.request("POST", `/v1/admin/kyc/${leaving.id}/approve`, { token: reviewer.accessToken });
    expect(approve.status).toBe(404);
    const reject = await t.request("POST", `/v1/admin/kyc/${leaving.id}/reject`, {
      token: reviewer.accessToken,
      body: { reason: "The account no longer exists." },
    });
    expect(reject.status).toBe(404);

    const [kept] = await t.sql`SELECT status, reviewed_by FROM user_kyc WHERE user_id = ${leaving.id}`;
    expect(kept).toEqual({ status: "pending", reviewed_by: null });
    const decisions = await t.sql`
      SELECT 1 FROM audit_events WHERE target_user_id = ${leaving.id} AND action IN ('kyc.approved', 'kyc.rejected')`;
    expect(decisions).toHaveLength(0);
  });

  it("approves a live account's record", async () => {
    const approve = await t.request("POST", `/v1/admin/kyc/${staying.id}/approve`, { token: reviewer.accessToken });
    expect(approve.status).toBe(200);
    expect(approve.body.status).toBe("approved");
  });
});
