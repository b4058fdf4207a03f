import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { KvRateLimiter } from "../../src/adapters/rate-limit";
import { parseConfig } from "../../src/config";
import type { Dependencies } from "../../src/http/context";
import { createLogger } from "../../src/lib/logger";
import { limitForgotPassword } from "../../src/services/rate-limit";
import { FrozenClock } from "./helpers/clock";
import { createTestApp, latestCode, type TestApp } from "./helpers/app";

const PASSWORD = "correct horse battery staple";

/** The contract's default limits, which vitest.config.ts switches off for other test files. */
const DEFAULT_LIMITS = {
  RATE_LIMIT_CODE_SENDS_PER_DESTINATION: "1/60s, 5/1h, 10/1d",
  RATE_LIMIT_CODE_SENDS_PER_CLIENT: "20/1h",
  RATE_LIMIT_CODE_CHECKS_PER_CLIENT: "60/1h",
  RATE_LIMIT_SIGNUPS_PER_CLIENT: "20/1h",
  RATE_LIMIT_FORGOT_PASSWORD_PER_EMAIL: "3/1h",
  RATE_LIMIT_AUTH_REQUESTS_PER_CLIENT: "300/1h",
};

let ipCounter = 0;
/** Return a client address that no other test in this file uses, because KV is shared within the file. */
function freshIp(): string {
  ipCounter++;
  return `198.51.${Math.floor(ipCounter / 250)}.${(ipCounter % 250) + 1}`;
}

function requestSmsCode(t: TestApp, destination: string, headers: Record<string, string>) {
  return t.request("POST", "/v1/auth/otp/request", { body: { channel: "sms", destination }, headers });
}

describe("code sends per destination", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ settings: DEFAULT_LIMITS });
  });

  it("refuses a second code within 60 s", async () => {
    const headers = { "cf-connecting-ip": freshIp() };
    expect((await requestSmsCode(t, "+919800000001", headers)).status).toBe(202);
    t.clock.advanceSeconds(20);

    const rejected = await requestSmsCode(t, "+919800000001", headers);

    expect(rejected.status).toBe(429);
    expect(rejected.body.code).toBe("rate_limited");
    expect(rejected.headers.get("retry-after")).toBe("40");
    expect(t.sms.messagesTo("+919800000001")).toHaveLength(1);
  });

  it("refuses the sixth code in an hour", async () => {
    const destination = "asha@example.com";
    const statuses: number[] = [];
    for (let send = 1; send <= 6; send++) {
      // A new client address each time, so only the per-destination limit is in play.
      const response = await t.request("POST", "/v1/auth/otp/request", {
        body: { channel: "email", destination },
        headers: { "cf-connecting-ip": freshIp() },
      });
      statuses.push(response.status);
      if (send === 6) {
        expect(response.body.code).toBe("rate_limited");
        // The first send, 5 × 61 s ago, leaves the hour window first.
        expect(response.headers.get("retry-after")).toBe(String(3600 - 5 * 61));
      }
      t.clock.advanceSeconds(61);
    }

    expect(statuses).toEqual([202, 202, 202, 202, 202, 429]);
    expect(t.mailer.messagesTo(destination)).toHaveLength(5);
  });

  it("refuses the eleventh code in a day", async () => {
    const destination = "+919800000002";
    const statuses: number[] = [];
    for (let send = 1; send <= 11; send++) {
      statuses.push((await requestSmsCode(t, destination, { "cf-connecting-ip": freshIp() })).status);
      // Five sends an hour stay within the hourly limit.
      t.clock.advanceSeconds(13 * 60);
    }

    expect(statuses).toEqual([...new Array(10).fill(202), 429]);
    expect(t.sms.messagesTo(destination)).toHaveLength(10);
  });

  it("counts every purpose together", async () => {
    const headers = { "cf-connecting-ip": freshIp() };
    await t.request("POST", "/v1/auth/signup", { body: { email: "mixed@example.com", password: PASSWORD }, headers });

    const loginCode = await t.request("POST", "/v1/auth/otp/request", {
      body: { channel: "email", destination: "mixed@example.com" },
      headers,
    });
    const resend = await t.request("POST", "/v1/auth/email/resend", { body: { email: "mixed@example.com" }, headers });

    expect(loginCode.status).toBe(429);
    expect(resend.status).toBe(429);
    expect(t.mailer.messagesTo("mixed@example.com")).toHaveLength(1);
  });

  it("sends one code to parallel requests", async () => {
    const destination = "+919800000003";

    const responses = await Promise.all(
      Array.from({ length: 10 }, () => requestSmsCode(t, destination, { "cf-connecting-ip": freshIp() })),
    );

    // KV may let several through, because parallel reads see the same counter; Postgres stores
    // one code per destination and purpose per minute, so exactly one is sent.
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses).toEqual([202, ...new Array(9).fill(429)]);
    expect(t.sms.messagesTo(destination)).toHaveLength(1);
  });
});

