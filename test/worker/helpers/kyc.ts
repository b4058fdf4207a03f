import type { TestApp } from "./app";
import type { SignedInUser } from "./accounts";

/** Made-up ids whose check digits and characters are valid. */
export const VALID_PAN = "ABCPE1234F";
export const VALID_GSTIN_FOR_PAN = "27ABCPE1234F1ZB";
export const OTHER_VALID_GSTIN = "29AAACZ9876K1ZA";
export const VALID_AADHAAR = "234567890124";

export const PROFILE = {
  full_name: "Asha Rao",
  country_code: "IND",
  company_name: "Rao Exports Pvt Ltd",
};

export const PAN_DETAILS = {
  government_id_type: "pan",
  government_id_number: VALID_PAN,
  gstin_number: VALID_GSTIN_FOR_PAN,
  authorized_person_name: "Asha Rao",
  trader_type: "exporter",
};

const encoder = new TextEncoder();

/** Build a small file that starts and ends like a PDF. */
export function pdfBytes(text = "KYC test document"): Uint8Array {
  return encoder.encode(`%PDF-1.7\n% ${text}\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n`);
}

export function pngBytes(extra = 64): Uint8Array {
  const bytes = new Uint8Array(8 + extra);
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return bytes;
}

export function jpegBytes(extra = 64): Uint8Array {
  const bytes = new Uint8Array(4 + extra);
  bytes.set([0xff, 0xd8, 0xff, 0xe0]);
  return bytes;
}

/** Build a file of exactly `sizeBytes` that starts with the PDF signature. */
export function pdfOfSize(sizeBytes: number): Uint8Array {
  const bytes = new Uint8Array(sizeBytes);
  bytes.set(encoder.encode("%PDF-1.7\n"));
  return bytes;
}

/** Stream `bytes` in chunks of `chunkBytes`; a Request with this body has no Content-Length. */
export function chunkedStream(bytes: Uint8Array, chunkBytes = 256 * 1024): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.byteLength) {
        controller.close();
        return;
      }
      controller.enqueue(bytes.slice(offset, offset + chunkBytes));
      offset += chunkBytes;
    },
  });
}

/** Upload a document with an explicit Content-Length, as an HTTP client sends a file. */
export function uploadDocument(
  t: TestApp,
  user: SignedInUser,
  kind: string,
  bytes: Uint8Array,
  contentType = "application/pdf",
  headers: Record<string, string> = {},
  path = `/v1/me/kyc/documents/${kind}`,
) {
  return t.request("PUT", path, {
    token: user.accessToken,
    rawBody: bytes,
    headers: { "content-type": contentType, "content-length": String(bytes.byteLength), ...headers },
  });
}

/** Profile, PAN details with a matching GSTIN, and the government id document: ready to submit. */
export async function prepareSubmittableKyc(t: TestApp, user: SignedInUser, fullName = "Asha Rao"): Promise<void> {
  const profile = await t.request("PUT", "/v1/me/profile", {
    token: user.accessToken,
    body: { ...PROFILE, full_name: fullName },
  });
  if (profile.status !== 200) throw new Error(`Saving the profile failed: ${profile.text}`);
  const details = await t.request("PUT", "/v1/me/kyc", { token: user.accessToken, body: PAN_DETAILS });
  if (details.status !== 200) throw new Error(`Saving KYC details failed: ${details.text}`);
  const upload = await uploadDocument(t, user, "government_id", pdfBytes());
  if (upload.status !== 200) throw new Error(`Uploading failed: ${upload.text}`);
}

/** Prepare and submit a user's KYC; it is then pending. */
export async function submitKycFor(t: TestApp, user: SignedInUser, fullName?: string): Promise<void> {
  await prepareSubmittableKyc(t, user, fullName);
  const submitted = await t.request("POST", "/v1/me/kyc/submit", { token: user.accessToken });
  if (submitted.status !== 200) throw new Error(`Submitting failed: ${submitted.text}`);
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Every row of every table in the public schema, each as JSON text. */
export async function dumpAllRows(t: TestApp): Promise<string[]> {
  const tables = await t.sql`SELECT table_name FROM information_schema.tables
                             WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`;
  const rows: string[] = [];
  for (const { table_name } of tables) {
    const result = await t.sql.query(`SELECT row_to_json(t)::text AS row FROM "${table_name}" AS t`);
    for (const row of result) rows.push(`${table_name}: ${row.row}`);
  }
  return rows;
}
