import { afterEach, describe, expect, it } from "vitest";
import { ResendMailer } from "../../src/adapters/mail/resend";
import { TwilioSmsSender } from "../../src/adapters/sms/twilio";
import { createTestApp, latestCode, type TestApp } from "./helpers/app";
import { fakeHost } from "./helpers/network";

const ACCOUNT_SID = `AC${"0123456789abcdef".repeat(2)}`;

let removeFake: (() => void) | undefined;
afterEach(() => {
  removeFake?.();
  removeFake = undefined;
});

function twilioSender(timeoutMs?: number) {
  return new TwilioSmsSender({
    accountSid: ACCOUNT_SID,
    authToken: "twilio-auth-token-for-tests",
    from: "+15005550006",
    messagingServiceSid: undefined,
    timeoutMs,
  });
}

async function storedCodes(t: TestApp, identifier: string) {
  return t.sql`SELECT id FROM verifications WHERE identifier = ${identifier}`;
}

async function expectNothingWritten(t: TestApp, identifier: string) {
  expect(await storedCodes(t, identifier)).toHaveLength(0);
  expect(await t.sql`SELECT id FROM users`).toHaveLength(0);
  expect(await t.sql`SELECT id FROM auth_sessions`).toHaveLength(0);
}

describe("code delivery failures", () => {
  it("answers 503 when Twilio fails", async () => {
    const t = await createTestApp({ smsSender: twilioSender() });
    let attempts = 0;
    removeFake = fakeHost("https://api.twilio.com", () => {
      attempts++;
      return Response.json({ code: 20500, message: "Internal Server Error" }, { status: 500 });
    });

    const response = await t.request("POST", "/v1/auth/otp/request", {
      body: { channel: "sms", destination: "+919876543210" },
    });

    expect(attempts).toBe(1);
    expect(response.status).toBe(503);
    expect(response.body.code).toBe("service_unavailable");
    expect(response.text).not.toContain("Internal Server Error");
    await expectNothingWritten(t, "+919876543210");
    const log = t.logs.join("\n");
    expect(log).toContain("code_delivery_failed");
    expect(log).not.toContain("9876543210");
  });

  it("answers 503 when Twilio times out", async () => {
    const t = await createTestApp({ smsSender: twilioSender(50) });
    removeFake = fakeHost(
      "https://api.twilio.com",
      (request) =>
        new Promise<Response>((_, reject) => {
          request.signal.addEventListener("abort", () => reject(request.signal.reason));
        }),
    );

    const response = await t.request("POST", "/v1/auth/otp/request", {
      body: { channel: "sms", destination: "+919876543210" },
    });

    expect(response.status).toBe(503);
    await expectNothingWritten(t, "+919876543210");
  });

  it("sends again after the interval", async () => {
    const t = await createTestApp({
      smsSender: twilioSender(),
      settings: { RATE_LIMIT_CODE_SENDS_PER_DESTINATION: "1/60s, 5/1h, 10/1d" },
    });
    let fail = true;
    const sent: string[] = [];
    removeFake = fakeHost("https://api.twilio.com", async (request) => {
      if (fail) return new Response("unavailable", { status: 503 });
      sent.push(new URLSearchParams(await request.text()).get("Body") ?? "");
      return Response.json({ sid: "SM1" }, { status: 201 });
    });
    const body = { channel: "sms", destination: "+919876543210" };

    expect((await t.request("POST", "/v1/auth/otp/request", { body })).status).toBe(503);
    fail = false;
    // The failed send still counts against the limits, so the retry waits out the 60 s interval.
    expect((await t.request("POST", "/v1/auth/otp/request", { body })).status).toBe(429);
    t.clock.advanceSeconds(60);
    const retried = await t.request("POST", "/v1/auth/otp/request", { body });

    expect(retried.status).toBe(202);
    expect(sent).toHaveLength(1);
    const code = /\d{6}/.exec(sent[0] ?? "")?.[0] ?? "";
    const verified = await t.request("POST", "/v1/auth/otp/verify", { body: { ...body, code } });
    expect(verified.status).toBe(200);
  });

  it("answers 503 when Resend fails", async () => {
    const t = await createTestApp({
      mailer: new ResendMailer({ apiKey: "re_test_key", from: "no-reply@app.test", replyTo: undefined }),
    });
    removeFake = fakeHost("https://api.resend.com", () => Response.json({ message: "down" }, { status: 500 }));

    const response = await t.request("POST", "/v1/auth/otp/request", {
      body: { channel: "email", destination: "asha@example.com" },
    });

    expect(response.status).toBe(503);
    await expectNothingWritten(t, "asha@example.com");
  });
});

describe("contact change delivery failures", () => {
  it("answers 503 and stores no code", async () => {
    const t = await createTestApp({ smsSender: twilioSender() });
    await t.request("POST", "/v1/auth/otp/request", { body: { channel: "email", destination: "asha@example.com" } });
    const signedIn = await t.request("POST", "/v1/auth/otp/verify", {
      body: { channel: "email", destination: "asha@example.com", code: latestCode(t.mailer, "asha@example.com") },
    });
    removeFake = fakeHost("https://api.twilio.com", () => new Response("unavailable", { status: 503 }));

    const response = await t.request("POST", "/v1/me/mobile", {
      token: signedIn.body.access_token,
      body: { mobile_number: "+919876543210" },
    });

    expect(response.status).toBe(503);
    expect(await storedCodes(t, "+919876543210")).toHaveLength(0);
    const user = await t.sql`SELECT mobile_number FROM users WHERE email = 'asha@example.com'`;
    expect(user[0]?.mobile_number).toBeNull();
  });
});

describe("sign-up delivery failures", () => {
  it("answers 503 and keeps no code", async () => {
    const t = await createTestApp({
      mailer: new ResendMailer({ apiKey: "re_test_key", from: "no-reply@app.test", replyTo: undefined }),
    });
    removeFake = fakeHost("https://api.resend.com", () => Response.json({ message: "down" }, { status: 500 }));

    const response = await t.request("POST", "/v1/auth/signup", {
      body: { email: "asha@example.com", password: "correct horse battery staple" },
    });

    expect(response.status).toBe(503);
    expect(await storedCodes(t, "asha@example.com")).toHaveLength(0);
  });
});
