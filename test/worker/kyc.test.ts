import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { decryptSecret, parseEncryptionKeyring } from "../../src/crypto/encryption";
import { createTestApp, type TestApp } from "./helpers/app";
import { type SignedInUser, signUpUser } from "./helpers/accounts";
import {
  dumpAllRows,
  OTHER_VALID_GSTIN,
  PAN_DETAILS,
  PROFILE,
  pdfBytes,
  prepareSubmittableKyc,
  uploadDocument,
  VALID_AADHAAR,
  VALID_GSTIN_FOR_PAN,
} from "./helpers/kyc";

// An Aadhaar-shaped token: 12 digits starting with 2-9, not part of a longer run of letters,
// digits, hyphens or underscores (which would make it part of a UUID, a hash or a ciphertext).
const AADHAAR_SHAPED = /(?<![A-Za-z0-9_-])[2-9][0-9]{11}(?![A-Za-z0-9_-])/;

describe("KYC details", () => {
  let t: TestApp;
  let asha: SignedInUser;

  beforeAll(async () => {
    t = await createTestApp();
    asha = await signUpUser(t, "asha@example.com");
  });

  it("answers 404 before KYC starts", async () => {
    const response = await t.request("GET", "/v1/me/kyc", { token: asha.accessToken });
    expect(response.status).toBe(404);
  });

  it("saves PAN details as a draft", async () => {
    const saved = await t.request("PUT", "/v1/me/kyc", { token: asha.accessToken, body: PAN_DETAILS });
    expect(saved.status).toBe(200);
    expect(saved.body).toEqual({
      status: "draft",
      government_id_type: "pan",
      government_id_number_masked: "XXXXXXXX234F",
      gstin_number: VALID_GSTIN_FOR_PAN,
      authorized_person_name: "Asha Rao",
      trader_type: "exporter",
      documents: { government_id: null, business_cert: null },
      submitted_at: null,
      verified_at: null,
      rejection_reason: null,
      updated_at: t.clock.now().toISOString(),
    });
    expect(saved.body).not.toHaveProperty("government_id_number");

    const read = await t.request("GET", "/v1/me/kyc", { token: asha.accessToken });
    expect(read.body).toEqual(saved.body);
    const me = await t.request("GET", "/v1/me", { token: asha.accessToken });
    expect(me.body.kyc).toEqual({ status: "draft" });
  });

  it("normalises id numbers before validating", async () => {
    const saved = await t.request("PUT", "/v1/me/kyc", {
      token: asha.accessToken,
      body: { ...PAN_DETAILS, government_id_number: " abcpe-1234f ", gstin_number: "27abcpe1234f1zb" },
    });
    expect(saved.status).toBe(200);
    expect(saved.body.gstin_number).toBe(VALID_GSTIN_FOR_PAN);
    expect(saved.body.government_id_number_masked).toBe("XXXXXXXX234F");
  });

  it("rejects invalid id numbers by type", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ ...PAN_DETAILS, government_id_number: "ABCXE1234F" }, "government_id_number"],
      [
        { ...PAN_DETAILS, government_id_type: "aadhaar", government_id_number: "234567890123", gstin_number: null },
        "government_id_number",
      ],
      [
        { ...PAN_DETAILS, government_id_type: "aadhaar", government_id_number: "123456789010", gstin_number: null },
        "government_id_number",
      ],
      [
        { ...PAN_DETAILS, government_id_type: "passport", government_id_number: "K12", gstin_number: null },
        "government_id_number",
      ],
      [{ ...PAN_DETAILS, gstin_number: "27ABCPE1234F1ZC" }, "gstin_number"],
      [{ ...PAN_DETAILS, gstin_number: OTHER_VALID_GSTIN }, "gstin_number"],
    ];
    for (const [body, path] of cases) {
      const response = await t.request("PUT", "/v1/me/kyc", { token: asha.accessToken, body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(
        response.body.errors.map((error: { path: string }) => error.path),
        JSON.stringify(body),
      ).toContain(path);
    }
  });

  it("reports a GSTIN whose PAN differs", async () => {
    const response = await t.request("PUT", "/v1/me/kyc", {
      token: asha.accessToken,
      body: { ...PAN_DETAILS, gstin_number: OTHER_VALID_GSTIN },
    });
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([
      { path: "gstin_number", message: expect.stringMatching(/PAN inside the GSTIN/) },
    ]);
  });

  it("accepts a GSTIN of another PAN with a non-PAN id", async () => {
    const response = await t.request("PUT", "/v1/me/kyc", {
      token: asha.accessToken,
      body: {
        ...PAN_DETAILS,
        government_id_type: "passport",
        government_id_number: "K1234567",
        gstin_number: OTHER_VALID_GSTIN,
      },
    });
    expect(response.status).toBe(200);
    expect(response.body.government_id_number_masked).toBe("XXXXXXXX4567");
  });

  it("refuses server-owned fields in the body", async () => {
    const before = await t.sql`SELECT status, updated_at FROM user_kyc WHERE user_id = ${asha.id}`;
    for (const extra of [
      { status: "approved" },
      { status: "pending" },
      { verified_at: "2026-01-01T00:00:00Z" },
      { reviewed_by: asha.id },
      { user_id: asha.id },
      { government_id_number_masked: "x" },
    ]) {
      const response = await t.request("PUT", "/v1/me/kyc", {
        token: asha.accessToken,
        body: { ...PAN_DETAILS, ...extra },
      });
      expect(response.status, JSON.stringify(extra)).toBe(400);
      expect(response.body.code).toBe("validation_failed");
    }
    const after = await t.sql`SELECT status, updated_at FROM user_kyc WHERE user_id = ${asha.id}`;
    expect(after).toEqual(before);
  });

  it("rejects missing and malformed fields", async () => {
    const bodies = [
      { ...PAN_DETAILS, trader_type: "smuggler" },
      { ...PAN_DETAILS, government_id_type: "ssn" },
      { ...PAN_DETAILS, authorized_person_name: "" },
      { ...PAN_DETAILS, government_id_number: ["ABCPE1234F"] },
      { ...PAN_DETAILS, government_id_number: "A".repeat(1000) },
      { government_id_type: "pan", government_id_number: "ABCPE1234F" },
    ];
    for (const body of bodies) {
      const response = await t.request("PUT", "/v1/me/kyc", { token: asha.accessToken, body });
      expect(response.status, JSON.stringify(body).slice(0, 60)).toBe(400);
    }
  });

  it("uses one round trip per request", async () => {
    expect(await t.countRoundTrips(() => t.request("GET", "/v1/me/kyc", { token: asha.accessToken }))).toBe(1);
    expect(
      await t.countRoundTrips(() => t.request("PUT", "/v1/me/kyc", { token: asha.accessToken, body: PAN_DETAILS })),
    ).toBe(1);
    expect(await t.countRoundTrips(() => t.request("POST", "/v1/me/kyc/submit", { token: asha.accessToken }))).toBe(1);
  });
});

