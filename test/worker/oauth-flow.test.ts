import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import * as oauth from "oauth4webapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "./helpers/app";
import { takeUnexpectedRequests } from "./helpers/network";
import {
  CLIENT_REDIRECT,
  CLIENTS,
  callCallback,
  FakeOAuthProviders,
  type ProviderName,
  readCallbackRedirect,
  signInThroughProvider,
  startFlow,
  fakeAccountSeries,
} from "./helpers/oauth-providers";

const newAccount = fakeAccountSeries(100_000, "person");

async function countRows(t: TestApp, table: "users" | "auth_sessions" | "oauth_accounts"): Promise<number> {
  const rows = await t.sql.query(`SELECT count(*)::int AS count FROM ${table}`);
  return (rows[0] as { count: number }).count;
}

describe("OAuth flow", () => {
  let t: TestApp;
  let providers: FakeOAuthProviders;
  let uninstall: () => void;

  beforeAll(async () => {
    t = await createTestApp();
    providers = new FakeOAuthProviders(t.clock);
    uninstall = await providers.install();
  });
  afterAll(() => uninstall());

  describe("authorization request", () => {
    const expected: Record<ProviderName, { endpoint: string; scope: string; nonce: boolean }> = {
      google: { endpoint: "https://accounts.google.com/o/oauth2/v2/auth", scope: "openid email", nonce: true },
      github: { endpoint: "https://github.com/login/oauth/authorize", scope: "read:user user:email", nonce: false },
      facebook: {
        endpoint: "https://www.facebook.com/v23.0/dialog/oauth",
        scope: "email,public_profile",
        nonce: false,
      },
    };

    for (const provider of ["google", "github", "facebook"] as const) {
      it(`sends ${provider} the exact parameters`, async () => {
        const { authorizationUrl } = await startFlow(t, provider);
        const url = new URL(authorizationUrl);
        const parameters = url.searchParams;

        expect(`${url.origin}${url.pathname}`).toBe(expected[provider].endpoint);
        const names = [
          "client_id",
          "code_challenge",
          "code_challenge_method",
          "redirect_uri",
          "response_type",
          "scope",
          "state",
        ];
        if (expected[provider].nonce) names.push("nonce");
        expect([...parameters.keys()].sort()).toEqual(names.sort());
        expect(parameters.get("client_id")).toBe(CLIENTS[provider].id);
        expect(parameters.get("redirect_uri")).toBe(`https://app.test/v1/auth/oauth/${provider}/callback`);
        expect(parameters.get("response_type")).toBe("code");
        expect(parameters.get("scope")).toBe(expected[provider].scope);
        expect(parameters.get("code_challenge_method")).toBe("S256");
        expect(parameters.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
        // 32 random bytes in base64url: at least 128 bits.
        expect(parameters.get("state")).toMatch(/^[A-Za-z0-9_-]{43}$/);
        if (expected[provider].nonce) expect(parameters.get("nonce")).toMatch(/^[A-Za-z0-9_-]{43}$/);
      });

      it(`sends ${provider} the exact token request`, async () => {
        const flow = await startFlow(t, provider);
        const challenge = new URL(flow.authorizationUrl).searchParams.get("code_challenge");
        const query = providers.approve(flow.authorizationUrl, newAccount());
        const callback = await callCallback(t, provider, query, flow.cookie);
        expect(readCallbackRedirect(callback).code).not.toBeNull();

        const request = providers.tokenRequests.at(-1);
        expect(request?.provider).toBe(provider);
        const form = request?.form ?? new URLSearchParams();
        expect([...form.keys()].sort()).toEqual(
          ["client_id", "client_secret", "code", "code_verifier", "grant_type", "redirect_uri"].sort(),
        );
        expect(form.get("grant_type")).toBe("authorization_code");
        expect(form.get("code")).toBe(query.get("code"));
        expect(form.get("redirect_uri")).toBe(`https://app.test/v1/auth/oauth/${provider}/callback`);
        expect(form.get("client_id")).toBe(CLIENTS[provider].id);
        expect(form.get("client_secret")).toBe(CLIENTS[provider].secret);
        expect(await oauth.calculatePKCECodeChallenge(form.get("code_verifier") ?? "")).toBe(challenge);
        expect(request?.headers.get("authorization")).toBeNull();
        expect(request?.headers.get("content-type")).toContain("application/x-www-form-urlencoded");
      });
    }

    it("sets an HttpOnly binding cookie", async () => {
      const { response } = await startFlow(t, "google");
      const cookie = response.headers.get("set-cookie") ?? "";
      expect(cookie).toMatch(/^__Host-oauth_binding=[A-Za-z0-9_-]{43};/);
      expect(cookie).toContain("HttpOnly");
      expect(cookie).toContain("Secure");
      expect(cookie).toContain("SameSite=Lax");
      expect(cookie).toContain("Path=/");
      expect(cookie).toContain("Max-Age=600");
      expect(response.headers.get("cache-control")).toBe("no-store");
    });

    it("uses a new state every time", async () => {
      const first = new URL((await startFlow(t, "google")).authorizationUrl).searchParams;
      const second = new URL((await startFlow(t, "google")).authorizationUrl).searchParams;
      expect(first.get("state")).not.toBe(second.get("state"));
      expect(first.get("nonce")).not.toBe(second.get("nonce"));
      expect(first.get("code_challenge")).not.toBe(second.get("code_challenge"));
    });

    it("keeps the browser's existing binding", async () => {
      const first = await startFlow(t, "google");
      const second = await startFlow(t, "github", { cookie: first.cookie });
      expect(second.cookie).toBe(first.cookie);
    });
  });

  describe("redirect_to", () => {
    const rejected = [
      "https://evil.example",
      "//evil.example",
      "https:evil.example",
      "/\\evil.example",
      "https:/\\evil.example",
      "https://client.test@evil.example/",
      "https://client.test:secret@client.test/",
      "https://evil.example/https://client.test/",
      "https://client.test.evil.example/",
      "http://client.test/",
      "javascript:alert(1)",
      "data:text/html,hello",
      "/oauth/done",
      `https://client.test/${"a".repeat(2100)}`,
    ];

    for (const value of rejected) {
      it(`rejects ${JSON.stringify(value.slice(0, 40))}`, async () => {
        const response = await t.request("GET", `/v1/auth/oauth/google/start?redirect_to=${encodeURIComponent(value)}`);
        expect(response.status).toBe(400);
        expect(response.body.code).toBe("invalid_redirect");
        expect(response.headers.get("content-type")).toBe("application/problem+json");
        expect(response.headers.get("set-cookie")).toBeNull();
      });
    }

    it("rejects a missing redirect_to", async () => {
      const response = await t.request("GET", "/v1/auth/oauth/google/start");
      expect(response.status).toBe(400);
      expect(response.body.code).toBe("validation_failed");
    });

    it("keeps the query of redirect_to", async () => {
      const flow = await startFlow(t, "github", { redirectTo: "https://client.test/done?tab=security&code=stale" });
      const callback = await callCallback(
        t,
        "github",
        providers.approve(flow.authorizationUrl, newAccount()),
        flow.cookie,
      );
      const { location, code } = readCallbackRedirect(callback);
      expect(`${location.origin}${location.pathname}`).toBe("https://client.test/done");
      expect(location.searchParams.get("tab")).toBe("security");
      expect(location.searchParams.getAll("code")).toEqual([code]);
    });
  });

  describe("state", () => {
    it("rejects a callback without state", async () => {
      const sessionsBefore = await countRows(t, "auth_sessions");
      const requestsBefore = providers.tokenRequests.length;
      const flow = await startFlow(t, "google");
      const query = providers.approve(flow.authorizationUrl, newAccount());
      query.delete("state");

      const response = await callCallback(t, "google", query, flow.cookie);
      expect(response.status).toBe(400);
      expect(response.body.code).toBe("invalid_state");
      expect(providers.tokenRequests.length).toBe(requestsBefore);
      expect(await countRows(t, "auth_sessions")).toBe(sessionsBefore);
    });

    it("rejects an unknown state", async () => {
      const flow = await startFlow(t, "google");
      const query = providers.approve(flow.authorizationUrl, newAccount());
      query.set("state", "x".repeat(43));
      const response = await callCallback(t, "google", query, flow.cookie);
      expect(response.status).toBe(400);
      expect(response.body.code).toBe("invalid_state");
    });

    it("rejects another browser's cookie", async () => {
      const requestsBefore = providers.tokenRequests.length;
      const usersBefore = await countRows(t, "users");
      const victim = await startFlow(t, "google");
      const attacker = await startFlow(t, "google");
      expect(attacker.cookie).not.toBe(victim.cookie);

      const query = providers.approve(attacker.authorizationUrl, newAccount());
      const response = await callCallback(t, "google", query, victim.cookie);
      expect(response.status).toBe(400);
      expect(response.body.code).toBe("invalid_state");
      expect(response.headers.get("location")).toBeNull();
      expect(providers.tokenRequests.length).toBe(requestsBefore);
      expect(await countRows(t, "users")).toBe(usersBefore);
    });

    it("rejects a callback without the cookie", async () => {
      const flow = await startFlow(t, "github");
      const response = await callCallback(
        t,
        "github",
        providers.approve(flow.authorizationUrl, newAccount()),
        undefined,
      );
      expect(response.status).toBe(400);
      expect(response.body.code).toBe("invalid_state");
    });

    it("rejects a replayed state", async () => {
      const flow = await startFlow(t, "google");
      const query = providers.approve(flow.authorizationUrl, newAccount());
      const first = await callCallback(t, "google", query, flow.cookie);
      expect(readCallbackRedirect(first).code).not.toBeNull();
      const sessionsBefore = await countRows(t, "auth_sessions");

      const replay = await callCallback(t, "google", query, flow.cookie);
      expect(replay.status).toBe(400);
      expect(replay.body.code).toBe("invalid_state");
      expect(await countRows(t, "auth_sessions")).toBe(sessionsBefore);
    });

    it("rejects a state after 10 minutes", async () => {
      const requestsBefore = providers.tokenRequests.length;
      const flow = await startFlow(t, "google");
      const query = providers.approve(flow.authorizationUrl, newAccount());
      t.clock.advanceSeconds(10 * 60 + 1);

      const response = await callCallback(t, "google", query, flow.cookie);
      expect(response.status).toBe(400);
      expect(response.body.code).toBe("invalid_state");
      expect(providers.tokenRequests.length).toBe(requestsBefore);
    });

    it("accepts a state just under 10 minutes old", async () => {
      const flow = await startFlow(t, "google");
      const query = providers.approve(flow.authorizationUrl, newAccount());
      t.clock.advanceSeconds(10 * 60 - 5);
      expect(readCallbackRedirect(await callCallback(t, "google", query, flow.cookie)).code).not.toBeNull();
    });

    it("rejects a state from another provider's flow", async () => {
      const flow = await startFlow(t, "google");
      const query = providers.approve(flow.authorizationUrl, newAccount());
      const response = await callCallback(t, "github", query, flow.cookie);
      expect(response.status).toBe(400);
      expect(response.body.code).toBe("invalid_state");
    });

    it("completes two flows from one browser", async () => {
      const first = await startFlow(t, "google");
      const second = await startFlow(t, "google", { cookie: first.cookie });
      const secondResult = await callCallback(
        t,
        "google",
        providers.approve(second.authorizationUrl, newAccount()),
        first.cookie,
      );
      const firstResult = await callCallback(
        t,
        "google",
        providers.approve(first.authorizationUrl, newAccount()),
        first.cookie,
      );
      expect(readCallbackRedirect(secondResult).code).not.toBeNull();
      expect(readCallbackRedirect(firstResult).code).not.toBeNull();
    });
  });

  describe("ID token", () => {
    const refusals: [string, Parameters<FakeOAuthProviders["approve"]>[2]][] = [
      ["a wrong nonce", { nonce: "not-the-nonce-that-was-sent" }],
      ["another audience", { audience: "someone-elses-client" }],
      ["another issuer", { issuer: "https://accounts.evil.example" }],
      ["an expired token", { expiresInSeconds: -120 }],
      ["an unpublished signing key", { signWithUnpublishedKey: true }],
    ];

    for (const [name, overrides] of refusals) {
      it(`refuses ${name}`, async () => {
        const usersBefore = await countRows(t, "users");
        const result = await signInThroughProvider(t, providers, "google", newAccount(), overrides);
        expect(result.error).toBe("provider_error");
        expect(result.code).toBeNull();
        expect(`${result.location.origin}${result.location.pathname}`).toBe(CLIENT_REDIRECT);
        expect(await countRows(t, "users")).toBe(usersBefore);
      });
    }

    it("logs no token or email on refusal", async () => {
      const account = newAccount();
      t.logs.length = 0;
      await signInThroughProvider(t, providers, "google", account, { nonce: "wrong" });
      const logged = t.logs.join("\n");
      expect(logged).toContain("oauth_callback_failed");
      expect(logged).not.toContain(account.email);
      expect(logged).not.toContain("access-");
    });
  });

  describe("callback errors", () => {
    it("reports a declined consent", async () => {
      const flow = await startFlow(t, "github");
      const response = await callCallback(t, "github", providers.deny(flow.authorizationUrl), flow.cookie);
      expect(readCallbackRedirect(response).error).toBe("access_denied");
    });

    it("reports a code the provider refuses", async () => {
      const flow = await startFlow(t, "facebook");
      const query = providers.approve(flow.authorizationUrl, newAccount());
      query.set("code", "code-that-was-never-issued");
      const response = await callCallback(t, "facebook", query, flow.cookie);
      expect(readCallbackRedirect(response).error).toBe("provider_error");
    });

    it("reports an unreachable provider", async () => {
      const flow = await startFlow(t, "github");
      const query = providers.approve(flow.authorizationUrl, newAccount());
      uninstall();
      try {
        const response = await fetchWithoutGuardFailure(() => callCallback(t, "github", query, flow.cookie));
        expect(readCallbackRedirect(response).error).toBe("provider_error");
      } finally {
        uninstall = await providers.install();
      }
    });
  });

  describe("login code", () => {
    it("puts only a one-time code in the redirect", async () => {
      const result = await signInThroughProvider(t, providers, "google", newAccount());
      const location = result.location;
      expect(`${location.origin}${location.pathname}`).toBe(CLIENT_REDIRECT);
      expect([...location.searchParams.keys()]).toEqual(["code"]);
      expect(location.hash).toBe("");
      expect(result.code).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(result.callback.text).not.toContain("access-");
      expect(result.callback.text).not.toContain("refresh-");
    });

    it("signs in once", async () => {
      const { code } = await signInThroughProvider(t, providers, "github", newAccount());
      const first = await t.request("POST", "/v1/auth/oauth/exchange", { body: { code } });
      expect(first.status).toBe(200);
      expect(first.body.token_type).toBe("Bearer");
      expect(first.body.user.status).toBe("active");

      const again = await t.request("POST", "/v1/auth/oauth/exchange", { body: { code } });
      expect(again.status).toBe(400);
      expect(again.body.code).toBe("invalid_token");
    });

    it("expires after 60 seconds", async () => {
      const { code } = await signInThroughProvider(t, providers, "google", newAccount());
      t.clock.advanceSeconds(61);
      const response = await t.request("POST", "/v1/auth/oauth/exchange", { body: { code } });
      expect(response.status).toBe(400);
      expect(response.body.code).toBe("invalid_token");
    });

    it("works just under 60 seconds", async () => {
      const { code } = await signInThroughProvider(t, providers, "google", newAccount());
      t.clock.advanceSeconds(59);
      const response = await t.request("POST", "/v1/auth/oauth/exchange", { body: { code } });
      expect(response.status).toBe(200);
    });

    it("rejects an unknown code", async () => {
      const response = await t.request("POST", "/v1/auth/oauth/exchange", { body: { code: "x".repeat(43) } });
      expect(response.status).toBe(400);
      expect(response.body.code).toBe("invalid_token");
    });

    it("rejects unknown fields", async () => {
      const response = await t.request("POST", "/v1/auth/oauth/exchange", { body: { code: "abc", user_id: "x" } });
      expect(response.status).toBe(400);
      expect(response.body.code).toBe("validation_failed");
    });

    it("opens a session and records the sign-in", async () => {
      const { code } = await signInThroughProvider(t, providers, "google", newAccount());
      const exchanged = await t.request("POST", "/v1/auth/oauth/exchange", {
        body: { code },
        headers: { "user-agent": "test-browser" },
      });
      const userId = exchanged.body.user.id;

      const me = await t.request("GET", "/v1/me", { token: exchanged.body.access_token });
      expect(me.status).toBe(200);
      expect(me.body.login_methods).toEqual({ password: false, oauth: ["google"] });
      expect(me.body.user.last_login_at).not.toBeNull();

      const audit = await t.sql`SELECT action, metadata FROM audit_events WHERE target_user_id = ${userId} ORDER BY id`;
      expect(audit.map((row) => row.action)).toEqual(["oauth.linked", "login.succeeded"]);
      expect(audit[1]?.metadata).toEqual({ method: "oauth", provider: "google" });
    });
  });

  describe("providers", () => {
    it("answers 404 for an unknown provider", async () => {
      for (const [method, path] of [
        ["GET", `/v1/auth/oauth/twitter/start?redirect_to=${encodeURIComponent(CLIENT_REDIRECT)}`],
        ["GET", "/v1/auth/oauth/twitter/callback?state=x&code=y"],
      ] as const) {
        const response = await t.request(method, path);
        expect(response.status).toBe(404);
        expect(response.body.code).toBe("not_found");
      }
    });

    it("answers 404 for an unconfigured provider", async () => {
      const bindings = { ...t.bindings, FACEBOOK_CLIENT_ID: "", FACEBOOK_CLIENT_SECRET: "" };
      const context = createExecutionContext();
      const response = await t.app.fetch(
        new Request(`https://api.test/v1/auth/oauth/facebook/start?redirect_to=${encodeURIComponent(CLIENT_REDIRECT)}`),
        bindings,
        context,
      );
      await waitOnExecutionContext(context);
      expect(response.status).toBe(404);
      expect(((await response.json()) as { code: string }).code).toBe("provider_not_configured");
    });

    it("reads GitHub's primary verified email", async () => {
      const account = newAccount();
      const { code } = await signInThroughProvider(t, providers, "github", account);
      const exchanged = await t.request("POST", "/v1/auth/oauth/exchange", { body: { code } });
      expect(exchanged.body.user.email).toBe(account.email);
      expect(exchanged.body.user.is_email_verified).toBe(true);

      const calls = providers.apiRequests.filter((call) => call.provider === "github").slice(-2);
      expect(calls.map((call) => new URL(call.url).pathname).sort()).toEqual(["/user", "/user/emails"]);
      for (const call of calls) expect(call.headers.get("user-agent")).not.toBeNull();
    });

    it("sends Facebook an appsecret_proof", async () => {
      await signInThroughProvider(t, providers, "facebook", newAccount());
      const call = providers.apiRequests.filter((entry) => entry.provider === "facebook").at(-1);
      const url = new URL(call?.url ?? "https://invalid.test");
      expect(url.pathname).toBe("/v23.0/me");
      expect(url.searchParams.get("fields")).toBe("id,email");
      expect(url.searchParams.get("appsecret_proof")).toMatch(/^[0-9a-f]{64}$/);
    });
  });

  it("documents the OAuth routes", async () => {
    const document = await t.request("GET", "/openapi.json");
    expect(document.status).toBe(200);
    const paths = Object.keys(document.body.paths);
    for (const path of [
      "/v1/auth/oauth/{provider}/start",
      "/v1/auth/oauth/{provider}/callback",
      "/v1/auth/oauth/exchange",
      "/v1/me/oauth/{provider}/link",
      "/v1/me/oauth-accounts",
      "/v1/me/oauth-accounts/{provider}",
    ]) {
      expect(paths).toContain(path);
    }
    expect(paths.some((path) => path.startsWith("/dev/oauth"))).toBe(false);
  });

  describe("round trips", () => {
    it("costs one read and one batch for a new account", async () => {
      const flow = await startFlow(t, "google");
      const query = providers.approve(flow.authorizationUrl, newAccount());
      let callback: Awaited<ReturnType<typeof callCallback>> | undefined;
      const trips = await t.countRoundTrips(async () => {
        callback = await callCallback(t, "google", query, flow.cookie);
      });
      expect(callback?.status).toBe(302);
      expect(trips).toBe(2);
    });

    it("costs one read for a returning account", async () => {
      const account = newAccount();
      await signInThroughProvider(t, providers, "github", account);
      const flow = await startFlow(t, "github");
      const query = providers.approve(flow.authorizationUrl, account);
      const trips = await t.countRoundTrips(() => callCallback(t, "github", query, flow.cookie));
      expect(trips).toBe(1);
    });

    it("costs one statement to exchange", async () => {
      const { code } = await signInThroughProvider(t, providers, "google", newAccount());
      let status = 0;
      const trips = await t.countRoundTrips(async () => {
        status = (await t.request("POST", "/v1/auth/oauth/exchange", { body: { code } })).status;
      });
      expect(status).toBe(200);
      expect(trips).toBe(1);
    });

    it("costs nothing to start", async () => {
      const trips = await t.countRoundTrips(() => startFlow(t, "facebook"));
      expect(trips).toBe(0);
    });
  });
});

/**
 * Run a request whose outbound calls to unfaked hosts are expected to fail, and clear those calls
 * from the guard's list so the test does not fail on them.
 */
async function fetchWithoutGuardFailure<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } finally {
    takeUnexpectedRequests();
  }
}
