import { env } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "./helpers/app";
import { type SignedInUser, signUpUser } from "./helpers/accounts";
import { type FaultSwitch, failingBinding } from "./helpers/faults";
import {
  chunkedStream,
  jpegBytes,
  PAN_DETAILS,
  pdfBytes,
  pdfOfSize,
  pngBytes,
  sha256Hex,
  uploadDocument,
} from "./helpers/kyc";

const TEN_MIB = 10 * 1024 * 1024;
const OBJECT_KEY =
  /^kyc\/[0-9a-f-]{36}\/(government_id|business_cert)\/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const encoder = new TextEncoder();

async function listObjectKeys(userId: string): Promise<string[]> {
  const listed = await env.KYC_BUCKET.list({ prefix: `kyc/${userId}/` });
  return listed.objects.map((object) => object.key);
}

async function allObjectKeys(): Promise<string[]> {
  const listed = await env.KYC_BUCKET.list();
  return listed.objects.map((object) => object.key);
}

describe("KYC document uploads", () => {
  let t: TestApp;
  let asha: SignedInUser;
  let ravi: SignedInUser;

  beforeAll(async () => {
    t = await createTestApp();
    asha = await signUpUser(t, "asha@example.com");
    ravi = await signUpUser(t, "ravi@example.com");
  });

  it("stores a PDF under a server-made key", async () => {
    const bytes = pdfBytes();
    const response = await uploadDocument(t, asha, "government_id", bytes);
    expect(response.status).toBe(200);
    expect(response.body.status).toBe("draft");
    expect(response.body.documents.government_id).toEqual({
      content_type: "application/pdf",
      size: bytes.byteLength,
      sha256: await sha256Hex(bytes),
      uploaded_at: t.clock.now().toISOString(),
    });

    const [row] =
      await t.sql`SELECT government_id_object_key, government_id_sha256 FROM user_kyc WHERE user_id = ${asha.id}`;
    expect(row?.government_id_object_key).toMatch(OBJECT_KEY);
    expect(row?.government_id_object_key.startsWith(`kyc/${asha.id}/government_id/`)).toBe(true);
    const object = await env.KYC_BUCKET.get(row?.government_id_object_key);
    expect(new Uint8Array(await (object as R2ObjectBody).arrayBuffer())).toEqual(bytes);
    expect(object?.httpMetadata?.contentType).toBe("application/pdf");
  });

  it("accepts JPEG and PNG", async () => {
    expect((await uploadDocument(t, asha, "business_cert", jpegBytes(), "image/jpeg")).status).toBe(200);
    const png = await uploadDocument(t, asha, "business_cert", pngBytes(), "image/png; charset=binary");
    expect(png.status).toBe(200);
    expect(png.body.documents.business_cert.content_type).toBe("image/png");
  });

  it("stores a chunked upload", async () => {
    const bytes = pdfOfSize(3 * 1024 * 1024 + 17);
    const response = await t.request("PUT", "/v1/me/kyc/documents/business_cert", {
      token: asha.accessToken,
      rawBody: chunkedStream(bytes, 100_000),
      headers: { "content-type": "application/pdf" },
    });
    expect(response.status).toBe(200);
    expect(response.body.documents.business_cert).toMatchObject({
      size: bytes.byteLength,
      sha256: await sha256Hex(bytes),
    });
  });

  it("deletes the replaced object", async () => {
    const first = await uploadDocument(t, ravi, "government_id", pdfBytes("first"));
    expect(first.status).toBe(200);
    const [before] = await listObjectKeys(ravi.id);

    const second = await uploadDocument(t, ravi, "government_id", pdfBytes("second"));
    expect(second.status).toBe(200);
    expect(second.body.documents.government_id.sha256).toBe(await sha256Hex(pdfBytes("second")));
    const after = await listObjectKeys(ravi.id);
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(before);
    const [row] = await t.sql`SELECT government_id_object_key FROM user_kyc WHERE user_id = ${ravi.id}`;
    expect(row?.government_id_object_key).toBe(after[0]);
  });

  it("keeps one object after racing replacements", async () => {
    const racer = await signUpUser(t, "racer@example.com");
    const responses = await Promise.all(
      Array.from({ length: 5 }, (_, index) => uploadDocument(t, racer, "business_cert", pdfBytes(`race ${index}`))),
    );
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200, 200]);
    const keys = await listObjectKeys(racer.id);
    expect(keys).toHaveLength(1);
    const [row] = await t.sql`SELECT business_cert_object_key FROM user_kyc WHERE user_id = ${racer.id}`;
    expect(row?.business_cert_object_key).toBe(keys[0]);
  });

  it("refuses 10 MiB plus one byte", async () => {
    const keysBefore = await allObjectKeys();
    const tooLarge = pdfOfSize(TEN_MIB + 1);

    const declared = await uploadDocument(t, ravi, "business_cert", tooLarge);
    expect(declared.status).toBe(413);
    expect(declared.body.code).toBe("payload_too_large");

    const chunked = await t.request("PUT", "/v1/me/kyc/documents/business_cert", {
      token: ravi.accessToken,
      rawBody: chunkedStream(tooLarge),
      headers: { "content-type": "application/pdf" },
    });
    expect(chunked.status).toBe(413);
    expect(chunked.body.code).toBe("payload_too_large");

    expect(await allObjectKeys()).toEqual(keysBefore);
    const [row] = await t.sql`SELECT business_cert_object_key FROM user_kyc WHERE user_id = ${ravi.id}`;
    expect(row?.business_cert_object_key).toBeNull();
  });

  it("accepts exactly 10 MiB", async () => {
    const declared = await uploadDocument(t, ravi, "business_cert", pdfOfSize(TEN_MIB));
    expect(declared.status).toBe(200);
    expect(declared.body.documents.business_cert.size).toBe(TEN_MIB);
    const chunked = await t.request("PUT", "/v1/me/kyc/documents/business_cert", {
      token: ravi.accessToken,
      rawBody: chunkedStream(pdfOfSize(TEN_MIB)),
      headers: { "content-type": "application/pdf" },
    });
    expect(chunked.status).toBe(200);
  });

  it("refuses bytes that are not the declared type", async () => {
    const keysBefore = await allObjectKeys();
    const cases: [Uint8Array, string][] = [
      [encoder.encode("<!doctype html><html><script>alert(1)</script></html>"), "image/png"],
      [encoder.encode('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'), "image/png"],
      [encoder.encode('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>'), "image/png"],
      [pngBytes(), "application/pdf"],
      [pdfBytes(), "image/jpeg"],
      [jpegBytes(), "image/png"],
      [encoder.encode("%PD"), "application/pdf"],
    ];
    for (const [bytes, contentType] of cases) {
      const declared = await uploadDocument(t, ravi, "government_id", bytes, contentType);
      expect(declared.status, `${contentType} ${bytes.slice(0, 8)}`).toBe(415);
      expect(declared.body.code).toBe("unsupported_media_type");
      const chunked = await t.request("PUT", "/v1/me/kyc/documents/government_id", {
        token: ravi.accessToken,
        rawBody: chunkedStream(bytes, 2),
        headers: { "content-type": contentType },
      });
      expect(chunked.status, `chunked ${contentType}`).toBe(415);
    }
    expect(await allObjectKeys()).toEqual(keysBefore);
  });

  it("stores nothing when the upload breaks off", async () => {
    const keysBefore = await allObjectKeys();
    let sent = false;
    const breaking = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent) {
          controller.error(new Error("connection reset"));
          return;
        }
        sent = true;
        controller.enqueue(pdfOfSize(64 * 1024));
      },
    });
    const response = await t.request("PUT", "/v1/me/kyc/documents/business_cert", {
      token: ravi.accessToken,
      rawBody: breaking,
      headers: { "content-type": "application/pdf" },
    });
    expect(response.status).toBe(400);
    expect(await allObjectKeys()).toEqual(keysBefore);
  });

  it("refuses other declared types", async () => {
    for (const contentType of [
      "text/html",
      "image/svg+xml",
      "application/json",
      "multipart/form-data; boundary=x",
      "",
    ]) {
      const response = await uploadDocument(t, ravi, "government_id", pdfBytes(), contentType);
      expect(response.status, contentType).toBe(415);
    }
  });

  it("refuses empty bodies and unknown kinds", async () => {
    expect((await uploadDocument(t, ravi, "government_id", new Uint8Array(0))).status).toBe(400);
    const unknownKind = await uploadDocument(t, ravi, "selfie", pdfBytes());
    expect(unknownKind.status).toBe(400);
    expect(unknownKind.body.errors[0].path).toBe("kind");
  });

  it("ignores client-supplied file names", async () => {
    const response = await uploadDocument(
      t,
      ravi,
      "government_id",
      pdfBytes("named"),
      "application/pdf",
      { "content-disposition": 'attachment; filename="../../../etc/passwd"', "x-file-name": "../../x.pdf" },
      "/v1/me/kyc/documents/government_id?filename=../../evil.pdf&key=kyc/other/../../x",
    );
    expect(response.status).toBe(200);
    const keys = await allObjectKeys();
    for (const key of keys) {
      expect(key).toMatch(OBJECT_KEY);
      expect(key).not.toContain("..");
      expect(key).not.toContain("passwd");
      expect(key).not.toContain("evil");
    }
    const [row] = await t.sql`SELECT government_id_object_key FROM user_kyc WHERE user_id = ${ravi.id}`;
    expect(row?.government_id_object_key).toMatch(new RegExp(`^kyc/${ravi.id}/government_id/[0-9a-f-]{36}$`));

    const download = await t.request("GET", "/v1/me/kyc/documents/government_id", { token: ravi.accessToken });
    expect(download.headers.get("content-disposition")).toBe('attachment; filename="government_id.pdf"');
  });

  it("encoded traversal in the kind is not found", async () => {
    for (const path of ["/v1/me/kyc/documents/..%2F..%2Fx", "/v1/me/kyc/documents/%2E%2E%2Fx"]) {
      const response = await uploadDocument(t, ravi, "government_id", pdfBytes(), "application/pdf", {}, path);
      expect(response.status, path).toBe(400);
    }
  });

  it("serves the owner's document as an attachment", async () => {
    const response = await t.request("GET", "/v1/me/kyc/documents/government_id", { token: asha.accessToken });
    expect(response.status).toBe(200);
    expect(response.text).toBe(new TextDecoder().decode(pdfBytes()));
    expect(response.headers.get("content-type")).toBe("application/pdf");
    expect(response.headers.get("content-disposition")).toBe('attachment; filename="government_id.pdf"');
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("cache-control")).toBe("private, no-store");
  });

  it("never serves another user's document", async () => {
    const stranger = await signUpUser(t, "stranger@example.com");
    const own = await t.request("GET", "/v1/me/kyc/documents/government_id", { token: stranger.accessToken });
    expect(own.status).toBe(404);
    const viaAdmin = await t.request("GET", `/v1/admin/kyc/${asha.id}/documents/government_id`, {
      token: stranger.accessToken,
    });
    expect(viaAdmin.status).toBe(403);
    expect(viaAdmin.text).not.toContain("%PDF");
  });

  it("serves a reviewer and audits it", async () => {
    const reviewer = await signUpUser(t, "reviewer@example.com", "reviewer");
    const response = await t.request("GET", `/v1/admin/kyc/${asha.id}/documents/government_id`, {
      token: reviewer.accessToken,
      headers: { "x-request-id": "reviewer-download-1" },
    });
    expect(response.status).toBe(200);
    expect(response.text).toBe(new TextDecoder().decode(pdfBytes()));
    expect(response.headers.get("content-disposition")).toBe('attachment; filename="government_id.pdf"');
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("cache-control")).toBe("private, no-store");

    const events = await t.sql`SELECT actor_user_id, target_user_id, metadata FROM audit_events
                               WHERE action = 'kyc.document_viewed' AND request_id = 'reviewer-download-1'`;
    expect(events).toEqual([
      { actor_user_id: reviewer.id, target_user_id: asha.id, metadata: { kind: "government_id" } },
    ]);

    const missing = await t.request("GET", `/v1/admin/kyc/${ravi.id}/documents/business_cert`, {
      token: reviewer.accessToken,
      headers: { "x-request-id": "reviewer-download-2" },
    });
    expect(missing.status).toBe(200);
    const nobody = await t.request("GET", `/v1/admin/kyc/${stranger_id()}/documents/government_id`, {
      token: reviewer.accessToken,
      headers: { "x-request-id": "reviewer-download-3" },
    });
    expect(nobody.status).toBe(404);
    expect(await t.sql`SELECT 1 FROM audit_events WHERE request_id = 'reviewer-download-3'`).toHaveLength(0);
  });

  it("rejects uploads once submitted", async () => {
    const trader = await signUpUser(t, "locked@example.com");
    await t.request("PUT", "/v1/me/profile", {
      token: trader.accessToken,
      body: { full_name: "Locked Trader", country_code: "IND" },
    });
    await t.request("PUT", "/v1/me/kyc", { token: trader.accessToken, body: PAN_DETAILS });
    await uploadDocument(t, trader, "government_id", pdfBytes());
    expect((await t.request("POST", "/v1/me/kyc/submit", { token: trader.accessToken })).status).toBe(200);
    const keysBefore = await listObjectKeys(trader.id);

    const response = await uploadDocument(t, trader, "government_id", pdfBytes("replacement"));
    expect(response.status).toBe(409);
    expect(response.body.code).toBe("kyc_locked");
    expect(await listObjectKeys(trader.id)).toEqual(keysBefore);
  });

  it("turns a rejected record back into a draft", async () => {
    await t.sql`UPDATE user_kyc SET status = 'rejected', rejection_reason = 'Unreadable' WHERE user_id = ${ravi.id}`;
    const response = await uploadDocument(t, ravi, "government_id", pdfBytes("clearer scan"));
    expect(response.status).toBe(200);
    expect(response.body.status).toBe("draft");
  });

  it("uses two round trips to upload and one to download", async () => {
    expect(await t.countRoundTrips(() => uploadDocument(t, asha, "government_id", pdfBytes()))).toBe(2);
    expect(
      await t.countRoundTrips(() =>
        t.request("GET", "/v1/me/kyc/documents/government_id", { token: asha.accessToken }),
      ),
    ).toBe(1);
    expect(await t.countRoundTrips(() => uploadDocument(t, asha, "government_id", pngBytes(), "application/pdf"))).toBe(
      1,
    );
  });
});

