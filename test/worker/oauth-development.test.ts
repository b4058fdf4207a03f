import { beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "./helpers/app";
import { CLIENT_REDIRECT, callCallback, readCallbackRedirect, startFlow } from "./helpers/oauth-providers";

// Development mode with no provider credentials: every provider is the built-in fake provider.
const DEVELOPMENT_BINDINGS = {
  ENVIRONMENT: "development",
  GOOGLE_CLIENT_ID: "",
  GOOGLE_CLIENT_SECRET: "",
  GITHUB_CLIENT_ID: "",
  GITHUB_CLIENT_SECRET: "",
  FACEBOOK_CLIENT_ID: "",
  FACEBOOK_CLIENT_SECRET: "",
};

/** Return the path and query of a URL under APP_URL, for a request to the test app. */
function pathOf(url: URL): string {
  expect(url.origin).toBe("https://app.test");
  return `${url.pathname}${url.search}`;
}

describe("fake OAuth provider in development", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ bindings: DEVELOPMENT_BINDINGS });
  });

  for (const provider of ["google", "github", "facebook"] as const) {
    it(`signs in through the fake ${provider}`, async () => {
      const flow = await startFlow(t, provider);
      const authorization = new URL(flow.authorizationUrl);
      expect(authorization.pathname).toBe(`/dev/oauth/${provider}/authorize`);
      expect(authorization.searchParams.get("client_id")).toBe(`dev-${provider}-client`);
      expect(authorization.searchParams.get("code_challenge_method")).toBe("S256");
      expect(authorization.searchParams.has("nonce")).toBe(provider === "google");

      authorization.searchParams.set("login_hint", `Dev.${provider}@Example.com`);
      const approved = await t.request("GET", pathOf(authorization));
      expect(approved.status).toBe(302);
      const callbackUrl = new URL(approved.headers.get("location") ?? "");
      expect(callbackUrl.pathname).toBe(`/v1/auth/oauth/${provider}/callback`);

      const callback = await callCallback(t, provider, callbackUrl.searchParams, flow.cookie);
      const { code, location } = readCallbackRedirect(callback);
      expect(`${location.origin}${location.pathname}`).toBe(CLIENT_REDIRECT);
      const exchanged = await t.request("POST", "/v1/auth/oauth/exchange", { body: { code } });
      expect(exchanged.status).toBe(200);
      // Facebook never asserts a verified email, so its address stays off the account.
      expect(exchanged.body.user.email).toBe(provider === "facebook" ? null : `dev.${provider}@example.com`);
    });
  }

  it("shows a sign-in form without login_hint", async () => {
    const flow = await startFlow(t, "google");
    const response = await t.request("GET", pathOf(new URL(flow.authorizationUrl)));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/html");
    expect(response.text).toContain('name="login_hint"');
    expect(response.text).toContain('name="state"');
  });

  it("reports a declined sign-in", async () => {
    const flow = await startFlow(t, "github");
    const authorization = new URL(flow.authorizationUrl);
    authorization.searchParams.set("deny", "1");
    const declined = await t.request("GET", pathOf(authorization));
    const callbackUrl = new URL(declined.headers.get("location") ?? "");
    const callback = await callCallback(t, "github", callbackUrl.searchParams, flow.cookie);
    expect(readCallbackRedirect(callback).error).toBe("access_denied");
  });

  it("signs in an unverified address without linking", async () => {
    const flow = await startFlow(t, "google");
    const authorization = new URL(flow.authorizationUrl);
    authorization.searchParams.set("login_hint", "unverified@example.com");
    authorization.searchParams.set("email_verified", "false");
    const approved = await t.request("GET", pathOf(authorization));
    const callbackUrl = new URL(approved.headers.get("location") ?? "");
    const { code } = readCallbackRedirect(await callCallback(t, "google", callbackUrl.searchParams, flow.cookie));
    const exchanged = await t.request("POST", "/v1/auth/oauth/exchange", { body: { code } });
    expect(exchanged.body.user.email).toBeNull();
  });

  it("rejects a token request without the PKCE verifier", async () => {
    const flow = await startFlow(t, "github");
    const authorization = new URL(flow.authorizationUrl);
    authorization.searchParams.set("login_hint", "pkce@example.com");
    const approved = await t.request("GET", pathOf(authorization));
    const code = new URL(approved.headers.get("location") ?? "").searchParams.get("code") ?? "";

    const response = await t.request("POST", "/dev/oauth/github/token", {
      rawBody: new URLSearchParams({
        grant_type: "authorization_code",
        code,
        redirect_uri: "https://app.test/v1/auth/oauth/github/callback",
        client_id: "dev-github-client",
        client_secret: "dev-github-secret",
        code_verifier: "a".repeat(43),
      }).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: "invalid_grant" });
  });

  it("rejects a foreign redirect_uri", async () => {
    const flow = await startFlow(t, "google");
    const authorization = new URL(flow.authorizationUrl);
    authorization.searchParams.set("redirect_uri", "https://evil.example/callback");
    authorization.searchParams.set("login_hint", "someone@example.com");
    const response = await t.request("GET", pathOf(authorization));
    expect(response.status).toBe(400);
    expect(response.headers.get("location")).toBeNull();
  });
});

describe("fake OAuth provider outside development", () => {
  it("does not exist", async () => {
    const t = await createTestApp();
    for (const path of ["/dev/oauth/google/authorize?login_hint=a@example.com", "/dev/oauth/google/jwks"]) {
      const response = await t.request("GET", path);
      expect(response.status).toBe(404);
      expect(response.body.code).toBe("not_found");
    }
    const start = await t.request(
      "GET",
      `/v1/auth/oauth/google/start?redirect_to=${encodeURIComponent(CLIENT_REDIRECT)}`,
    );
    expect(new URL(start.headers.get("location") ?? "").origin).toBe("https://accounts.google.com");
  });
});
