// Log lines carry ids, routes and outcomes only. Each flow below drives the service the way a
// client or an attacker would, and registers every secret it handles. The test then checks each
// captured log line for those values and for anything shaped like an email address, phone
// number, JWT or government id number. To cover a new feature, add a flow to the table.
import { beforeAll, describe, expect, it } from "vitest";
import { createTestApp, latestCode, type TestApp, type TestRequestOptions, type TestResponse } from "./helpers/app";

type SecretKind =
  | "email"
  | "phone number"
  | "password"
  | "code"
  | "access token"
  | "refresh token"
  | "reset token"
  | "id number";

interface FlowContext {
  t: TestApp;
  /** A fresh lower-case address for this flow, registered as a secret. */
  newEmail(label: string): string;
  /** Register a value that must not appear in any log line. */
  secret(kind: SecretKind, value: string): void;
  /** `t.request`, counted so the test can check that every request wrote its own line. */
  request<T = any>(method: string, path: string, options?: TestRequestOptions): Promise<TestResponse<T>>;
}

interface Flow {
  name: string;
  run(flow: FlowContext): Promise<void>;
}

const PASSWORD = "correct horse battery staple";

/** Sign up and verify a new account, register its secrets, and return its tokens. */
async function signUpAndVerify(
  flow: FlowContext,
  label: string,
): Promise<{ email: string; accessToken: string; refreshToken: string }> {
  const email = flow.newEmail(label);
  flow.secret("password", PASSWORD);
  const signUp = await flow.request("POST", "/v1/auth/signup", { body: { email, password: PASSWORD } });
  expect(signUp.status).toBe(202);

  const code = latestCode(flow.t.mailer, email);
  flow.secret("code", code);
  const verified = await flow.request("POST", "/v1/auth/email/verify", { body: { email, code } });
  expect(verified.status).toBe(200);

  const { access_token: accessToken, refresh_token: refreshToken } = verified.body;
  flow.secret("access token", accessToken);
  flow.secret("refresh token", refreshToken);
  return { email, accessToken, refreshToken };
}