describe("limits per client", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      settings: {
        ...DEFAULT_LIMITS,
        RATE_LIMIT_CODE_SENDS_PER_CLIENT: "3/1h",
        RATE_LIMIT_AUTH_REQUESTS_PER_CLIENT: "10/1h",
      },
    });
  });

  it("ignores a rotating X-Forwarded-For", async () => {
    const ip = freshIp();
    const statuses: number[] = [];
    for (let send = 1; send <= 4; send++) {
      const response = await requestSmsCode(t, `+91980000010${send}`, {
        "cf-connecting-ip": ip,
        "x-forwarded-for": `192.0.2.${send}`,
        "x-real-ip": `192.0.2.${send}`,
      });
      statuses.push(response.status);
    }

    expect(statuses).toEqual([202, 202, 202, 429]);
    expect(t.sms.messagesTo("+919800000104")).toHaveLength(0);
  });

  it("shares a limit within one IPv6 /64", async () => {
    const sameNetwork = ["2001:db8:7:1::1", "2001:db8:7:1::2", "2001:db8:7:1:8000::99"];
    for (const [index, ip] of sameNetwork.entries()) {
      const response = await requestSmsCode(t, `+91980000020${index}`, { "cf-connecting-ip": ip });
      expect(response.status, ip).toBe(202);
    }

    const sameSlash64 = await requestSmsCode(t, "+919800000210", { "cf-connecting-ip": "2001:db8:7:1:ffff::1" });
    const nextSlash64 = await requestSmsCode(t, "+919800000211", { "cf-connecting-ip": "2001:db8:7:2::1" });

    expect(sameSlash64.status).toBe(429);
    expect(nextSlash64.status).toBe(202);
  });

  it("limits all requests to /v1/auth/*", async () => {
    const ip = freshIp();
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      // Invalid bodies still count: the limit applies before anything else is read.
      const response = await t.request("POST", "/v1/auth/otp/request", {
        body: { channel: "fax" },
        headers: { "cf-connecting-ip": ip, "x-forwarded-for": `192.0.2.${i}` },
      });
      statuses.push(response.status);
    }

    expect(statuses).toEqual([...new Array(10).fill(400), 429]);
    const other = await t.request("POST", "/v1/auth/otp/request", {
      body: { channel: "fax" },
      headers: { "cf-connecting-ip": freshIp() },
    });
    expect(other.status).toBe(400);
  });

  it("leaves /v1/me out of the auth limit", async () => {
    const ip = freshIp();
    for (let i = 0; i < 11; i++) {
      const response = await t.request("GET", "/v1/me", { headers: { "cf-connecting-ip": ip } });
      expect(response.status).toBe(401);
    }
  });
});

describe("code checks per client", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ settings: DEFAULT_LIMITS });
  });

  it("refuses the 61st check in an hour", async () => {
    const ip = freshIp();
    const statuses: number[] = [];
    for (let check = 1; check <= 61; check++) {
      const response = await t.request("POST", "/v1/auth/otp/verify", {
        body: { channel: "sms", destination: `+9198000${String(check).padStart(5, "0")}`, code: "123456" },
        headers: { "cf-connecting-ip": ip, "x-forwarded-for": `192.0.2.${check}` },
      });
      statuses.push(response.status);
    }

    expect(statuses.slice(0, 60).every((status) => status === 400)).toBe(true);
    expect(statuses[60]).toBe(429);
  });

  it("covers sign-up verification", async () => {
    const ip = freshIp();
    for (let check = 1; check <= 60; check++) {
      await t.request("POST", "/v1/auth/email/verify", {
        body: { email: `check${check}@example.com`, code: "123456" },
        headers: { "cf-connecting-ip": ip },
      });
    }

    const rejected = await t.request("POST", "/v1/auth/email/verify", {
      body: { email: "check61@example.com", code: "123456" },
      headers: { "cf-connecting-ip": ip },
    });

    expect(rejected.status).toBe(429);
    expect(rejected.body.code).toBe("rate_limited");
  });
});

