// One case per operation of the API contract: how to reach a representative success (or a named
// refusal) and how many database round trips it may cost. The benchmarks count round trips with
// it, and the fault tests break the database under each case. A case whose path, or a path its
// setup needs, is missing from /openapi.json is reported as not implemented yet, so a feature is
// measured as soon as it lands.
import {
  type Account,
  type ApiClient,
  type ApiRequestOptions,
  type ApiResponse,
  BENCH_PASSWORD,
  createAccountWithRole,
  createActiveAccount,
  expectStatus,
  latestCode,
  latestResetToken,
  SMALL_PNG,
  sessionIdOf,
  signIn,
  uniqueEmail,
  uniqueMobileNumber,
} from "./api-client";

export interface PreparedRequest {
  path: string;
  options?: ApiRequestOptions;
}

export interface EndpointCase {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** The path as the contract and the OpenAPI document spell it. */
  path: string;
  /** Names the case when an operation has more than one. */
  variant?: string;
  expectedStatus: number[];
  /** The most round trips this case should cost, where a target is set. */
  maxRoundTrips?: number;
  /** Further operations ("POST /v1/auth/login") the setup calls; sign-up and email verification are always used. */
  requires?: string[];
  /** Whether the request changes data; read-only cases are skipped where only writes matter. */
  writes: boolean;
  /** Needs `ApiClient.approveAuthorization`, so it runs only where a provider can be played. */
  needsOAuthProvider?: boolean;
  /**
   * False when a failed attempt uses up what the request carries (an OAuth state), so recovery is
   * shown by preparing the request again instead of resending it.
   */
  retryable?: boolean;
  /** A stricter success check than the status, for redirects that also report failures. */
  succeeded?(response: ApiResponse): boolean;
  /** Another way than a 503 problem document in which the case may report an unavailable dependency. */
  reportsUnavailable?(response: ApiResponse): boolean;
  /** Build the state the request needs and return the request to measure. */
  prepare(api: ApiClient): Promise<PreparedRequest>;
}

const LOGIN = "/v1/auth/login";
const PROFILE = "/v1/me/profile";
const KYC = "/v1/me/kyc";
const KYC_SUBMIT = "/v1/me/kyc/submit";
const KYC_DOCUMENT = "/v1/me/kyc/documents/{kind}";

// Operations that case setups call.
const LOGIN_OPERATION = `POST ${LOGIN}`;
const PROFILE_OPERATION = `PUT ${PROFILE}`;
const KYC_OPERATION = `PUT ${KYC}`;
const UPLOAD_OPERATION = `PUT ${KYC_DOCUMENT}`;
const SUBMIT_OPERATION = `POST ${KYC_SUBMIT}`;
const KYC_SETUP = [LOGIN_OPERATION, PROFILE_OPERATION, KYC_OPERATION, UPLOAD_OPERATION, SUBMIT_OPERATION];

const VALID_PROFILE = { full_name: "Asha Rao", country_code: "IND", company_name: "Rao Exports" };
const VALID_KYC = {
  government_id_type: "pan",
  government_id_number: "ABCPE1234F",
  authorized_person_name: "Asha Rao",
  trader_type: "exporter",
};

function bearer(account: Account, extra: ApiRequestOptions = {}): ApiRequestOptions {
  return { ...extra, token: account.accessToken };
}

async function withProfile(api: ApiClient): Promise<Account> {
  const account = await createActiveAccount(api, "profile");
  expectStatus(await api.request("PUT", PROFILE, bearer(account, { body: VALID_PROFILE })), 200, "profile");
  return account;
}

async function uploadDocument(api: ApiClient, account: Account, kind: string): Promise<void> {
  const uploaded = await api.request(
    "PUT",
    `/v1/me/kyc/documents/${kind}`,
    bearer(account, { rawBody: SMALL_PNG, headers: { "content-type": "image/png" } }),
  );
  expectStatus(uploaded, 200, `upload of ${kind}`);
}