const flows: Flow[] = [
  {
    name: "password login, lockout, refresh and logout",
    async run(flow) {
      const account = await signUpAndVerify(flow, "login");
      const login = await flow.request("POST", "/v1/auth/login", {
        body: { identifier: account.email, password: PASSWORD },
      });
      expect(login.status).toBe(200);
      flow.secret("access token", login.body.access_token);
      flow.secret("refresh token", login.body.refresh_token);

      const rotated = await flow.request("POST", "/v1/auth/token/refresh", {
        body: { refresh_token: login.body.refresh_token },
      });
      expect(rotated.status).toBe(200);
      flow.secret("refresh token", rotated.body.refresh_token);

      const unknown = flow.newEmail("nobody");
      for (const password of ["wrong password one", "wrong password two"]) {
        flow.secret("password", password);
        await flow.request("POST", "/v1/auth/login", { body: { identifier: account.email, password } });
        await flow.request("POST", "/v1/auth/login", { body: { identifier: unknown, password } });
      }
      for (let attempt = 0; attempt < 4; attempt++) {
        await flow.request("POST", "/v1/auth/login", {
          body: { identifier: account.email, password: "wrong password one" },
        });
      }

      const logout = await flow.request("POST", "/v1/auth/logout", { token: rotated.body.access_token });
      expect(logout.status).toBe(204);
    },
  },
  {
    name: "password reset, change and account deletion",
    async run(flow) {
      const account = await signUpAndVerify(flow, "reset");
      await flow.request("POST", "/v1/auth/password/forgot", { body: { email: account.email } });
      const resetMail = flow.t.mailer.messagesTo(account.email).at(-1)?.text ?? "";
      const token = /token=([A-Za-z0-9_-]+)/.exec(resetMail)?.[1];
      expect(token).toBeDefined();
      flow.secret("reset token", token ?? "");

      const newPassword = "a brand new passphrase";
      flow.secret("password", newPassword);
      const reset = await flow.request("POST", "/v1/auth/password/reset", { body: { token, password: newPassword } });
      expect(reset.status).toBe(204);

      const login = await flow.request("POST", "/v1/auth/login", {
        body: { identifier: account.email, password: newPassword },
      });
      flow.secret("access token", login.body.access_token);
      flow.secret("refresh token", login.body.refresh_token);
      const changedPassword = "yet another passphrase";
      flow.secret("password", changedPassword);
      const change = await flow.request("POST", "/v1/me/password", {
        token: login.body.access_token,
        body: { current_password: newPassword, new_password: changedPassword },
      });
      expect(change.status).toBe(204);

      const deleted = await flow.request("DELETE", "/v1/me", {
        token: login.body.access_token,
        body: { password: changedPassword },
      });
      expect(deleted.status).toBe(204);
    },
  },
  {
    name: "sign-up, verification and /v1/me",
    async run(flow) {
      const email = flow.newEmail("asha");
      const mixedCase = email.replace(/^./, (first) => first.toUpperCase());
      flow.secret("email", mixedCase);
      flow.secret("password", PASSWORD);
      await flow.request("POST", "/v1/auth/signup", {
        body: { email: mixedCase, password: PASSWORD, username: "asha_logs" },
      });

      const code = latestCode(flow.t.mailer, email);
      flow.secret("code", code);
      const wrongCode = code === "000000" ? "111111" : "000000";
      flow.secret("code", wrongCode);
      const refused = await flow.request("POST", "/v1/auth/email/verify", { body: { email, code: wrongCode } });
      expect(refused.status).toBe(400);

      const verified = await flow.request("POST", "/v1/auth/email/verify", { body: { email, code } });
      expect(verified.status).toBe(200);
      flow.secret("access token", verified.body.access_token);
      flow.secret("refresh token", verified.body.refresh_token);

      const me = await flow.request("GET", "/v1/me", { token: verified.body.access_token });
      expect(me.status).toBe(200);
    },
  },
  {
    name: "sign-up for an active account",
    async run(flow) {
      const { email } = await signUpAndVerify(flow, "active");
      const otherPassword = "another long passphrase 42";
      flow.secret("password", otherPassword);
      const again = await flow.request("POST", "/v1/auth/signup", { body: { email, password: otherPassword } });
      expect(again.status).toBe(202);
    },
  },
  {
    name: "reclaiming a pending sign-up",
    async run(flow) {
      const email = flow.newEmail("pending");
      const firstPassword = "first pending passphrase";
      const secondPassword = "second pending passphrase";
      flow.secret("password", firstPassword);
      flow.secret("password", secondPassword);
      await flow.request("POST", "/v1/auth/signup", { body: { email, password: firstPassword } });
      flow.secret("code", latestCode(flow.t.mailer, email));
      await flow.request("POST", "/v1/auth/signup", { body: { email, password: secondPassword } });
      flow.secret("code", latestCode(flow.t.mailer, email));
    },
  },
  {
    name: "resend for every kind of address",
    async run(flow) {
      const pending = flow.newEmail("resend-pending");
      await flow.request("POST", "/v1/auth/signup", { body: { email: pending, password: PASSWORD } });
      flow.secret("password", PASSWORD);
      const { email: active } = await signUpAndVerify(flow, "resend-active");
      const unknown = flow.newEmail("resend-unknown");

      for (const email of [pending, active, unknown]) {
        const resent = await flow.request("POST", "/v1/auth/email/resend", { body: { email } });
        expect(resent.status).toBe(202);
      }
      flow.secret("code", latestCode(flow.t.mailer, pending));
    },
  },
  {
    name: "rejected and malformed input",
    async run(flow) {
      const email = flow.newEmail("bad-input");
      const weakPassword = `${email.split("@")[0]}2024!!`;
      flow.secret("password", weakPassword);
      flow.secret("password", PASSWORD);
      flow.secret("phone number", "+919876543210");
      flow.secret("id number", "234123412346");

      const cases: [string, string, TestRequestOptions][] = [
        ["POST", "/v1/auth/signup", { body: { email, password: weakPassword } }],
        ["POST", "/v1/auth/signup", { body: { email, password: PASSWORD, role: "admin" } }],
        ["POST", "/v1/auth/signup", { body: { email: [email, "x@example.org"], password: PASSWORD } }],
        ["POST", "/v1/auth/signup", { body: { email: "+919876543210", password: PASSWORD } }],
        ["POST", "/v1/auth/signup", { body: { email, password: PASSWORD, username: "aadhaar:234123412346" } }],
        [
          "POST",
          "/v1/auth/signup",
          { rawBody: `{"email":"${email}","password":"${PASSWORD}"`, headers: { "content-type": "application/json" } },
        ],
        [
          "POST",
          "/v1/auth/signup",
          { rawBody: JSON.stringify({ email, password: PASSWORD }), headers: { "content-type": "text/plain" } },
        ],
        [
          "POST",
          "/v1/auth/signup",
          {
            rawBody: JSON.stringify({ email, padding: "x".repeat(70_000) }),
            headers: { "content-type": "application/json" },
          },
        ],
        ["POST", "/v1/auth/email/verify", { body: { email, code: "12345" } }],
        ["GET", `/v1/me?access_token=${encodeURIComponent(email)}`, {}],
        ["GET", `/v1/users/${encodeURIComponent(email)}`, {}],
        ["GET", `/dev/outbox?to=${encodeURIComponent(email)}`, {}],
      ];
      for (const [method, path, options] of cases) {
        const response = await flow.request(method, path, options);
        expect(response.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
        expect(response.status, `${method} ${path}`).toBeLessThan(500);
      }
    },
  },
  {
    name: "forged and stolen tokens",
    async run(flow) {
      const { accessToken, refreshToken } = await signUpAndVerify(flow, "tokens");
      const [header, payload] = accessToken.split(".");
      const forged = `${header}.${payload}.${"A".repeat(86)}`;
      flow.secret("access token", forged);

      for (const token of [forged, refreshToken, `${accessToken}x`]) {
        const response = await flow.request("GET", "/v1/me", { headers: { authorization: `Bearer ${token}` } });
        expect(response.status).toBe(401);
      }
    },
  },
];

const UUID_PATTERN = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

// Anything shaped like these in a log line is a leak, whether or not a flow registered it.
const LEAK_PATTERNS: [string, RegExp][] = [
  ["email address", /[^\s"'@]+@[^\s"'@]+\.[a-z]{2,}/i],
  ["phone number", /\+[1-9][0-9]{7,14}/],
  ["JWT", /eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+/],
  ["12-digit id number", /(?<![0-9])[0-9]{12}(?![0-9])/],
];

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Build the matcher for one secret. Codes are digit runs, so they match only as a whole number. */
function secretPattern(kind: SecretKind, value: string): RegExp {
  if (kind === "code") return new RegExp(`(?<![0-9])${escapeRegExp(value)}(?![0-9])`);
  return new RegExp(escapeRegExp(value), "i");
}

describe("log lines", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });

  for (const flowCase of flows) {
    it(`${flowCase.name} logs no secrets`, async () => {
      t.logs.length = 0;
      const secrets: { kind: SecretKind; value: string }[] = [];
      let requestCount = 0;
      let emailCount = 0;
      const flow: FlowContext = {
        t,
        newEmail(label) {
          emailCount++;
          const email = `${label}.${emailCount}.${crypto.randomUUID().slice(0, 8)}@example.com`;
          secrets.push({ kind: "email", value: email });
          return email;
        },
        secret(kind, value) {
          secrets.push({ kind, value });
        },
        request(method, path, options) {
          requestCount++;
          return t.request(method, path, options);
        },
      };

      await flowCase.run(flow);

      expect(t.logs.length).toBeGreaterThan(0);
      // UUIDs (request, user and session ids) are meant to be logged, and their last group can be
      // twelve decimal digits or contain a code's digits, so they are masked before matching.
      for (const line of t.logs.map((logged) => logged.replace(UUID_PATTERN, "<uuid>"))) {
        for (const { kind, value } of secrets) {
          expect(secretPattern(kind, value).test(line), `${kind} found in log line: ${line}`).toBe(false);
        }
        for (const [name, pattern] of LEAK_PATTERNS) {
          expect(pattern.test(line), `${name} found in log line: ${line}`).toBe(false);
        }
      }
      const requestLines = t.logs.map((line) => JSON.parse(line)).filter((line) => line.event === "request");
      expect(requestLines).toHaveLength(requestCount);
    });
  }
});