describe("sign-ups per client", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ settings: DEFAULT_LIMITS });
  });

  it("refuses the 21st sign-up in an hour", async () => {
    const ip = freshIp();
    const statuses: number[] = [];
    for (let signUp = 1; signUp <= 21; signUp++) {
      const response = await t.request("POST", "/v1/auth/signup", {
        body: { email: `trader${signUp}@example.com`, password: PASSWORD },
        headers: { "cf-connecting-ip": ip },
      });
      statuses.push(response.status);
    }

    expect(statuses).toEqual([...new Array(20).fill(202), 429]);
    expect(t.mailer.messagesTo("trader21@example.com")).toHaveLength(0);
    const users = await t.sql`SELECT count(*)::int AS n FROM users WHERE email = 'trader21@example.com'`;
    expect(users[0]?.n).toBe(0);
  });

  it("answers a known address alike", async () => {
    const ip = freshIp();
    await t.request("POST", "/v1/auth/signup", {
      body: { email: "known@example.com", password: PASSWORD },
      headers: { "cf-connecting-ip": ip },
    });
    await t.request("POST", "/v1/auth/email/verify", {
      body: { email: "known@example.com", code: latestCode(t.mailer, "known@example.com") },
      headers: { "cf-connecting-ip": ip },
    });
    t.clock.advanceSeconds(61);

    const known = await t.request("POST", "/v1/auth/signup", {
      body: { email: "known@example.com", password: PASSWORD },
      headers: { "cf-connecting-ip": ip },
    });
    const unknown = await t.request("POST", "/v1/auth/signup", {
      body: { email: "unknown@example.com", password: PASSWORD },
      headers: { "cf-connecting-ip": ip },
    });
    const knownAgain = await t.request("POST", "/v1/auth/signup", {
      body: { email: "known@example.com", password: PASSWORD },
      headers: { "cf-connecting-ip": ip },
    });
    const unknownAgain = await t.request("POST", "/v1/auth/signup", {
      body: { email: "unknown@example.com", password: PASSWORD },
      headers: { "cf-connecting-ip": ip },
    });

    expect([known.status, unknown.status]).toEqual([202, 202]);
    expect([knownAgain.status, unknownAgain.status]).toEqual([429, 429]);
    expect(knownAgain.headers.get("retry-after")).toBe(unknownAgain.headers.get("retry-after"));
  });
});

describe("forgot-password limit", () => {
  it("allows three requests an hour per email", async () => {
    const config = await parseConfig({ ...env, RATE_LIMIT_FORGOT_PASSWORD_PER_EMAIL: "3/1h" });
    const clock = new FrozenClock();
    const deps = {
      config,
      clock,
      clientIp: "203.0.113.10",
      rateLimiter: new KvRateLimiter(env.OTP_KV),
      log: createLogger("test", () => {}),
    } as unknown as Dependencies;
    const email = `forgot-${crypto.randomUUID()}@example.com`;

    const decisions = [];
    for (let i = 0; i < 4; i++) {
      decisions.push(await limitForgotPassword(deps, email));
      clock.advanceSeconds(60);
    }

    expect(decisions.slice(0, 3)).toEqual([{ allowed: true }, { allowed: true }, { allowed: true }]);
    expect(decisions[3]).toEqual({ allowed: false, retryAfterSeconds: 3600 - 180 });
    expect(await limitForgotPassword(deps, `other-${email}`)).toEqual({ allowed: true });
  });
});

describe("rate limits when KV fails", () => {
  const failingKv = {
    list: async () => {
      throw new Error("KV LIST failed: 503 Service Unavailable");
    },
    put: async () => {
      throw new Error("KV PUT failed: 503 Service Unavailable");
    },
  };
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ settings: { ...DEFAULT_LIMITS, OTP_KV: failingKv } });
  });

  it("refuses to send codes", async () => {
    const response = await requestSmsCode(t, "+919800000301", {});

    expect(response.status).toBe(503);
    expect(response.body.code).toBe("service_unavailable");
    expect(t.sms.messages).toHaveLength(0);
    expect(await t.sql`SELECT id FROM verifications`).toHaveLength(0);
  });

  it("still checks codes", async () => {
    const response = await t.request("POST", "/v1/auth/otp/verify", {
      body: { channel: "sms", destination: "+919800000301", code: "123456" },
    });

    expect(response.status).toBe(400);
    expect(response.body.code).toBe("invalid_code");
    expect(t.logs.join("\n")).toContain("rate_limit_unavailable_allowed");
  });
});
