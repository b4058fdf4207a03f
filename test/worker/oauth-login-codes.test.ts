// The one-time login code that an OAuth callback hands to the client: where each kind of callback
// stores it, and how the exchange behaves under database failures, parallel use and expiry.
//
// Every request goes through a database endpoint that a test can make fail. While no fault is
// armed, it forwards each request to the local endpoint unchanged.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/crypto/hashing";
import { createAccount } from "./helpers/accounts";
import { createTestApp, type TestApp, type TestResponse } from "./helpers/app";
import { type DatabaseFaultKind, FaultyDatabaseEndpoint } from "./helpers/faults";
import {
  bindingCookieFrom,
  CLIENT_REDIRECT,
  callCallback,
  FakeOAuthProviders,
  type FakeAccount,
  type ProviderName,
  readCallbackRedirect,
  signInAndExchange,
  signInThroughProvider,
  startFlow,
  fakeAccountSeries,
} from "./helpers/oauth-providers";

const PASSWORD = "correct horse battery staple";
const PARALLEL_EXCHANGES = 10;

const newAccount = fakeAccountSeries(300_000, "holder");

describe("OAuth login codes", () => {
  const endpoint = new FaultyDatabaseEndpoint();
  const removals: (() => void)[] = [];
  let t: TestApp;
  let providers: FakeOAuthProviders;

  beforeAll(async () => {
    removals.push(endpoint.install());
    t = await createTestApp({ bindings: { NEON_FETCH_ENDPOINT: endpoint.url } });
    providers = new FakeOAuthProviders(t.clock);
    removals.push(await providers.install());
  });
  afterAll(() => {
    for (const remove of removals) remove();
  });

  function exchange(code: string): Promise<TestResponse> {
    return t.request("POST", "/v1/auth/oauth/exchange", { body: { code } });
  }

  /** Sign in through the provider and return the login code. Throws when the callback reports an error. */
  async function issueCode(provider: ProviderName, account: FakeAccount): Promise<string> {
    const { code, error } = await signInThroughProvider(t, providers, provider, account);
    if (code === null) throw new Error(`The callback redirected with error=${error}`);
    return code;
  }

  async function storedCode(code: string) {
    const rows = await t.sql`
      SELECT user_id, provider, created_at, expires_at FROM oauth_login_codes WHERE code_hash = ${await sha256Hex(code)}`;
    return rows[0];
  }

  async function countLoginCodes(): Promise<number> {
    const rows = await t.sql`SELECT count(*)::int AS count FROM oauth_login_codes`;
    return Number(rows[0]?.count);
  }

  async function countSessions(userId: string): Promise<number> {
    const rows = await t.sql`SELECT count(*)::int AS count FROM auth_sessions WHERE user_id = ${userId}`;
    return Number(rows[0]?.count);
  }

  async function countSignInEvents(userId: string): Promise<number> {
    const rows = await t.sql`
      SELECT count(*)::int AS count FROM audit_events WHERE target_user_id = ${userId} AND action = 'login.succeeded'`;
    return Number(rows[0]?.count);
  }

  async function userIdOf(provider: ProviderName, account: FakeAccount): Promise<string> {
    const rows = await t.sql`
      SELECT user_id FROM oauth_accounts WHERE provider = ${provider} AND provider_user_id = ${account.id}`;
    return String(rows[0]?.user_id);
  }

  describe("storage", () => {
    it("stores the code's SHA-256 in Postgres", async () => {
      const account = newAccount();
      const code = await issueCode("facebook", account);

      const row = await storedCode(code);
      expect(row?.user_id).toBe(await userIdOf("facebook", account));
      expect(row?.provider).toBe("facebook");
      expect(new Date(row?.created_at).toISOString()).toBe(t.clock.now().toISOString());
      expect(new Date(row?.expires_at).getTime() - t.clock.now().getTime()).toBe(60_000);
      const everything = await t.sql`SELECT * FROM oauth_login_codes`;
      expect(JSON.stringify(everything)).not.toContain(code);
    });

    it("keeps no login code in KV", async () => {
      await issueCode("google", newAccount());
      const listed = await t.bindings.OTP_KV.list({ prefix: "oauth-login-code:" });
      expect(listed.keys).toEqual([]);
    });

    it("stores no code for a refused callback", async () => {
      const suspended = newAccount();
      await signInAndExchange(t, providers, "github", suspended);
      await t.sql`UPDATE users SET status = 'suspended' WHERE id = ${await userIdOf("github", suspended)}`;
      const owner = await signInAndExchange(t, providers, "google", newAccount());
      const someoneElse = newAccount();
      await issueCode("github", someoneElse);
      const before = await countLoginCodes();

      expect((await signInThroughProvider(t, providers, "github", suspended)).error).toBe("account_suspended");
      const started = await t.request("POST", "/v1/me/oauth/github/link", {
        token: owner.body.access_token,
        body: { redirect_to: CLIENT_REDIRECT },
      });
      const query = providers.approve(started.body.authorization_url, someoneElse);
      const linked = readCallbackRedirect(await callCallback(t, "github", query, bindingCookieFrom(started)));
      expect(linked.error).toBe("already_linked");

      expect(await countLoginCodes()).toBe(before);
    });
  });

  describe("callback outcomes", () => {
    // Each outcome stores the code in the statement or batch it already makes. A returning account
    // whose provider details are unchanged only reads, and every other outcome reads and writes once.
    const outcomes: {
      name: string;
      roundTrips: number;
      prepare: () => Promise<{ run: () => Promise<TestResponse>; userId: () => Promise<string> }>;
    }[] = [
      {
        name: "a new account",
        roundTrips: 2,
        prepare: async () => {
          const account = newAccount();
          return signInLater("google", account, () => userIdOf("google", account));
        },
      },
      {
        name: "a returning account",
        roundTrips: 1,
        prepare: async () => {
          const account = newAccount();
          const first = await signInAndExchange(t, providers, "github", account);
          return signInLater("github", account, async () => first.body.user.id);
        },
      },
      {
        name: "a returning account with a new provider email",
        roundTrips: 2,
        prepare: async () => {
          const account = newAccount();
          const first = await signInAndExchange(t, providers, "github", account);
          const changed = { ...account, email: `changed-${account.email}` };
          return signInLater("github", changed, async () => first.body.user.id);
        },
      },
      {
        name: "a link to an account with the same verified email",
        roundTrips: 2,
        prepare: async () => {
          const email = `password-${newAccount().email}`;
          const owner = await createAccount(t, { email, password: PASSWORD });
          return signInLater("google", newAccount({ email }), async () => owner.userId);
        },
      },
      {
        name: "a takeover of a pending account",
        roundTrips: 2,
        prepare: async () => {
          const email = `pending-${newAccount().email}`;
          const signUp = await t.request("POST", "/v1/auth/signup", { body: { email, password: PASSWORD } });
          expect(signUp.status).toBe(202);
          const [pending] = await t.sql`SELECT id FROM users WHERE email = ${email}`;
          return signInLater("google", newAccount({ email }), async () => String(pending?.id));
        },
      },
      {
        name: "a link request",
        roundTrips: 2,
        prepare: async () => {
          const owner = await signInAndExchange(t, providers, "google", newAccount());
          return linkLater(owner.body.access_token, "github", newAccount(), owner.body.user.id);
        },
      },
      {
        name: "a link request for a provider already linked to the caller",
        roundTrips: 1,
        prepare: async () => {
          const account = newAccount();
          const owner = await signInAndExchange(t, providers, "facebook", account);
          return linkLater(owner.body.access_token, "facebook", account, owner.body.user.id);
        },
      },
    ];

    /** Start a sign-in now and return the callback to run later, so only the callback is measured. */
    async function signInLater(provider: ProviderName, account: FakeAccount, userId: () => Promise<string>) {
      const flow = await startFlow(t, provider);
      const query = providers.approve(flow.authorizationUrl, account);
      return { run: () => callCallback(t, provider, query, flow.cookie), userId };
    }

    async function linkLater(accessToken: string, provider: ProviderName, account: FakeAccount, userId: string) {
      const started = await t.request("POST", `/v1/me/oauth/${provider}/link`, {
        token: accessToken,
        body: { redirect_to: CLIENT_REDIRECT },
      });
      expect(started.status).toBe(200);
      const query = providers.approve(started.body.authorization_url, account);
      const cookie = bindingCookieFrom(started);
      return { run: () => callCallback(t, provider, query, cookie), userId: async () => userId };
    }

    for (const outcome of outcomes) {
      it(`signs in ${outcome.name}`, async () => {
        const prepared = await outcome.prepare();

        let callback: TestResponse | undefined;
        const callbackTrips = await t.countRoundTrips(async () => {
          callback = await prepared.run();
        });
        const { code, error } = readCallbackRedirect(callback as TestResponse);
        expect(error).toBeNull();
        expect(callbackTrips).toBe(outcome.roundTrips);

        let exchanged: TestResponse | undefined;
        const exchangeTrips = await t.countRoundTrips(async () => {
          exchanged = await exchange(code ?? "");
        });
        expect(exchanged?.status).toBe(200);
        expect(exchanged?.body.user.id).toBe(await prepared.userId());
        expect(exchangeTrips).toBe(1);
      });
    }
  });

  describe("exchange after a database failure", () => {
    const faults: DatabaseFaultKind[] = ["refused", "http_500"];

    /**
     * Fail the exchange's `position`-th round trip (1 = its first) and check that the code still
     * works. Returns false when the exchange finished before reaching that round trip.
     */
    async function breakExchangeAt(kind: DatabaseFaultKind, position: number): Promise<boolean> {
      const account = newAccount();
      const code = await issueCode("google", account);
      const userId = await userIdOf("google", account);

      endpoint.arm(kind, position);
      const failed = await exchange(code).finally(() => endpoint.clear());
      if (endpoint.faultedRequests === 0) {
        expect(failed.status).toBe(200);
        return false;
      }
      expect(failed.status).toBe(503);
      expect(failed.body.code).toBe("service_unavailable");
      expect(await storedCode(code)).toBeDefined();
      expect(await countSessions(userId)).toBe(0);

      const retried = await exchange(code);
      expect(retried.status).toBe(200);
      expect(retried.body.user.id).toBe(userId);
      expect(await countSessions(userId)).toBe(1);

      const replayed = await exchange(code);
      expect(replayed.status).toBe(400);
      expect(replayed.body.code).toBe("invalid_token");
      return true;
    }

    for (const kind of faults) {
      it(`keeps the code when the database is ${kind === "refused" ? "unreachable" : "failing"}`, async () => {
        let position = 1;
        while (await breakExchangeAt(kind, position)) position += 1;
        expect(position, "the round trip at which the exchange had already finished").toBe(2);
      });
    }
  });

  describe("parallel exchanges", () => {
    // A few rounds, because a race without a guard fails only on some interleavings.
    for (let round = 1; round <= 3; round++) {
      it(`opens one session for ${PARALLEL_EXCHANGES} exchanges (round ${round})`, async () => {
        const account = newAccount();
        const code = await issueCode("github", account);
        const userId = await userIdOf("github", account);

        const responses = await Promise.all(Array.from({ length: PARALLEL_EXCHANGES }, () => exchange(code)));

        const succeeded = responses.filter((response) => response.status === 200);
        const rejected = responses.filter((response) => response.status === 400);
        expect(succeeded).toHaveLength(1);
        expect(rejected).toHaveLength(PARALLEL_EXCHANGES - 1);
        for (const response of rejected) expect(response.body.code).toBe("invalid_token");
        expect(await countSessions(userId)).toBe(1);
        expect(await countSignInEvents(userId)).toBe(1);
        expect(await storedCode(code)).toBeUndefined();
      });
    }
  });

  describe("expiry and account status", () => {
    it("rejects a code at exactly 60 seconds", async () => {
      const account = newAccount();
      const code = await issueCode("google", account);
      t.clock.advanceSeconds(60);

      const response = await exchange(code);
      expect(response.status).toBe(400);
      expect(response.body.code).toBe("invalid_token");
      expect(await countSessions(await userIdOf("google", account))).toBe(0);
    });

    it("rejects a code of a deleted account", async () => {
      const account = newAccount();
      const code = await issueCode("facebook", account);
      const userId = await userIdOf("facebook", account);
      await t.sql`UPDATE users SET status = 'deleted' WHERE id = ${userId}`;

      const response = await exchange(code);
      expect(response.status).toBe(400);
      expect(response.body.code).toBe("invalid_token");
      expect(await countSessions(userId)).toBe(0);
      expect(await countSignInEvents(userId)).toBe(0);
    });

    it("deletes codes with the account", async () => {
      const account = newAccount();
      const signedIn = await signInAndExchange(t, providers, "github", account);
      const unused = await issueCode("github", account);

      const deleted = await t.request("DELETE", "/v1/me", { token: signedIn.body.access_token });
      expect(deleted.status).toBe(204);
      expect(await storedCode(unused)).toBeUndefined();
      const response = await exchange(unused);
      expect(response.status).toBe(400);
      expect(response.body.code).toBe("invalid_token");
    });
  });
});
