import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { createTestApp, latestCode, type TestApp } from "./helpers/app";

const PASSWORD = "correct horse battery staple";
const LIMITS = {
  RATE_LIMIT_CODE_SENDS_PER_DESTINATION: "1/60s, 5/1h, 10/1d",
  RATE_LIMIT_CODE_SENDS_PER_CLIENT: "20/1h",
  RATE_LIMIT_CODE_CHECKS_PER_CLIENT: "60/1h",
  RATE_LIMIT_SIGNUPS_PER_CLIENT: "20/1h",
  RATE_LIMIT_AUTH_REQUESTS_PER_CLIENT: "300/1h",
};
const EMAILS = ["stored@example.com", "stored-otp@example.com", "stored-new@example.com"];
const NUMBERS = ["+919822200001", "+919822200002"];

/** Matches the code as a token of its own, not as digits inside a longer number or hex digest. */
function codePattern(code: string): RegExp {
  return new RegExp(`(?<![0-9A-Za-z])${code}(?![0-9A-Za-z])`);
}

async function readAllKv(): Promise<{ key: string; value: string }[]> {
  const entries: { key: string; value: string }[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.OTP_KV.list({ cursor });
    for (const key of page.keys) entries.push({ key: key.name, value: (await env.OTP_KV.get(key.name)) ?? "" });
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor !== undefined);
  return entries;
}

describe("code storage", () => {
  let t: TestApp;
  const codes: string[] = [];

  beforeAll(async () => {
    t = await createTestApp({ settings: LIMITS });
    const [signUpEmail, otpEmail, newEmail] = EMAILS as [string, string, string];
    const [otpNumber, newNumber] = NUMBERS as [string, string];

    await t.request("POST", "/v1/auth/signup", { body: { email: signUpEmail, password: PASSWORD } });
    codes.push(latestCode(t.mailer, signUpEmail));
    t.clock.advanceSeconds(61);
    await t.request("POST", "/v1/auth/email/resend", { body: { email: signUpEmail } });
    codes.push(latestCode(t.mailer, signUpEmail));

    await t.request("POST", "/v1/auth/otp/request", { body: { channel: "email", destination: otpEmail } });
    codes.push(latestCode(t.mailer, otpEmail));
    await t.request("POST", "/v1/auth/otp/request", { body: { channel: "sms", destination: otpNumber } });
    const smsCode = latestCode(t.sms, otpNumber);
    codes.push(smsCode);

    const signedIn = await t.request("POST", "/v1/auth/otp/verify", {
      body: { channel: "sms", destination: otpNumber, code: smsCode },
    });
    const token = signedIn.body.access_token;
    await t.request("POST", "/v1/me/email", { token, body: { email: newEmail } });
    codes.push(latestCode(t.mailer, newEmail));
    await t.request("POST", "/v1/me/mobile", { token, body: { mobile_number: newNumber } });
    codes.push(latestCode(t.sms, newNumber));
  });

  it("sent a code on every path", () => {
    expect(codes).toHaveLength(6);
    for (const code of codes) expect(code).toMatch(/^\d{6}$/);
  });

  it("keeps no code in any table", async () => {
    const tables = await t.sql`
      SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`;
    expect(tables.map((table) => table.table_name)).toContain("verifications");

    for (const { table_name } of tables) {
      const rows = await t.sql.query(`SELECT row_to_json(t)::text AS row FROM "${table_name}" AS t`);
      for (const { row } of rows as { row: string }[]) {
        for (const code of codes) expect(row, `${table_name} holds a code`).not.toMatch(codePattern(code));
      }
    }
    const stored = await t.sql`SELECT code_hash FROM verifications`;
    expect(stored.length).toBeGreaterThanOrEqual(5);
    for (const { code_hash } of stored) expect(code_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("keeps no code, email or number in KV", async () => {
    const entries = await readAllKv();
    expect(entries.length).toBeGreaterThan(0);

    for (const { key, value } of entries) {
      for (const code of codes) {
        expect(key).not.toMatch(codePattern(code));
        expect(value, key).not.toMatch(codePattern(code));
      }
      for (const identifier of [...EMAILS, ...NUMBERS, ...NUMBERS.map((number) => number.slice(3))]) {
        expect(key).not.toContain(identifier);
        expect(value, key).not.toContain(identifier);
      }
    }
  });
});
