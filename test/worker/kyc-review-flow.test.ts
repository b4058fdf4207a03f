import { beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "./helpers/app";
import { type SignedInUser, signUpUser } from "./helpers/accounts";
import { PAN_DETAILS, pdfBytes, sha256Hex, uploadDocument, VALID_GSTIN_FOR_PAN, VALID_PAN } from "./helpers/kyc";

const REJECTION_REASON = "The PAN card scan is unreadable. Upload a clearer copy.";

describe("KYC review from submission to approval", () => {
  let t: TestApp;
  let trader: SignedInUser;
  let reviewer: SignedInUser;
  let admin: SignedInUser;
  const requestIds: string[] = [];

  /** Send a request with a fresh request id, remembered so the audit log can be checked against it. */
  function send(method: string, path: string, user: SignedInUser, options: { body?: unknown } = {}) {
    const requestId = `flow-${requestIds.length + 1}-${crypto.randomUUID().slice(0, 8)}`;
    requestIds.push(requestId);
    return t.request(method, path, { ...options, token: user.accessToken, headers: { "x-request-id": requestId } });
  }

  beforeAll(async () => {
    t = await createTestApp();
    trader = await signUpUser(t, "trader@example.com");
    reviewer = await signUpUser(t, "reviewer@example.com", "reviewer");
    admin = await signUpUser(t, "admin@example.com", "admin");
  });

  it("trader sets up profile and submits", async () => {
    const profile = await send("PUT", "/v1/me/profile", trader, {
      body: { full_name: "Asha Rao", country_code: "IND", company_name: "Rao Exports Pvt Ltd" },
    });
    expect(profile.status).toBe(200);

    const details = await send("PUT", "/v1/me/kyc", trader, { body: PAN_DETAILS });
    expect(details.status).toBe(200);
    expect(details.body.gstin_number).toBe(VALID_GSTIN_FOR_PAN);

    const upload = await uploadDocument(t, trader, "government_id", pdfBytes(), "application/pdf", {
      "x-request-id": "flow-upload-1",
    });
    requestIds.push("flow-upload-1");
    expect(upload.status).toBe(200);

    t.clock.advanceSeconds(30);
    const submitted = await send("POST", "/v1/me/kyc/submit", trader);
    expect(submitted.status).toBe(200);
    expect(submitted.body.status).toBe("pending");
  });

  it("reviewer finds it in the queue", async () => {
    const queue = await send("GET", "/v1/admin/kyc", reviewer);
    expect(queue.status).toBe(200);
    expect(queue.body).toEqual({
      items: [
        {
          user_id: trader.id,
          email: "trader@example.com",
          full_name: "Asha Rao",
          company_name: "Rao Exports Pvt Ltd",
          country_code: "IND",
          status: "pending",
          submitted_at: t.clock.now().toISOString(),
        },
      ],
      next_cursor: null,
    });
  });

  it("reviewer sees the full number and the file", async () => {
    const view = await send("GET", `/v1/admin/kyc/${trader.id}`, reviewer);
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({
      user_id: trader.id,
      status: "pending",
      government_id_type: "pan",
      government_id_number: VALID_PAN,
      government_id_number_masked: "XXXXXXXX234F",
      reviewed_by: null,
    });
    expect(view.body.documents.government_id.sha256).toBe(await sha256Hex(pdfBytes()));

    const file = await send("GET", `/v1/admin/kyc/${trader.id}/documents/government_id`, reviewer);
    expect(file.status).toBe(200);
    expect(file.text).toBe(new TextDecoder().decode(pdfBytes()));
    expect(file.headers.get("content-disposition")).toMatch(/^attachment;/);
  });

  it("reviewer rejects with a reason", async () => {
    t.clock.advanceSeconds(30);
    const rejected = await send("POST", `/v1/admin/kyc/${trader.id}/reject`, reviewer, {
      body: { reason: REJECTION_REASON },
    });
    expect(rejected.status).toBe(200);
    expect(rejected.body).toMatchObject({ status: "rejected", rejection_reason: REJECTION_REASON, verified_at: null });

    const mail = t.mailer.messagesTo("trader@example.com").at(-1);
    expect(mail?.subject).toMatch(/needs changes/);
    expect(mail?.text).toContain(REJECTION_REASON);

    const own = await send("GET", "/v1/me/kyc", trader);
    expect(own.body).toMatchObject({ status: "rejected", rejection_reason: REJECTION_REASON });
    expect((await send("GET", "/v1/admin/kyc", reviewer)).body.items).toEqual([]);
  });

  it("trader fixes the document and resubmits", async () => {
    const replaced = await uploadDocument(t, trader, "government_id", pdfBytes("clearer scan"), "application/pdf", {
      "x-request-id": "flow-upload-2",
    });
    requestIds.push("flow-upload-2");
    expect(replaced.status).toBe(200);
    expect(replaced.body.status).toBe("draft");

    const edited = await send("PUT", "/v1/me/kyc", trader, { body: { ...PAN_DETAILS, trader_type: "both" } });
    expect(edited.status).toBe(200);
    expect(edited.body.status).toBe("draft");

    t.clock.advanceSeconds(30);
    const resubmitted = await send("POST", "/v1/me/kyc/submit", trader);
    expect(resubmitted.status).toBe(200);
    expect(resubmitted.body).toMatchObject({ status: "pending", rejection_reason: null });
  });

  it("reviewer approves and the trader is verified", async () => {
    const queue = await send("GET", "/v1/admin/kyc", reviewer);
    expect(queue.body.items.map((item: { user_id: string }) => item.user_id)).toEqual([trader.id]);

    t.clock.advanceSeconds(30);
    const approved = await send("POST", `/v1/admin/kyc/${trader.id}/approve`, reviewer);
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: "approved", verified_at: t.clock.now().toISOString() });

    const [row] = await t.sql`SELECT reviewed_by, reviewed_at, verified_at FROM user_kyc WHERE user_id = ${trader.id}`;
    expect(row?.reviewed_by).toBe(reviewer.id);

    const mail = t.mailer.messagesTo("trader@example.com").at(-1);
    expect(mail?.subject).toMatch(/approved/);

    const me = await send("GET", "/v1/me", trader);
    expect(me.body.kyc).toEqual({ status: "approved" });

    const edit = await send("PUT", "/v1/me/kyc", trader, { body: PAN_DETAILS });
    expect(edit.status).toBe(409);
    expect(edit.body.code).toBe("kyc_locked");
    const again = await send("POST", `/v1/admin/kyc/${trader.id}/approve`, reviewer);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("invalid_transition");
  });

  it("records every step in the audit log", async () => {
    const log = await t.request("GET", `/v1/admin/audit?user_id=${trader.id}&limit=100`, { token: admin.accessToken });
    expect(log.status).toBe(200);
    const events = [...log.body.items].reverse();
    expect(events.map((event: { action: string }) => event.action)).toEqual([
      "signup.verified",
      "profile.updated",
      "kyc.updated",
      "kyc.document_uploaded",
      "kyc.submitted",
      "kyc.viewed",
      "kyc.document_viewed",
      "kyc.rejected",
      "kyc.document_uploaded",
      "kyc.updated",
      "kyc.submitted",
      "kyc.approved",
    ]);

    const byAction = (action: string) => events.filter((event: { action: string }) => event.action === action);
    for (const action of ["kyc.viewed", "kyc.document_viewed", "kyc.rejected", "kyc.approved"]) {
      for (const event of byAction(action)) {
        expect(event.actor_user_id, action).toBe(reviewer.id);
        expect(event.target_user_id, action).toBe(trader.id);
      }
    }
    expect(byAction("kyc.rejected")[0].metadata).toEqual({ reason: REJECTION_REASON });
    for (const event of events.slice(1)) expect(requestIds, event.action).toContain(event.request_id);
    expect(JSON.stringify(events)).not.toContain(VALID_PAN);
  });

  it("makes the expected review round trips", async () => {
    const other = await signUpUser(t, "second@example.com");
    await t.request("PUT", "/v1/me/profile", {
      token: other.accessToken,
      body: { full_name: "Second Trader", country_code: "ARE" },
    });
    await t.request("PUT", "/v1/me/kyc", { token: other.accessToken, body: PAN_DETAILS });
    await uploadDocument(t, other, "government_id", pdfBytes());
    await t.request("POST", "/v1/me/kyc/submit", { token: other.accessToken });

    const token = reviewer.accessToken;
    const trips = {
      queue: await t.countRoundTrips(() => t.request("GET", "/v1/admin/kyc", { token })),
      view: await t.countRoundTrips(() => t.request("GET", `/v1/admin/kyc/${other.id}`, { token })),
      document: await t.countRoundTrips(() =>
        t.request("GET", `/v1/admin/kyc/${other.id}/documents/government_id`, { token }),
      ),
      reject: await t.countRoundTrips(() =>
        t.request("POST", `/v1/admin/kyc/${other.id}/reject`, { token, body: { reason: "Wrong document" } }),
      ),
      approve: await t.countRoundTrips(() => t.request("POST", `/v1/admin/kyc/${other.id}/approve`, { token })),
    };
    // A download reads, then fetches from R2, then records the view, so an R2 failure records nothing.
    expect(trips).toEqual({ queue: 1, view: 1, document: 2, reject: 1, approve: 1 });
  });

  it("documents the routes in OpenAPI", async () => {
    const document = await t.request("GET", "/openapi.json");
    expect(document.status).toBe(200);
    const paths = Object.keys(document.body.paths);
    for (const path of [
      "/v1/me/profile",
      "/v1/me/kyc",
      "/v1/me/kyc/documents/{kind}",
      "/v1/me/kyc/submit",
      "/v1/admin/kyc",
      "/v1/admin/kyc/{user_id}",
      "/v1/admin/kyc/{user_id}/documents/{kind}",
      "/v1/admin/kyc/{user_id}/approve",
      "/v1/admin/kyc/{user_id}/reject",
      "/v1/admin/users",
      "/v1/admin/users/{id}/suspend",
      "/v1/admin/users/{id}/reactivate",
      "/v1/admin/users/{id}/role",
      "/v1/admin/audit",
    ]) {
      expect(paths, path).toContain(path);
    }
    const upload = document.body.paths["/v1/me/kyc/documents/{kind}"].put;
    expect(Object.keys(upload.requestBody.content)).toEqual(["application/pdf", "image/jpeg", "image/png"]);
  });
});