function stranger_id(): string {
  return crypto.randomUUID();
}

describe("reviewer downloads and R2", () => {
  let t: TestApp;
  let trader: SignedInUser;
  let fault: FaultSwitch;
  /** Runs inside the bucket's `get` before R2 returns the object, to change state mid-download. */
  let beforeBucketGet: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    const failing = failingBinding(env.KYC_BUCKET, "KYC_BUCKET");
    fault = failing.fault;
    const bucket = new Proxy(failing.binding, {
      get(target, property) {
        const value = Reflect.get(target, property);
        if (property !== "get" || typeof value !== "function") return value;
        return async (...args: unknown[]) => {
          await beforeBucketGet?.();
          return value.apply(target, args);
        };
      },
    });
    t = await createTestApp({ settings: { KYC_BUCKET: bucket } });
    trader = await signUpUser(t, "trader@example.com");
    expect((await uploadDocument(t, trader, "government_id", pdfBytes())).status).toBe(200);
  });

  afterEach(() => {
    fault.failing = false;
    beforeBucketGet = undefined;
  });

  function download(reviewer: SignedInUser, requestId: string) {
    return t.request("GET", `/v1/admin/kyc/${trader.id}/documents/government_id`, {
      token: reviewer.accessToken,
      headers: { "x-request-id": requestId },
    });
  }

  function viewEvents(requestId: string) {
    return t.sql`SELECT actor_user_id, target_user_id FROM audit_events
                 WHERE action = 'kyc.document_viewed' AND request_id = ${requestId}`;
  }

  it("returns 503 and records nothing when R2 fails", async () => {
    const reviewer = await signUpUser(t, "reviewer-r2@example.com", "reviewer");
    fault.failing = true;

    const response = await download(reviewer, "r2-down-1");

    expect(fault.failedCalls).toContain("get");
    expect(response.status).toBe(503);
    expect(response.body.code).toBe("service_unavailable");
    expect(response.text).not.toContain("%PDF");
    expect(await viewEvents("r2-down-1")).toHaveLength(0);
  });

  it("records the download once R2 recovers", async () => {
    const reviewer = await signUpUser(t, "reviewer-retry@example.com", "reviewer");
    fault.failing = true;
    expect((await download(reviewer, "r2-retry-1")).status).toBe(503);
    fault.failing = false;

    const response = await download(reviewer, "r2-retry-2");

    expect(response.status).toBe(200);
    expect(response.text).toBe(new TextDecoder().decode(pdfBytes()));
    expect(await viewEvents("r2-retry-1")).toHaveLength(0);
    expect(await viewEvents("r2-retry-2")).toEqual([{ actor_user_id: reviewer.id, target_user_id: trader.id }]);
  });

  it("rejects a reviewer demoted mid-download", async () => {
    const reviewer = await signUpUser(t, "reviewer-demoted@example.com", "reviewer");
    beforeBucketGet = async () => {
      await t.sql`UPDATE users SET role = 'user' WHERE id = ${reviewer.id}`;
    };

    const response = await download(reviewer, "demoted-1");

    expect(response.status).toBe(403);
    expect(response.body.code).toBe("forbidden");
    expect(response.text).not.toContain("%PDF");
    expect(await viewEvents("demoted-1")).toHaveLength(0);
  });

  it("rejects a reviewer signed out mid-download", async () => {
    const reviewer = await signUpUser(t, "reviewer-signed-out@example.com", "reviewer");
    beforeBucketGet = async () => {
      await t.sql`UPDATE auth_sessions SET revoked_at = now() WHERE user_id = ${reviewer.id}`;
    };

    const response = await download(reviewer, "signed-out-1");

    expect(response.status).toBe(401);
    expect(response.text).not.toContain("%PDF");
    expect(await viewEvents("signed-out-1")).toHaveLength(0);
  });

  it("uses two round trips for a reviewer download", async () => {
    const reviewer = await signUpUser(t, "reviewer-trips@example.com", "reviewer");
    expect(await t.countRoundTrips(() => download(reviewer, "trips-1"))).toBe(2);
  });
});