describe("Aadhaar numbers at rest", () => {
  let t: TestApp;
  let ravi: SignedInUser;

  beforeAll(async () => {
    t = await createTestApp();
    ravi = await signUpUser(t, "ravi@example.com");
    await t.request("PUT", "/v1/me/profile", { token: ravi.accessToken, body: PROFILE });
  });

  it("stores Aadhaar encrypted and shows it masked", async () => {
    const saved = await t.request("PUT", "/v1/me/kyc", {
      token: ravi.accessToken,
      body: {
        government_id_type: "aadhaar",
        government_id_number: "2345 6789 0124",
        authorized_person_name: "Ravi Shah",
        trader_type: "importer",
      },
    });
    expect(saved.status).toBe(200);
    expect(saved.body.government_id_number_masked).toBe("XXXXXXXX0124");
    expect(saved.text).not.toMatch(AADHAAR_SHAPED);

    await uploadDocument(t, ravi, "government_id", pdfBytes());
    const submitted = await t.request("POST", "/v1/me/kyc/submit", { token: ravi.accessToken });
    expect(submitted.status).toBe(200);
    for (const path of ["/v1/me/kyc", "/v1/me"]) {
      const response = await t.request("GET", path, { token: ravi.accessToken });
      expect(response.text, path).not.toMatch(AADHAAR_SHAPED);
      expect(response.text, path).not.toContain("2345 6789");
    }

    const [row] = await t.sql`SELECT government_id_number_encrypted, government_id_number_last4 FROM user_kyc
                              WHERE user_id = ${ravi.id}`;
    expect(row?.government_id_number_last4).toBe("0124");
    expect(row?.government_id_number_encrypted).toMatch(/^v1\.test-1\./);
    const keyring = parseEncryptionKeyring((env as unknown as { ENCRYPTION_KEYS: string }).ENCRYPTION_KEYS);
    if (!keyring.ok) throw new Error(keyring.message);
    const opened = await decryptSecret(row?.government_id_number_encrypted, keyring.keyring, ravi.id);
    expect(opened).toMatchObject({ ok: true, plaintext: VALID_AADHAAR });
    // The ciphertext is bound to its owner: copied to another user's row, it does not open.
    const moved = await decryptSecret(row?.government_id_number_encrypted, keyring.keyring, crypto.randomUUID());
    expect(moved.ok).toBe(false);
  });

  it("keeps Aadhaar out of every table and log", async () => {
    const rows = await dumpAllRows(t);
    expect(rows.some((row) => row.startsWith("user_kyc:"))).toBe(true);
    expect(rows.some((row) => row.startsWith("audit_events:"))).toBe(true);
    for (const row of rows) {
      expect(row).not.toMatch(AADHAAR_SHAPED);
      expect(row).not.toContain("2345 6789");
    }
    expect(t.logs.length).toBeGreaterThan(0);
    for (const line of t.logs) {
      expect(line).not.toMatch(AADHAAR_SHAPED);
      expect(line).not.toContain("2345 6789");
    }
  });
});

