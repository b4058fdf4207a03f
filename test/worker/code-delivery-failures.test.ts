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
  const EMAIL = "asha@example.com";
  const PASSWORD = "correct horse battery staple";
  const OTHER_PASSWORD = "a different long passphrase";

  function resendMailer(timeoutMs?: number) {
    return new ResendMailer({ apiKey: "re_test_key", from: "no-reply@app.test", replyTo: undefined, timeoutMs });
  }

  /**
   * Resend at its real address. `respond` picks the outcome of each call, numbered from 1. A sent
   * message is recorded so `latestCode` can read it.
   */
  function fakeResend(respond: (call: number) => Promise<"sent" | "failed"> | "sent" | "failed") {
    const sent: { to: string; text: string }[] = [];
    let calls = 0;
    removeFake = fakeHost("https://api.resend.com", async (request) => {
      const message = (await request.json()) as { to: string[]; text: string };
      calls++;
      if ((await respond(calls)) === "failed") return Response.json({ message: "down" }, { status: 500 });
      for (const to of message.to) sent.push({ to, text: message.text });
      return Response.json({ id: crypto.randomUUID() });
    });
    return { messagesTo: (address: string) => sent.filter((message) => message.to === address) };
  }

  async function signUpRows(t: TestApp) {
    return {
      users: (await t.sql`SELECT id FROM users WHERE email = ${EMAIL}`).length,
      credentials: (await t.sql`SELECT user_id FROM auth_credentials`).length,
      codes: (await t.sql`SELECT id FROM verifications WHERE identifier = ${EMAIL}`).length,
    };
  }

  async function signUpAndVerify(t: TestApp, outbox: ReturnType<typeof fakeResend>, password: string) {
    const signUp = await t.request("POST", "/v1/auth/signup", { body: { email: EMAIL, password } });
    expect(signUp.status).toBe(202);
    const code = latestCode(outbox, EMAIL);
    const verified = await t.request("POST", "/v1/auth/email/verify", { body: { email: EMAIL, code } });
    expect(verified.status).toBe(200);
    const login = await t.request("POST", "/v1/auth/login", { body: { identifier: EMAIL, password } });
    expect(login.status).toBe(200);
  }

  it("keeps no account after HTTP 500", async () => {
    const t = await createTestApp({ mailer: resendMailer() });
    let failing = true;
    const outbox = fakeResend(() => (failing ? "failed" : "sent"));

    const response = await t.request("POST", "/v1/auth/signup", {
      body: { email: EMAIL, password: PASSWORD, username: "asha" },
    });

    expect(response.status).toBe(503);
    expect(response.body.code).toBe("service_unavailable");
    expect(await signUpRows(t)).toEqual({ users: 0, credentials: 0, codes: 0 });
    expect(await t.sql`SELECT id FROM users`).toHaveLength(0);
    const log = t.logs.join("\n");
    expect(log).toContain("code_delivery_failed");
    expect(log).not.toContain("undelivered_code_delete_failed");
    expect(log).not.toContain(EMAIL);

    failing = false;
    const otherAddress = await t.request("POST", "/v1/auth/signup", {
      body: { email: "ravi@example.com", password: PASSWORD, username: "asha" },
    });
    expect(otherAddress.status).toBe(202);
    await signUpAndVerify(t, outbox, PASSWORD);
  });

  it("keeps no account after a timeout", async () => {
    const t = await createTestApp({ mailer: resendMailer(50) });
    removeFake = fakeHost(
      "https://api.resend.com",
      (request) =>
        new Promise<Response>((_, reject) => {
          request.signal.addEventListener("abort", () => reject(request.signal.reason));
        }),
    );

    const response = await t.request("POST", "/v1/auth/signup", { body: { email: EMAIL, password: PASSWORD } });

    expect(response.status).toBe(503);
    expect(await signUpRows(t)).toEqual({ users: 0, credentials: 0, codes: 0 });
    removeFake();
    const outbox = fakeResend(() => "sent");
    await signUpAndVerify(t, outbox, PASSWORD);
  });

  it("deletes a reclaimed pending account", async () => {
    const t = await createTestApp({ mailer: resendMailer() });
    let failing = false;
    const outbox = fakeResend(() => (failing ? "failed" : "sent"));
    expect((await t.request("POST", "/v1/auth/signup", { body: { email: EMAIL, password: PASSWORD } })).status).toBe(
      202,
    );
    const firstCode = latestCode(outbox, EMAIL);
    expect(await signUpRows(t)).toEqual({ users: 1, credentials: 1, codes: 1 });

    failing = true;
    const reclaim = await t.request("POST", "/v1/auth/signup", { body: { email: EMAIL, password: OTHER_PASSWORD } });

    expect(reclaim.status).toBe(503);
    expect(await signUpRows(t)).toEqual({ users: 0, credentials: 0, codes: 0 });
    const staleVerify = await t.request("POST", "/v1/auth/email/verify", { body: { email: EMAIL, code: firstCode } });
    expect(staleVerify.status).toBe(400);
    failing = false;
    await signUpAndVerify(t, outbox, PASSWORD);
  });

  it("keeps an account that a parallel sign-up reclaimed", async () => {
    const t = await createTestApp({ mailer: resendMailer() });
    let parallelStatus: number | undefined;
    // The first send fails, but only after a second sign-up for the address has reclaimed the
    // pending account and sent its own code.
    const outbox = fakeResend(async (call) => {
      if (call !== 1) return "sent";
      const parallel = await t.request("POST", "/v1/auth/signup", { body: { email: EMAIL, password: OTHER_PASSWORD } });
      parallelStatus = parallel.status;
      return "failed";
    });

    const response = await t.request("POST", "/v1/auth/signup", { body: { email: EMAIL, password: PASSWORD } });

    expect(response.status).toBe(503);
    expect(parallelStatus).toBe(202);
    expect(await signUpRows(t)).toEqual({ users: 1, credentials: 1, codes: 1 });
    const code = latestCode(outbox, EMAIL);
    const verified = await t.request("POST", "/v1/auth/email/verify", { body: { email: EMAIL, code } });
    expect(verified.status).toBe(200);
    const login = await t.request("POST", "/v1/auth/login", { body: { identifier: EMAIL, password: OTHER_PASSWORD } });
    expect(login.status).toBe(200);
  });
});
