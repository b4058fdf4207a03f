import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decryptSecret, parseEncryptionKeyring } from "../../src/crypto/encryption";
import { createTestApp, latestCode, type TestApp } from "./helpers/app";
import {
  bindingCookieFrom,
  CLIENT_REDIRECT,
  callCallback,
  FakeOAuthProviders,
  type FakeAccount,
  readCallbackRedirect,
  signInAndExchange,
  signInThroughProvider,
  startFlow,
  fakeAccountSeries,
} from "./helpers/oauth-providers";

const PASSWORD = "correct horse battery staple";

const newAccount = fakeAccountSeries(200_000, "member");

async function signUp(t: TestApp, email: string, username?: string) {
  const response = await t.request("POST", "/v1/auth/signup", { body: { email, password: PASSWORD, username } });
  expect(response.status).toBe(202);
}

async function signUpAndVerify(t: TestApp, email: string) {
  await signUp(t, email);
  const verified = await t.request("POST", "/v1/auth/email/verify", {
    body: { email, code: latestCode(t.mailer, email) },
  });
  expect(verified.status).toBe(200);
  return verified.body as { access_token: string; user: { id: string } };
}

async function userIdByEmail(t: TestApp, email: string): Promise<string | undefined> {
  const rows = await t.sql`SELECT id FROM users WHERE email = ${email}`;
  return rows[0]?.id as string | undefined;
}

async function oauthRows(t: TestApp, userId: string) {
  return t.sql`
    SELECT provider, provider_user_id, email, email_verified, access_token_encrypted, refresh_token_encrypted, token_expires_at
    FROM oauth_accounts WHERE user_id = ${userId} ORDER BY provider`;
}

/** Start linking `provider` for the holder of `accessToken` and complete it at the fake provider. */
async function linkProvider(
  t: TestApp,
  providers: FakeOAuthProviders,
  accessToken: string,
  provider: "google" | "github" | "facebook",
  account: FakeAccount,
) {
  const started = await t.request("POST", `/v1/me/oauth/${provider}/link`, {
    token: accessToken,
    body: { redirect_to: CLIENT_REDIRECT },
  });
  expect(started.status).toBe(200);
  const cookie = bindingCookieFrom(started);
  const query = providers.approve(started.body.authorization_url, account);
  return readCallbackRedirect(await callCallback(t, provider, query, cookie));
}