describe("request log", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });

  function requestLines(): Record<string, unknown>[] {
    return t.logs.map((line) => JSON.parse(line)).filter((line) => line.event === "request");
  }

  it("writes one line per request", async () => {
    t.logs.length = 0;
    const response = await t.request("GET", "/health", { headers: { "x-request-id": "health-check-0001" } });

    expect(requestLines()).toEqual([
      {
        time: expect.any(String),
        level: "info",
        event: "request",
        request_id: "health-check-0001",
        method: "GET",
        route: "/health",
        status: 200,
        duration_ms: expect.any(Number),
      },
    ]);
    expect(response.headers.get("x-request-id")).toBe("health-check-0001");
  });

  it("names the caller of authenticated requests", async () => {
    const email = "caller@example.com";
    await t.request("POST", "/v1/auth/signup", { body: { email, password: PASSWORD } });
    const verified = await t.request("POST", "/v1/auth/email/verify", {
      body: { email, code: latestCode(t.mailer, email) },
    });
    t.logs.length = 0;

    await t.request("GET", "/v1/me", { token: verified.body.access_token });

    expect(requestLines()).toEqual([
      expect.objectContaining({ route: "/v1/me", status: 200, user_id: verified.body.user.id }),
    ]);
  });

  it("logs the route of refused requests", async () => {
    t.logs.length = 0;

    await t.request("POST", "/v1/auth/signup", { rawBody: "{}", headers: { "content-type": "text/plain" } });
    await t.request("GET", "/v1/no-such-route");

    expect(requestLines()).toEqual([
      expect.objectContaining({ method: "POST", route: "/v1/auth/signup", status: 415 }),
      expect.objectContaining({ method: "GET", route: null, status: 404 }),
    ]);
  });

  it("logs a security event once", async () => {
    const email = "security-event@example.com";
    await t.request("POST", "/v1/auth/signup", { body: { email, password: PASSWORD } });
    t.logs.length = 0;

    const verified = await t.request("POST", "/v1/auth/email/verify", {
      body: { email, code: latestCode(t.mailer, email) },
    });

    const events = t.logs.map((line) => JSON.parse(line)).filter((line) => line.event === "security_event");
    expect(events).toEqual([
      expect.objectContaining({ action: "signup.verified", target_user_id: verified.body.user.id, level: "info" }),
    ]);
    const requestLine = requestLines()[0];
    expect(events[0]?.request_id).toBe(requestLine?.request_id);
  });
});