/** An account whose KYC is filled in, documents uploaded, and submitted for review. */
async function withSubmittedKyc(api: ApiClient): Promise<Account> {
  const account = await withProfile(api);
  expectStatus(await api.request("PUT", KYC, bearer(account, { body: VALID_KYC })), 200, "KYC details");
  await uploadDocument(api, account, "government_id");
  await uploadDocument(api, account, "business_cert");
  expectStatus(await api.request("POST", KYC_SUBMIT, bearer(account)), 200, "KYC submission");
  return account;
}

/** Start a Google sign-in and return the provider URL and the browser-binding cookie it set. */
async function startOAuthSignIn(api: ApiClient): Promise<{ authorizationUrl: string; cookie: string }> {
  const redirectTo = encodeURIComponent(`${api.redirectOrigin}/signed-in`);
  const start = await api.request("GET", `/v1/auth/oauth/google/start?redirect_to=${redirectTo}`);
  expectStatus(start, 302, "OAuth start");
  const cookie = start.headers
    .getSetCookie()
    .map((value) => value.split(";")[0])
    .join("; ");
  return { authorizationUrl: start.headers.get("location") ?? "", cookie };
}

/** The callback request of a Google sign-in that the provider has approved for a new address. */
async function approvedCallback(api: ApiClient): Promise<PreparedRequest> {
  if (api.approveAuthorization === undefined) throw new Error("No OAuth provider can be played here.");
  const flow = await startOAuthSignIn(api);
  const query = await api.approveAuthorization(flow.authorizationUrl, uniqueEmail("oauth"));
  return { path: `/v1/auth/oauth/google/callback?${query}`, options: { headers: { cookie: flow.cookie } } };
}

function redirectQuery(response: ApiResponse): URLSearchParams | undefined {
  if (response.status !== 302) return undefined;
  return new URL(response.headers.get("location") ?? "", "http://invalid").searchParams;
}

function redirectsWithCode(response: ApiResponse): boolean {
  return redirectQuery(response)?.has("code") ?? false;
}