describe("OAuth accounts", () => {
  let t: TestApp;
  let providers: FakeOAuthProviders;
  let uninstall: () => void;

  beforeAll(async () => {
    t = await createTestApp();
    providers = new FakeOAuthProviders(t.clock);
    uninstall = await providers.install();
  });
  afterAll(() => uninstall());

  describe("resolution", () => {
    it("creates an active account from a verified email", async () => {
      const account = newAccount();
      const exchanged = await signInAndExchange(t, providers, "google", account);
      const user = exchanged.body.user;
      expect(user.email).toBe(account.email);
      expect(user.status).toBe("active");
      expect(user.is_email_verified).toBe(true);

      const [row] = await oauthRows(t, user.id);
      expect(row?.provider_user_id).toBe(account.id);
      expect(row?.email_verified).toBe(true);
    });

    it("signs a returning identity into the same account", async () => {
      const account = newAccount();
      const first = await signInAndExchange(t, providers, "github", account);
      const again = await signInAndExchange(t, providers, "github", { ...account, email: `renamed-${account.email}` });
      expect(again.body.user.id).toBe(first.body.user.id);
      const [row] = await oauthRows(t, first.body.user.id);
      expect(row?.email).toBe(`renamed-${account.email}`);
    });

    it("links a verified email to an active account", async () => {
      const email = "existing@example.com";
      const signedUp = await signUpAndVerify(t, email);
      const exchanged = await signInAndExchange(t, providers, "google", newAccount({ email }));
      expect(exchanged.body.user.id).toBe(signedUp.user.id);

      const audit = await t.sql`
        SELECT metadata FROM audit_events WHERE target_user_id = ${signedUp.user.id} AND action = 'oauth.linked'`;
      expect(audit[0]?.metadata).toEqual({ provider: "google", via: "email", took_over_pending: false });
      const me = await t.request("GET", "/v1/me", { token: exchanged.body.access_token });
      expect(me.body.login_methods).toEqual({ password: true, oauth: ["google"] });
    });

    it("never links an unverified GitHub email", async () => {
      const email = "victim-github@example.com";
      const victim = await signUpAndVerify(t, email);
      const attacker = await signInAndExchange(t, providers, "github", newAccount({ email, emailVerified: false }));

      expect(attacker.body.user.id).not.toBe(victim.user.id);
      expect(attacker.body.user.email).toBeNull();
      expect(attacker.body.user.is_email_verified).toBe(false);
      expect(await oauthRows(t, victim.user.id)).toEqual([]);
      const [row] = await oauthRows(t, attacker.body.user.id);
      expect(row?.email).toBe(email);
      expect(row?.email_verified).toBe(false);
    });

    it("never links an unverified Google email", async () => {
      const email = "victim-google@example.com";
      const victim = await signUpAndVerify(t, email);
      const attacker = await signInAndExchange(t, providers, "google", newAccount({ email, emailVerified: false }));
      expect(attacker.body.user.id).not.toBe(victim.user.id);
      expect(await oauthRows(t, victim.user.id)).toEqual([]);
    });

    it("never links by Facebook email", async () => {
      const email = "victim-facebook@example.com";
      const victim = await signUpAndVerify(t, email);
      // Facebook returns the address without saying it verified it.
      const other = await signInAndExchange(t, providers, "facebook", newAccount({ email, emailVerified: true }));
      expect(other.body.user.id).not.toBe(victim.user.id);
      expect(other.body.user.email).toBeNull();
      const [row] = await oauthRows(t, other.body.user.id);
      expect(row?.email).toBe(email);
      expect(row?.email_verified).toBe(false);
    });

    it("stores a new unverified email on the link only", async () => {
      const email = "nobody-yet@example.com";
      const created = await signInAndExchange(t, providers, "github", newAccount({ email, emailVerified: false }));
      expect(created.body.user.email).toBeNull();
      expect(await userIdByEmail(t, email)).toBeUndefined();
    });

    it("takes over a pending account and drops its password", async () => {
      const email = "pending-owner@example.com";
      await signUp(t, email, "squatted_name");
      const pendingId = await userIdByEmail(t, email);
      const staleCode = latestCode(t.mailer, email);
      expect(await t.sql`SELECT 1 FROM auth_credentials WHERE user_id = ${pendingId}`).toHaveLength(1);

      const exchanged = await signInAndExchange(t, providers, "google", newAccount({ email }));
      expect(exchanged.body.user.id).toBe(pendingId);
      expect(exchanged.body.user.status).toBe("active");
      expect(exchanged.body.user.is_email_verified).toBe(true);
      expect(exchanged.body.user.username).toBeNull();

      expect(await t.sql`SELECT 1 FROM auth_credentials WHERE user_id = ${pendingId}`).toHaveLength(0);
      expect(await t.sql`SELECT 1 FROM verifications WHERE user_id = ${pendingId}`).toHaveLength(0);
      const verifyWithStaleCode = await t.request("POST", "/v1/auth/email/verify", {
        body: { email, code: staleCode },
      });
      expect(verifyWithStaleCode.status).toBe(400);

      const me = await t.request("GET", "/v1/me", { token: exchanged.body.access_token });
      expect(me.body.login_methods).toEqual({ password: false, oauth: ["google"] });
      const audit = await t.sql`
        SELECT metadata FROM audit_events WHERE target_user_id = ${pendingId} AND action = 'oauth.linked'`;
      expect(audit[0]?.metadata).toEqual({ provider: "google", via: "email", took_over_pending: true });
    });

    it("leaves a pending account alone for an unverified email", async () => {
      const email = "pending-kept@example.com";
      await signUp(t, email);
      const pendingId = await userIdByEmail(t, email);
      await signInAndExchange(t, providers, "github", newAccount({ email, emailVerified: false }));

      const [user] = await t.sql`SELECT status FROM users WHERE id = ${pendingId}`;
      expect(user?.status).toBe("pending_verification");
      expect(await t.sql`SELECT 1 FROM auth_credentials WHERE user_id = ${pendingId}`).toHaveLength(1);
    });

    it("refuses a suspended account", async () => {
      const account = newAccount();
      const created = await signInAndExchange(t, providers, "google", account);
      await t.sql`UPDATE users SET status = 'suspended' WHERE id = ${created.body.user.id}`;

      const result = await signInThroughProvider(t, providers, "google", account);
      expect(result.error).toBe("account_suspended");
      expect(result.code).toBeNull();
    });

    it("refuses a suspended account found by email", async () => {
      const email = "suspended-by-email@example.com";
      const signedUp = await signUpAndVerify(t, email);
      await t.sql`UPDATE users SET status = 'suspended' WHERE id = ${signedUp.user.id}`;
      const result = await signInThroughProvider(t, providers, "github", newAccount({ email }));
      expect(result.error).toBe("account_suspended");
      expect(await oauthRows(t, signedUp.user.id)).toEqual([]);
    });

    it("refuses a login code after suspension", async () => {
      const account = newAccount();
      await signInAndExchange(t, providers, "facebook", account);
      const { code } = await signInThroughProvider(t, providers, "facebook", account);
      await t.sql`UPDATE users SET status = 'suspended' WHERE id IN (
        SELECT user_id FROM oauth_accounts WHERE provider = 'facebook' AND provider_user_id = ${account.id})`;
      const response = await t.request("POST", "/v1/auth/oauth/exchange", { body: { code } });
      expect(response.status).toBe(400);
      expect(response.body.code).toBe("invalid_token");
    });

    it("refuses a second account of one provider by email", async () => {
      const email = "two-googles@example.com";
      await signInAndExchange(t, providers, "google", newAccount({ email }));
      const result = await signInThroughProvider(t, providers, "google", newAccount({ email }));
      expect(result.error).toBe("already_linked");
    });

    it("creates one account for parallel first sign-ins", async () => {
      const account = newAccount();
      const first = await startFlow(t, "github");
      const second = await startFlow(t, "github", { cookie: first.cookie });
      const queries = [first, second].map((flow) => providers.approve(flow.authorizationUrl, account));

      const callbacks = await Promise.all(queries.map((query) => callCallback(t, "github", query, first.cookie)));
      const codes = callbacks.map((callback) => readCallbackRedirect(callback).code);
      expect(codes.every((code) => code !== null)).toBe(true);

      const exchanged = await Promise.all(
        codes.map((code) => t.request("POST", "/v1/auth/oauth/exchange", { body: { code } })),
      );
      expect(exchanged.map((response) => response.status)).toEqual([200, 200]);
      expect(exchanged[0]?.body.user.id).toBe(exchanged[1]?.body.user.id);
      const rows =
        await t.sql`SELECT 1 FROM oauth_accounts WHERE provider = 'github' AND provider_user_id = ${account.id}`;
      expect(rows).toHaveLength(1);
      expect(await t.sql`SELECT 1 FROM users WHERE email = ${account.email}`).toHaveLength(1);
    });

    it("links a sign-up racing with a first sign-in", async () => {
      const account = newAccount();
      const email = account.email ?? "";
      const flow = await startFlow(t, "google");
      const query = providers.approve(flow.authorizationUrl, account);
      const [callback] = await Promise.all([callCallback(t, "google", query, flow.cookie), signUp(t, email)]);

      expect(readCallbackRedirect(callback).code).not.toBeNull();
      const users = await t.sql`SELECT id, status FROM users WHERE email = ${email}`;
      expect(users).toHaveLength(1);
      expect(users[0]?.status).toBe("active");
    });
  });

  describe("linking", () => {
    it("links a second provider", async () => {
      const google = newAccount();
      const signedIn = await signInAndExchange(t, providers, "google", google);
      const github = newAccount({ email: "different@example.org" });

      const linked = await linkProvider(t, providers, signedIn.body.access_token, "github", github);
      expect(linked.error).toBeNull();
      expect(linked.code).not.toBeNull();

      const listed = await t.request("GET", "/v1/me/oauth-accounts", { token: signedIn.body.access_token });
      expect(listed.status).toBe(200);
      expect(listed.body.accounts.map((entry: { provider: string }) => entry.provider)).toEqual(["github", "google"]);
      expect(listed.body.accounts[0]).toEqual({
        provider: "github",
        email: "different@example.org",
        created_at: t.clock.now().toISOString(),
      });

      const viaGitHub = await signInAndExchange(t, providers, "github", github);
      expect(viaGitHub.body.user.id).toBe(signedIn.body.user.id);
    });

    it("links a provider to a password account", async () => {
      const signedUp = await signUpAndVerify(t, "password-first@example.com");
      const facebook = newAccount({ email: "unrelated@example.net" });
      const linked = await linkProvider(t, providers, signedUp.access_token, "facebook", facebook);
      expect(linked.code).not.toBeNull();
      const viaFacebook = await signInAndExchange(t, providers, "facebook", facebook);
      expect(viaFacebook.body.user.id).toBe(signedUp.user.id);
    });

    it("refuses a provider account of another user", async () => {
      const owner = newAccount();
      await signInAndExchange(t, providers, "github", owner);
      const other = await signInAndExchange(t, providers, "google", newAccount());

      const linked = await linkProvider(t, providers, other.body.access_token, "github", owner);
      expect(linked.error).toBe("already_linked");
      expect(await oauthRows(t, other.body.user.id)).toHaveLength(1);
    });

    it("refuses a second account of a linked provider", async () => {
      const signedIn = await signInAndExchange(t, providers, "google", newAccount());
      const linked = await linkProvider(t, providers, signedIn.body.access_token, "google", newAccount());
      expect(linked.error).toBe("already_linked");
    });

    it("accepts relinking the same account", async () => {
      const account = newAccount();
      const signedIn = await signInAndExchange(t, providers, "google", account);
      const linked = await linkProvider(t, providers, signedIn.body.access_token, "google", account);
      expect(linked.code).not.toBeNull();
    });

    it("refuses a link after the session ended", async () => {
      const signedIn = await signInAndExchange(t, providers, "google", newAccount());
      const started = await t.request("POST", "/v1/me/oauth/github/link", {
        token: signedIn.body.access_token,
        body: { redirect_to: CLIENT_REDIRECT },
      });
      await t.sql`UPDATE auth_sessions SET revoked_at = now() WHERE user_id = ${signedIn.body.user.id}`;

      const query = providers.approve(started.body.authorization_url, newAccount());
      const result = readCallbackRedirect(await callCallback(t, "github", query, bindingCookieFrom(started)));
      expect(result.error).toBe("session_expired");
      expect(await oauthRows(t, signedIn.body.user.id)).toHaveLength(1);
    });

    it("refuses a link completed in another browser", async () => {
      const signedIn = await signInAndExchange(t, providers, "google", newAccount());
      const started = await t.request("POST", "/v1/me/oauth/github/link", {
        token: signedIn.body.access_token,
        body: { redirect_to: CLIENT_REDIRECT },
      });
      const victimBrowser = await startFlow(t, "github");
      const query = providers.approve(started.body.authorization_url, newAccount());
      const response = await callCallback(t, "github", query, victimBrowser.cookie);
      expect(response.status).toBe(400);
      expect(response.body.code).toBe("invalid_state");
    });

    it("needs an access token", async () => {
      const response = await t.request("POST", "/v1/me/oauth/github/link", { body: { redirect_to: CLIENT_REDIRECT } });
      expect(response.status).toBe(401);
    });

    it("rejects a foreign redirect_to", async () => {
      const signedIn = await signInAndExchange(t, providers, "google", newAccount());
      const response = await t.request("POST", "/v1/me/oauth/github/link", {
        token: signedIn.body.access_token,
        body: { redirect_to: "https://evil.example/done" },
      });
      expect(response.status).toBe(400);
      expect(response.body.code).toBe("invalid_redirect");
    });

    it("answers 404 for an unknown provider", async () => {
      const signedIn = await signInAndExchange(t, providers, "google", newAccount());
      const response = await t.request("POST", "/v1/me/oauth/myspace/link", {
        token: signedIn.body.access_token,
        body: { redirect_to: CLIENT_REDIRECT },
      });
      expect(response.status).toBe(404);
      expect(response.body.code).toBe("not_found");
    });

    it("allows credentials in CORS for linking only", async () => {
      const preflight = await t.request("OPTIONS", "/v1/me/oauth/github/link", {
        headers: {
          origin: "https://client.test",
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization, content-type",
        },
      });
      expect(preflight.headers.get("access-control-allow-origin")).toBe("https://client.test");
      expect(preflight.headers.get("access-control-allow-credentials")).toBe("true");

      const elsewhere = await t.request("GET", "/v1/me/oauth-accounts", { headers: { origin: "https://client.test" } });
      expect(elsewhere.headers.get("access-control-allow-credentials")).toBeNull();
    });
  });

  describe("unlinking", () => {
    it("refuses to unlink the last method", async () => {
      const signedIn = await signInAndExchange(t, providers, "google", newAccount());
      const token = signedIn.body.access_token;
      expect((await linkProvider(t, providers, token, "github", newAccount())).code).not.toBeNull();

      const first = await t.request("DELETE", "/v1/me/oauth-accounts/github", { token });
      expect(first.status).toBe(204);
      const last = await t.request("DELETE", "/v1/me/oauth-accounts/google", { token });
      expect(last.status).toBe(409);
      expect(last.body.code).toBe("last_login_method");

      const listed = await t.request("GET", "/v1/me/oauth-accounts", { token });
      expect(listed.body.accounts.map((entry: { provider: string }) => entry.provider)).toEqual(["google"]);
      const audit = await t.sql`
        SELECT metadata FROM audit_events WHERE target_user_id = ${signedIn.body.user.id} AND action = 'oauth.unlinked'`;
      expect(audit.map((row) => row.metadata)).toEqual([{ provider: "github" }]);
    });

    it("unlinks the only provider of a password account", async () => {
      const signedUp = await signUpAndVerify(t, "keeps-password@example.com");
      await linkProvider(t, providers, signedUp.access_token, "github", newAccount());
      const response = await t.request("DELETE", "/v1/me/oauth-accounts/github", { token: signedUp.access_token });
      expect(response.status).toBe(204);
      expect(await oauthRows(t, signedUp.user.id)).toEqual([]);
    });

    it("keeps one method under parallel unlinks", async () => {
      // A few rounds, because an unguarded race shows up only on some interleavings.
      for (let round = 0; round < 3; round++) {
        const signedIn = await signInAndExchange(t, providers, "google", newAccount());
        const token = signedIn.body.access_token;
        await linkProvider(t, providers, token, "github", newAccount());

        const responses = await Promise.all([
          t.request("DELETE", "/v1/me/oauth-accounts/google", { token }),
          t.request("DELETE", "/v1/me/oauth-accounts/github", { token }),
        ]);
        expect(responses.map((response) => response.status).sort()).toEqual([204, 409]);
        expect(await oauthRows(t, signedIn.body.user.id)).toHaveLength(1);
      }
    });

    it("answers 404 for a provider that is not linked", async () => {
      const signedIn = await signInAndExchange(t, providers, "google", newAccount());
      const response = await t.request("DELETE", "/v1/me/oauth-accounts/facebook", {
        token: signedIn.body.access_token,
      });
      expect(response.status).toBe(404);
      expect(response.body.code).toBe("not_found");
    });

    it("answers 404 for an unknown provider", async () => {
      const signedIn = await signInAndExchange(t, providers, "google", newAccount());
      const response = await t.request("DELETE", "/v1/me/oauth-accounts/orkut", { token: signedIn.body.access_token });
      expect(response.status).toBe(404);
      expect(response.body.code).toBe("not_found");
    });

    it("refuses a revoked session", async () => {
      const signedIn = await signInAndExchange(t, providers, "google", newAccount());
      await t.sql`UPDATE auth_sessions SET revoked_at = now() WHERE user_id = ${signedIn.body.user.id}`;
      const token = signedIn.body.access_token;
      expect((await t.request("GET", "/v1/me/oauth-accounts", { token })).status).toBe(401);
      expect((await t.request("DELETE", "/v1/me/oauth-accounts/google", { token })).status).toBe(401);
    });

    it("costs one round trip to list and one to unlink", async () => {
      const signedIn = await signInAndExchange(t, providers, "google", newAccount());
      const token = signedIn.body.access_token;
      await linkProvider(t, providers, token, "github", newAccount());

      expect(await t.countRoundTrips(() => t.request("GET", "/v1/me/oauth-accounts", { token }))).toBe(1);
      expect(await t.countRoundTrips(() => t.request("DELETE", "/v1/me/oauth-accounts/github", { token }))).toBe(1);
      const linkTrips = await t.countRoundTrips(() =>
        t.request("POST", "/v1/me/oauth/github/link", { token, body: { redirect_to: CLIENT_REDIRECT } }),
      );
      expect(linkTrips).toBe(0);
    });
  });
});