describe("KYC submission", () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  it("lists everything missing", async () => {
    const user = await signUpUser(t, "empty@example.com");
    const response = await t.request("POST", "/v1/me/kyc/submit", { token: user.accessToken });
    expect(response.status).toBe(422);
    expect(response.body.code).toBe("kyc_incomplete");
    expect(response.body.errors.map((error: { path: string }) => error.path)).toEqual([
      "profile",
      "government_id_type",
      "government_id_number",
      "authorized_person_name",
      "trader_type",
      "documents.government_id",
    ]);
  });

  it("requires the government id document", async () => {
    const user = await signUpUser(t, "nodocument@example.com");
    await t.request("PUT", "/v1/me/profile", { token: user.accessToken, body: PROFILE });
    await t.request("PUT", "/v1/me/kyc", { token: user.accessToken, body: PAN_DETAILS });
    const response = await t.request("POST", "/v1/me/kyc/submit", { token: user.accessToken });
    expect(response.status).toBe(422);
    expect(response.body.errors).toEqual([{ path: "documents.government_id", message: expect.any(String) }]);
    const [row] = await t.sql`SELECT status, submitted_at FROM user_kyc WHERE user_id = ${user.id}`;
    expect(row).toEqual({ status: "draft", submitted_at: null });
  });

  it("refuses a status in the submit body", async () => {
    const user = await signUpUser(t, "sneaky@example.com");
    await prepareSubmittableKyc(t, user);
    const response = await t.request("POST", "/v1/me/kyc/submit", {
      token: user.accessToken,
      body: { status: "approved" },
    });
    expect(response.status).toBe(400);
    const [row] = await t.sql`SELECT status FROM user_kyc WHERE user_id = ${user.id}`;
    expect(row?.status).toBe("draft");
  });

  it("submits and then locks the record", async () => {
    const user = await signUpUser(t, "complete@example.com");
    await prepareSubmittableKyc(t, user);
    const submitted = await t.request("POST", "/v1/me/kyc/submit", { token: user.accessToken });
    expect(submitted.status).toBe(200);
    expect(submitted.body.status).toBe("pending");
    expect(submitted.body.submitted_at).toBe(t.clock.now().toISOString());
    expect(submitted.body.documents.government_id).toMatchObject({ content_type: "application/pdf" });

    const edit = await t.request("PUT", "/v1/me/kyc", { token: user.accessToken, body: PAN_DETAILS });
    expect(edit.status).toBe(409);
    expect(edit.body.code).toBe("kyc_locked");
    const again = await t.request("POST", "/v1/me/kyc/submit", { token: user.accessToken });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("kyc_locked");
    const upload = await uploadDocument(t, user, "business_cert", pdfBytes());
    expect(upload.status).toBe(409);
    expect(upload.body.code).toBe("kyc_locked");

    const [row] = await t.sql`SELECT status, business_cert_object_key FROM user_kyc WHERE user_id = ${user.id}`;
    expect(row).toEqual({ status: "pending", business_cert_object_key: null });
    const events = await t.sql`SELECT action FROM audit_events WHERE target_user_id = ${user.id} ORDER BY id`;
    expect(events.map((event) => event.action)).toEqual([
      "signup.verified",
      "profile.updated",
      "kyc.updated",
      "kyc.document_uploaded",
      "kyc.submitted",
    ]);
  });

  it("needs an edit before resubmitting a rejection", async () => {
    const user = await signUpUser(t, "rejected@example.com");
    await prepareSubmittableKyc(t, user);
    await t.request("POST", "/v1/me/kyc/submit", { token: user.accessToken });
    await t.sql`UPDATE user_kyc SET status = 'rejected', rejection_reason = 'Blurry scan' WHERE user_id = ${user.id}`;

    const unchanged = await t.request("POST", "/v1/me/kyc/submit", { token: user.accessToken });
    expect(unchanged.status).toBe(409);
    expect(unchanged.body.code).toBe("invalid_transition");

    const edited = await t.request("PUT", "/v1/me/kyc", { token: user.accessToken, body: PAN_DETAILS });
    expect(edited.status).toBe(200);
    expect(edited.body.status).toBe("draft");
    expect(edited.body.rejection_reason).toBe("Blurry scan");

    const resubmitted = await t.request("POST", "/v1/me/kyc/submit", { token: user.accessToken });
    expect(resubmitted.status).toBe(200);
    expect(resubmitted.body.status).toBe("pending");
    expect(resubmitted.body.rejection_reason).toBeNull();
  });

  it("submits a draft only once under concurrency", async () => {
    const user = await signUpUser(t, "racer@example.com");
    await prepareSubmittableKyc(t, user);
    const responses = await Promise.all(
      Array.from({ length: 5 }, () => t.request("POST", "/v1/me/kyc/submit", { token: user.accessToken })),
    );
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses).toEqual([200, 409, 409, 409, 409]);
    const events =
      await t.sql`SELECT 1 FROM audit_events WHERE target_user_id = ${user.id} AND action = 'kyc.submitted'`;
    expect(events).toHaveLength(1);
  });
});