export const ENDPOINT_CASES: EndpointCase[] = [
  // --- Operations and discovery
  {
    method: "GET",
    path: "/health",
    expectedStatus: [200],
    maxRoundTrips: 0,
    writes: false,
    prepare: async () => ({ path: "/health" }),
  },
  {
    method: "GET",
    path: "/health/ready",
    expectedStatus: [200],
    maxRoundTrips: 1,
    writes: false,
    prepare: async () => ({ path: "/health/ready" }),
  },
  {
    method: "GET",
    path: "/.well-known/jwks.json",
    expectedStatus: [200],
    maxRoundTrips: 0,
    writes: false,
    prepare: async () => ({ path: "/.well-known/jwks.json" }),
  },
  {
    method: "GET",
    path: "/v1/countries",
    expectedStatus: [200],
    maxRoundTrips: 1,
    writes: false,
    prepare: async () => ({ path: "/v1/countries" }),
  },

  // --- Bearer-only checks: decided from the access token alone
  {
    method: "GET",
    path: "/v1/me",
    variant: "invalid access token",
    expectedStatus: [401],
    maxRoundTrips: 0,
    writes: false,
    prepare: async () => ({ path: "/v1/me", options: { token: "eyJhbGciOiJFUzI1NiJ9.e30.AAAA" } }),
  },
  {
    method: "GET",
    path: "/v1/admin/users",
    variant: "user token on an admin route",
    expectedStatus: [403],
    maxRoundTrips: 0,
    writes: false,
    prepare: async (api) => ({ path: "/v1/admin/users", options: bearer(await createActiveAccount(api)) }),
  },

  // --- Sign-up, verification and sign-in
  {
    method: "POST",
    path: "/v1/auth/signup",
    expectedStatus: [202],
    maxRoundTrips: 2,
    writes: true,
    prepare: async () => ({
      path: "/v1/auth/signup",
      options: { body: { email: uniqueEmail("signup"), password: BENCH_PASSWORD } },
    }),
  },
  {
    method: "POST",
    path: "/v1/auth/email/verify",
    expectedStatus: [200],
    maxRoundTrips: 2,
    writes: true,
    async prepare(api) {
      const email = uniqueEmail("verify");
      expectStatus(
        await api.request("POST", "/v1/auth/signup", { body: { email, password: BENCH_PASSWORD } }),
        202,
        "sign-up",
      );
      return { path: "/v1/auth/email/verify", options: { body: { email, code: await latestCode(api, email) } } };
    },
  },
  {
    method: "POST",
    path: "/v1/auth/email/resend",
    expectedStatus: [202],
    writes: true,
    async prepare(api) {
      const email = uniqueEmail("resend");
      expectStatus(
        await api.request("POST", "/v1/auth/signup", { body: { email, password: BENCH_PASSWORD } }),
        202,
        "sign-up",
      );
      return { path: "/v1/auth/email/resend", options: { body: { email } } };
    },
  },
  {
    method: "POST",
    path: LOGIN,
    expectedStatus: [200],
    maxRoundTrips: 2,
    writes: true,
    async prepare(api) {
      const account = await createActiveAccount(api, "login");
      return { path: LOGIN, options: { body: { identifier: account.email, password: account.password } } };
    },
  },
  {
    method: "POST",
    path: LOGIN,
    variant: "wrong password",
    expectedStatus: [401],
    maxRoundTrips: 2,
    writes: true,
    async prepare(api) {
      const account = await createActiveAccount(api, "login-wrong");
      return { path: LOGIN, options: { body: { identifier: account.email, password: `${account.password}!` } } };
    },
  },
  {
    method: "POST",
    path: LOGIN,
    variant: "unknown identifier",
    expectedStatus: [401],
    maxRoundTrips: 2,
    writes: true,
    prepare: async () => ({
      path: LOGIN,
      options: { body: { identifier: uniqueEmail("nobody"), password: BENCH_PASSWORD } },
    }),
  },
  {
    method: "POST",
    path: "/v1/auth/otp/request",
    expectedStatus: [202],
    writes: true,
    prepare: async () => ({
      path: "/v1/auth/otp/request",
      options: { body: { channel: "email", destination: uniqueEmail("otp-request") } },
    }),
  },
  {
    method: "POST",
    path: "/v1/auth/otp/request",
    variant: "by SMS",
    expectedStatus: [202],
    writes: true,
    prepare: async () => ({
      path: "/v1/auth/otp/request",
      options: { body: { channel: "sms", destination: uniqueMobileNumber() } },
    }),
  },
  {
    method: "POST",
    path: "/v1/auth/otp/verify",
    expectedStatus: [200],
    maxRoundTrips: 2,
    requires: ["POST /v1/auth/otp/request"],
    writes: true,
    async prepare(api) {
      const account = await createActiveAccount(api, "otp");
      const body = { channel: "email", destination: account.email };
      expectStatus(await api.request("POST", "/v1/auth/otp/request", { body }), 202, "code request");
      return {
        path: "/v1/auth/otp/verify",
        options: { body: { ...body, code: await latestCode(api, account.email) } },
      };
    },
  },
  {
    method: "POST",
    path: "/v1/auth/token/refresh",
    expectedStatus: [200],
    maxRoundTrips: 1,
    writes: true,
    async prepare(api) {
      const account = await createActiveAccount(api, "refresh");
      return { path: "/v1/auth/token/refresh", options: { body: { refresh_token: account.refreshToken } } };
    },
  },
  {
    method: "POST",
    path: "/v1/auth/logout",
    expectedStatus: [204],
    maxRoundTrips: 1,
    writes: true,
    prepare: async (api) => ({ path: "/v1/auth/logout", options: bearer(await createActiveAccount(api, "logout")) }),
  },
  {
    method: "POST",
    path: "/v1/auth/logout",
    variant: "by refresh token",
    expectedStatus: [204],
    maxRoundTrips: 1,
    writes: true,
    async prepare(api) {
      const account = await createActiveAccount(api, "logout-refresh");
      return { path: "/v1/auth/logout", options: { body: { refresh_token: account.refreshToken } } };
    },
  },
  {
    method: "POST",
    path: "/v1/auth/logout-all",
    expectedStatus: [204],
    maxRoundTrips: 1,
    writes: true,
    prepare: async (api) => ({
      path: "/v1/auth/logout-all",
      options: bearer(await createActiveAccount(api, "logout-all")),
    }),
  },
  {
    method: "GET",
    path: "/v1/auth/sessions",
    expectedStatus: [200],
    maxRoundTrips: 1,
    writes: false,
    prepare: async (api) => ({
      path: "/v1/auth/sessions",
      options: bearer(await createActiveAccount(api, "sessions")),
    }),
  },
  {
    method: "DELETE",
    path: "/v1/auth/sessions/{id}",
    expectedStatus: [204],
    maxRoundTrips: 1,
    requires: [LOGIN_OPERATION],
    writes: true,
    async prepare(api) {
      const account = await createActiveAccount(api, "session-delete");
      const other = await signIn(api, account);
      return { path: `/v1/auth/sessions/${sessionIdOf(other.accessToken)}`, options: bearer(account) };
    },
  },
  {
    method: "POST",
    path: "/v1/auth/password/forgot",
    expectedStatus: [202],
    writes: true,
    async prepare(api) {
      const account = await createActiveAccount(api, "forgot");
      return { path: "/v1/auth/password/forgot", options: { body: { email: account.email } } };
    },
  },
  {
    method: "POST",
    path: "/v1/auth/password/reset",
    expectedStatus: [204],
    maxRoundTrips: 2,
    requires: ["POST /v1/auth/password/forgot"],
    writes: true,
    async prepare(api) {
      const account = await createActiveAccount(api, "reset");
      const forgot = await api.request("POST", "/v1/auth/password/forgot", { body: { email: account.email } });
      expectStatus(forgot, 202, "forgot password");
      const token = await latestResetToken(api, account.email);
      return {
        path: "/v1/auth/password/reset",
        options: { body: { token, password: "a brand new passphrase 7" } },
      };
    },
  },

  // --- OAuth
  {
    method: "GET",
    path: "/v1/auth/oauth/{provider}/start",
    expectedStatus: [302],
    writes: false,
    prepare: async (api) => ({
      path: `/v1/auth/oauth/google/start?redirect_to=${encodeURIComponent(`${api.redirectOrigin}/signed-in`)}`,
    }),
  },
  {
    method: "GET",
    path: "/v1/auth/oauth/{provider}/callback",
    expectedStatus: [302],
    requires: ["GET /v1/auth/oauth/{provider}/start"],
    writes: true,
    needsOAuthProvider: true,
    retryable: false,
    succeeded: redirectsWithCode,
    // Once the state is read, the browser is sent back to the client, which learns of an outage
    // there. Before that there is no trusted redirect target, so the callback returns a 503.
    reportsUnavailable: (response) => redirectQuery(response)?.get("error") === "temporarily_unavailable",
    prepare: approvedCallback,
  },
  {
    method: "POST",
    path: "/v1/auth/oauth/exchange",
    expectedStatus: [200],
    maxRoundTrips: 1,
    requires: ["GET /v1/auth/oauth/{provider}/start", "GET /v1/auth/oauth/{provider}/callback"],
    writes: true,
    needsOAuthProvider: true,
    async prepare(api) {
      const callback = await approvedCallback(api);
      const response = await api.request("GET", callback.path, callback.options);
      if (!redirectsWithCode(response)) throw new Error(`OAuth callback failed: ${response.headers.get("location")}`);
      const code = new URL(response.headers.get("location") ?? "").searchParams.get("code");
      return { path: "/v1/auth/oauth/exchange", options: { body: { code } } };
    },
  },
  {
    method: "POST",
    path: "/v1/me/oauth/{provider}/link",
    expectedStatus: [200],
    writes: false,
    async prepare(api) {
      const account = await createActiveAccount(api, "link");
      return {
        path: "/v1/me/oauth/google/link",
        options: bearer(account, { body: { redirect_to: `${api.redirectOrigin}/linked` } }),
      };
    },
  },
  {
    method: "GET",
    path: "/v1/me/oauth-accounts",
    expectedStatus: [200],
    maxRoundTrips: 1,
    writes: false,
    prepare: async (api) => ({
      path: "/v1/me/oauth-accounts",
      options: bearer(await createActiveAccount(api, "oauth-list")),
    }),
  },
  {
    method: "DELETE",
    path: "/v1/me/oauth-accounts/{provider}",
    variant: "provider not linked",
    expectedStatus: [404],
    writes: true,
    prepare: async (api) => ({
      path: "/v1/me/oauth-accounts/github",
      options: bearer(await createActiveAccount(api, "oauth-unlink")),
    }),
  },

  // --- The signed-in user
  {
    method: "GET",
    path: "/v1/me",
    expectedStatus: [200],
    maxRoundTrips: 1,
    writes: false,
    prepare: async (api) => ({ path: "/v1/me", options: bearer(await createActiveAccount(api, "me")) }),
  },
  {
    method: "PATCH",
    path: "/v1/me",
    expectedStatus: [200],
    maxRoundTrips: 1,
    writes: true,
    async prepare(api) {
      const username = `u_${crypto.randomUUID().slice(0, 12)}`;
      return { path: "/v1/me", options: bearer(await createActiveAccount(api, "rename"), { body: { username } }) };
    },
  },
  {
    method: "POST",
    path: "/v1/me/password",
    expectedStatus: [204],
    maxRoundTrips: 2,
    writes: true,
    async prepare(api) {
      const account = await createActiveAccount(api, "password");
      const body = { current_password: account.password, new_password: "another long passphrase 9" };
      return { path: "/v1/me/password", options: bearer(account, { body }) };
    },
  },
  {
    method: "POST",
    path: "/v1/me/email",
    expectedStatus: [202],
    writes: true,
    async prepare(api) {
      const account = await createActiveAccount(api, "email-change");
      return { path: "/v1/me/email", options: bearer(account, { body: { email: uniqueEmail("new-address") } }) };
    },
  },
  {
    method: "POST",
    path: "/v1/me/email/verify",
    expectedStatus: [200],
    maxRoundTrips: 2,
    requires: ["POST /v1/me/email"],
    writes: true,
    async prepare(api) {
      const account = await createActiveAccount(api, "email-verify");
      const email = uniqueEmail("new-address");
      expectStatus(
        await api.request("POST", "/v1/me/email", bearer(account, { body: { email } })),
        202,
        "email change",
      );
      return {
        path: "/v1/me/email/verify",
        options: bearer(account, { body: { code: await latestCode(api, email) } }),
      };
    },
  },
  {
    method: "POST",
    path: "/v1/me/mobile",
    expectedStatus: [202],
    writes: true,
    async prepare(api) {
      const account = await createActiveAccount(api, "mobile");
      return { path: "/v1/me/mobile", options: bearer(account, { body: { mobile_number: uniqueMobileNumber() } }) };
    },
  },
  {
    method: "POST",
    path: "/v1/me/mobile/verify",
    expectedStatus: [200],
    maxRoundTrips: 2,
    requires: ["POST /v1/me/mobile"],
    writes: true,
    async prepare(api) {
      const account = await createActiveAccount(api, "mobile-verify");
      const mobileNumber = uniqueMobileNumber();
      const sent = await api.request(
        "POST",
        "/v1/me/mobile",
        bearer(account, { body: { mobile_number: mobileNumber } }),
      );
      expectStatus(sent, 202, "mobile change");
      const code = await latestCode(api, mobileNumber);
      return { path: "/v1/me/mobile/verify", options: bearer(account, { body: { code } }) };
    },
  },
  {
    method: "DELETE",
    path: "/v1/me",
    expectedStatus: [204],
    writes: true,
    async prepare(api) {
      const account = await createActiveAccount(api, "delete");
      return { path: "/v1/me", options: bearer(account, { body: { password: account.password } }) };
    },
  },

  // --- Profile
  {
    method: "GET",
    path: PROFILE,
    expectedStatus: [200],
    maxRoundTrips: 1,
    requires: [PROFILE_OPERATION],
    writes: false,
    prepare: async (api) => ({ path: PROFILE, options: bearer(await withProfile(api)) }),
  },
  {
    method: "PUT",
    path: PROFILE,
    expectedStatus: [200],
    maxRoundTrips: 1,
    writes: true,
    prepare: async (api) => ({
      path: PROFILE,
      options: bearer(await createActiveAccount(api, "profile-put"), { body: VALID_PROFILE }),
    }),
  },

  // --- KYC
  {
    method: "GET",
    path: KYC,
    expectedStatus: [200],
    maxRoundTrips: 1,
    requires: [PROFILE_OPERATION, KYC_OPERATION],
    writes: false,
    async prepare(api) {
      const account = await withProfile(api);
      expectStatus(await api.request("PUT", KYC, bearer(account, { body: VALID_KYC })), 200, "KYC details");
      return { path: KYC, options: bearer(account) };
    },
  },
  {
    method: "PUT",
    path: KYC,
    expectedStatus: [200],
    maxRoundTrips: 1,
    requires: [PROFILE_OPERATION],
    writes: true,
    prepare: async (api) => ({ path: KYC, options: bearer(await withProfile(api), { body: VALID_KYC }) }),
  },
  {
    method: "PUT",
    path: KYC_DOCUMENT,
    expectedStatus: [200],
    requires: [PROFILE_OPERATION, KYC_OPERATION],
    writes: true,
    async prepare(api) {
      const account = await withProfile(api);
      expectStatus(await api.request("PUT", KYC, bearer(account, { body: VALID_KYC })), 200, "KYC details");
      return {
        path: "/v1/me/kyc/documents/government_id",
        options: bearer(account, { rawBody: SMALL_PNG, headers: { "content-type": "image/png" } }),
      };
    },
  },
  {
    method: "GET",
    path: KYC_DOCUMENT,
    expectedStatus: [200],
    maxRoundTrips: 1,
    requires: [PROFILE_OPERATION, KYC_OPERATION, UPLOAD_OPERATION],
    writes: false,
    async prepare(api) {
      const account = await withProfile(api);
      expectStatus(await api.request("PUT", KYC, bearer(account, { body: VALID_KYC })), 200, "KYC details");
      await uploadDocument(api, account, "government_id");
      return { path: "/v1/me/kyc/documents/government_id", options: bearer(account) };
    },
  },
  {
    method: "POST",
    path: KYC_SUBMIT,
    expectedStatus: [200],
    requires: [PROFILE_OPERATION, KYC_OPERATION, UPLOAD_OPERATION],
    writes: true,
    async prepare(api) {
      const account = await withProfile(api);
      expectStatus(await api.request("PUT", KYC, bearer(account, { body: VALID_KYC })), 200, "KYC details");
      await uploadDocument(api, account, "government_id");
      await uploadDocument(api, account, "business_cert");
      return { path: KYC_SUBMIT, options: bearer(account) };
    },
  },

  // --- Review and administration
  {
    method: "GET",
    path: "/v1/admin/kyc",
    expectedStatus: [200],
    maxRoundTrips: 1,
    requires: KYC_SETUP,
    writes: false,
    async prepare(api) {
      await withSubmittedKyc(api);
      const reviewer = await createAccountWithRole(api, "reviewer");
      return { path: "/v1/admin/kyc?status=pending&limit=50", options: bearer(reviewer) };
    },
  },
  ...(["GET /v1/admin/kyc/{user_id}", "GET /v1/admin/kyc/{user_id}/documents/{kind}"] as const).map(
    (operation): EndpointCase => ({
      method: "GET",
      path: operation.slice(4),
      expectedStatus: [200],
      requires: KYC_SETUP,
      writes: true,
      async prepare(api) {
        const applicant = await withSubmittedKyc(api);
        const reviewer = await createAccountWithRole(api, "reviewer");
        const path = operation.slice(4).replace("{user_id}", applicant.userId).replace("{kind}", "government_id");
        return { path, options: bearer(reviewer) };
      },
    }),
  ),
  ...(["approve", "reject"] as const).map(
    (action): EndpointCase => ({
      method: "POST",
      path: `/v1/admin/kyc/{user_id}/${action}`,
      expectedStatus: [200],
      requires: KYC_SETUP,
      writes: true,
      async prepare(api) {
        const applicant = await withSubmittedKyc(api);
        const reviewer = await createAccountWithRole(api, "reviewer");
        const body = action === "reject" ? { reason: "The certificate is unreadable." } : undefined;
        return { path: `/v1/admin/kyc/${applicant.userId}/${action}`, options: bearer(reviewer, { body }) };
      },
    }),
  ),
  {
    method: "GET",
    path: "/v1/admin/users",
    expectedStatus: [200],
    maxRoundTrips: 1,
    requires: [LOGIN_OPERATION],
    writes: false,
    prepare: async (api) => ({
      path: "/v1/admin/users?limit=20",
      options: bearer(await createAccountWithRole(api, "admin")),
    }),
  },
  {
    method: "POST",
    path: "/v1/admin/users/{id}/suspend",
    expectedStatus: [200],
    requires: [LOGIN_OPERATION],
    writes: true,
    async prepare(api) {
      const target = await createActiveAccount(api, "suspend");
      const admin = await createAccountWithRole(api, "admin");
      return {
        path: `/v1/admin/users/${target.userId}/suspend`,
        options: bearer(admin, { body: { reason: "Chargeback fraud under investigation." } }),
      };
    },
  },
  {
    method: "POST",
    path: "/v1/admin/users/{id}/reactivate",
    expectedStatus: [200],
    requires: [LOGIN_OPERATION, "POST /v1/admin/users/{id}/suspend"],
    writes: true,
    async prepare(api) {
      const target = await createActiveAccount(api, "reactivate");
      const admin = await createAccountWithRole(api, "admin");
      const suspended = await api.request(
        "POST",
        `/v1/admin/users/${target.userId}/suspend`,
        bearer(admin, { body: { reason: "Temporary hold." } }),
      );
      expectStatus(suspended, 200, "suspension");
      return { path: `/v1/admin/users/${target.userId}/reactivate`, options: bearer(admin) };
    },
  },
  {
    method: "PUT",
    path: "/v1/admin/users/{id}/role",
    expectedStatus: [200],
    requires: [LOGIN_OPERATION],
    writes: true,
    async prepare(api) {
      const target = await createActiveAccount(api, "promote");
      const admin = await createAccountWithRole(api, "admin");
      return { path: `/v1/admin/users/${target.userId}/role`, options: bearer(admin, { body: { role: "reviewer" } }) };
    },
  },
  {
    method: "GET",
    path: "/v1/admin/audit",
    expectedStatus: [200],
    maxRoundTrips: 1,
    requires: [LOGIN_OPERATION],
    writes: false,
    prepare: async (api) => ({
      path: "/v1/admin/audit?limit=50",
      options: bearer(await createAccountWithRole(api, "admin")),
    }),
  },
];