describe("provider token storage", () => {
  it("stores no provider tokens by default", async () => {
    const t = await createTestApp();
    const providers = new FakeOAuthProviders(t.clock);
    const uninstall = await providers.install();
    try {
      const exchanged = await signInAndExchange(t, providers, "google", newAccount());
      const [row] = await oauthRows(t, exchanged.body.user.id);
      expect(row?.access_token_encrypted).toBeNull();
      expect(row?.refresh_token_encrypted).toBeNull();
      expect(row?.token_expires_at).toBeNull();
    } finally {
      uninstall();
    }
  });

  it("encrypts provider tokens when enabled", async () => {
    const t = await createTestApp({ bindings: { OAUTH_STORE_PROVIDER_TOKENS: "true" } });
    const providers = new FakeOAuthProviders(t.clock);
    const uninstall = await providers.install();
    try {
      const exchanged = await signInAndExchange(t, providers, "google", newAccount());
      const userId = exchanged.body.user.id;
      const [row] = await oauthRows(t, userId);
      const access = String(row?.access_token_encrypted);
      const refresh = String(row?.refresh_token_encrypted);
      expect(access).toMatch(/^v1\.test-1\./);
      expect(refresh).toMatch(/^v1\.test-1\./);
      expect(access).not.toContain("access-");

      const keyring = parseEncryptionKeyring(String((t.bindings as Record<string, unknown>).ENCRYPTION_KEYS));
      if (!keyring.ok) throw new Error(keyring.message);
      const decrypted = await decryptSecret(access, keyring.keyring, `oauth_accounts:${userId}:google`);
      expect(decrypted.ok).toBe(true);
      expect(decrypted.ok ? decrypted.plaintext : "").toMatch(/^access-/);
      const elsewhere = await decryptSecret(access, keyring.keyring, `oauth_accounts:${userId}:github`);
      expect(elsewhere.ok).toBe(false);
      expect(row?.token_expires_at).not.toBeNull();

      const { location } = await signInThroughProvider(t, providers, "google", newAccount());
      expect(location.toString()).not.toContain("access-");
    } finally {
      uninstall();
    }
  });
});