/** The label of a case in reports: method, path and variant. */
export function describeCase(endpointCase: EndpointCase): string {
  const variant = endpointCase.variant === undefined ? "" : ` (${endpointCase.variant})`;
  return `${endpointCase.method} ${endpointCase.path}${variant}`;
}

/** Operations the case needs that the OpenAPI document does not list, so the case cannot run yet. */
export function missingOperations(endpointCase: EndpointCase, documented: ReadonlySet<string>): string[] {
  const operations = [`${endpointCase.method} ${endpointCase.path}`, ...(endpointCase.requires ?? [])];
  return operations.filter((operation) => !documented.has(operation));
}

/** Why the case cannot run against `api` as it is, or undefined when it can. */
export function unsupportedReason(endpointCase: EndpointCase, api: ApiClient): string | undefined {
  if (endpointCase.needsOAuthProvider && api.approveAuthorization === undefined) {
    return "needs an OAuth provider that the client can play";
  }
  return undefined;
}

/** Whether a response is the case's success. */
export function isSuccess(endpointCase: EndpointCase, response: ApiResponse): boolean {
  if (!endpointCase.expectedStatus.includes(response.status)) return false;
  return endpointCase.succeeded === undefined || endpointCase.succeeded(response);
}

/** Every operation ("GET /v1/me") of the service's OpenAPI document. */
export async function documentedOperations(api: ApiClient): Promise<Set<string>> {
  const response = await api.request<{ paths: Record<string, Record<string, unknown>> }>("GET", "/openapi.json");
  expectStatus(response, 200, "OpenAPI document");
  const operations = new Set<string>();
  for (const [path, item] of Object.entries(response.body.paths)) {
    for (const method of Object.keys(item)) operations.add(`${method.toUpperCase()} ${path}`);
  }
  return operations;
}
