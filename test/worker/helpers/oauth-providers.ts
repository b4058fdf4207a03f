import { exportJWK, generateKeyPair, SignJWT } from "jose";
import * as oauth from "oauth4webapi";
import type { TestApp, TestResponse } from "./app";
import type { FrozenClock } from "./clock";
import { fakeHost } from "./network";

export type ProviderName = "google" | "github" | "facebook";

/** The person a fake provider signs in. */
export interface FakeAccount {
  /** Google `sub`, GitHub numeric id (as text), Facebook app-scoped id. */
  id: string;
  email: string | null;
  emailVerified: boolean;
}

/**
 * Make a function that returns a new provider account on each call, with ids counting up from
 * `firstId` and addresses `<emailPrefix><n>@example.com`, so test files never share an identity.
 */
export function fakeAccountSeries(
  firstId: number,
  emailPrefix: string,
): (overrides?: Partial<FakeAccount>) => FakeAccount {
  let count = 0;
  return (overrides = {}) => {
    count += 1;
    return {
      id: String(firstId + count),
      email: `${emailPrefix}${count}@example.com`,
      emailVerified: true,
      ...overrides,
    };
  };
}

/** Ways to make the next ID token wrong, for tests of its validation. */
export interface IdTokenOverrides {
  nonce?: string;
  audience?: string;
  issuer?: string;
  expiresInSeconds?: number;
  /** Sign with a key that is not in the published JWK set, under the same key id. */
  signWithUnpublishedKey?: boolean;
}

export interface RecordedTokenRequest {
  provider: ProviderName;
  url: string;
  headers: Headers;
  form: URLSearchParams;
}

interface IssuedCode {
  provider: ProviderName;
  account: FakeAccount;
  clientId: string;
  redirectUri: string;
  codeChallenge: string | null;
  nonce: string | null;
  idTokenOverrides: IdTokenOverrides;
}

export const CLIENTS: Record<ProviderName, { id: string; secret: string }> = {
  google: { id: "google-client-test", secret: "google-secret-test" },
  github: { id: "github-client-test", secret: "github-secret-test" },
  facebook: { id: "facebook-client-test", secret: "facebook-secret-test" },
};

const AUTHORIZATION_ENDPOINTS: Record<ProviderName, string> = {
  google: "https://accounts.google.com/o/oauth2/v2/auth",
  github: "https://github.com/login/oauth/authorize",
  facebook: "https://www.facebook.com/v23.0/dialog/oauth",
};

const GOOGLE_KEY_ID = "google-test-key";

/**
 * Google, GitHub and Facebook as fake hosts on their real origins, so the service's adapters run
 * unchanged. A test plays the browser: it reads the authorization URL from `start`, "approves" it
 * here to get the callback parameters, and calls the callback itself. The token endpoints check
 * the client credentials, the redirect URI and the PKCE verifier as the real ones do, and record
 * every request they receive.
 */
export class FakeOAuthProviders {
  readonly tokenRequests: RecordedTokenRequest[] = [];
  readonly apiRequests: { provider: ProviderName; url: string; headers: Headers }[] = [];
  private readonly codes = new Map<string, IssuedCode>();
  private readonly accessTokens = new Map<string, { provider: ProviderName; account: FakeAccount }>();
  private signingKey: CryptoKey | undefined;
  private unpublishedKey: CryptoKey | undefined;
  private publicJwk: Record<string, unknown> | undefined;

  constructor(private readonly clock: FrozenClock) {}

  /** Intercept requests to the providers' hosts, and return a function that stops intercepting them. */
  async install(): Promise<() => void> {
    const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
    this.signingKey = privateKey;
    this.publicJwk = { ...(await exportJWK(publicKey)), kid: GOOGLE_KEY_ID, alg: "RS256", use: "sig" };
    this.unpublishedKey = (await generateKeyPair("RS256")).privateKey;

    const removers = [
      fakeHost("https://accounts.google.com", () => new Response("browser page", { status: 200 })),
      fakeHost("https://oauth2.googleapis.com", (request) => this.token("google", request)),
      fakeHost("https://www.googleapis.com", () => Response.json({ keys: [this.publicJwk] })),
      fakeHost("https://github.com", (request) => this.token("github", request)),
      fakeHost("https://api.github.com", (request) => this.githubApi(request)),
      fakeHost("https://www.facebook.com", () => new Response("browser page", { status: 200 })),
      fakeHost("https://graph.facebook.com", (request) =>
        new URL(request.url).pathname.endsWith("/oauth/access_token")
          ? this.token("facebook", request)
          : this.facebookApi(request),
      ),
    ];
    return () => {
      for (const remove of removers) remove();
    };
  }

  /** Play the consent page: approve `authorizationUrl` for `account` and return the callback query. */
  approve(authorizationUrl: string, account: FakeAccount, idTokenOverrides: IdTokenOverrides = {}): URLSearchParams {
    const url = new URL(authorizationUrl);
    const provider = providerOf(url);
    const code = `code-${crypto.randomUUID()}`;
    this.codes.set(code, {
      provider,
      account,
      clientId: url.searchParams.get("client_id") ?? "",
      redirectUri: url.searchParams.get("redirect_uri") ?? "",
      codeChallenge: url.searchParams.get("code_challenge"),
      nonce: url.searchParams.get("nonce"),
      idTokenOverrides,
    });
    return new URLSearchParams({ code, state: url.searchParams.get("state") ?? "" });
  }

  /** Play a person who declines on the consent page. */
  deny(authorizationUrl: string): URLSearchParams {
    const state = new URL(authorizationUrl).searchParams.get("state") ?? "";
    return new URLSearchParams({ error: "access_denied", state });
  }

  private async token(provider: ProviderName, request: Request): Promise<Response> {
    const form = new URLSearchParams(await request.text());
    this.tokenRequests.push({ provider, url: request.url, headers: request.headers, form });

    const issued = this.codes.get(form.get("code") ?? "");
    this.codes.delete(form.get("code") ?? "");
    const client = CLIENTS[provider];
    if (form.get("client_id") !== client.id || form.get("client_secret") !== client.secret) {
      return Response.json({ error: "invalid_client" }, { status: 401 });
    }
    const verifier = form.get("code_verifier") ?? "";
    if (
      issued === undefined ||
      issued.provider !== provider ||
      form.get("grant_type") !== "authorization_code" ||
      form.get("redirect_uri") !== issued.redirectUri ||
      issued.codeChallenge !== (await oauth.calculatePKCECodeChallenge(verifier))
    ) {
      return Response.json({ error: "invalid_grant" }, { status: 400 });
    }

    const accessToken = `access-${crypto.randomUUID()}`;
    this.accessTokens.set(accessToken, { provider, account: issued.account });
    const body: Record<string, unknown> = { access_token: accessToken, token_type: "Bearer", expires_in: 3599 };
    if (provider === "google") {
      body.refresh_token = `refresh-${crypto.randomUUID()}`;
      body.id_token = await this.signIdToken(issued);
    }
    return Response.json(body);
  }

  private async signIdToken(issued: IssuedCode): Promise<string> {
    const overrides = issued.idTokenOverrides;
    const key = overrides.signWithUnpublishedKey === true ? this.unpublishedKey : this.signingKey;
    if (key === undefined) throw new Error("Call install() first");
    const issuedAt = Math.floor(this.clock.now().getTime() / 1000);
    const claims: Record<string, unknown> = {};
    if (issued.account.email !== null) {
      claims.email = issued.account.email;
      claims.email_verified = issued.account.emailVerified;
    }
    const nonce = overrides.nonce ?? issued.nonce;
    if (nonce !== null) claims.nonce = nonce;

    return new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", kid: GOOGLE_KEY_ID, typ: "JWT" })
      .setIssuer(overrides.issuer ?? "https://accounts.google.com")
      .setAudience(overrides.audience ?? issued.clientId)
      .setSubject(issued.account.id)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + (overrides.expiresInSeconds ?? 3600))
      .sign(key);
  }

  private githubApi(request: Request): Response {
    this.apiRequests.push({ provider: "github", url: request.url, headers: request.headers });
    const holder = this.holderOf("github", request.headers.get("authorization"));
    if (holder === undefined) return Response.json({ message: "Bad credentials" }, { status: 401 });

    const path = new URL(request.url).pathname;
    if (path === "/user") return Response.json({ id: Number(holder.id), login: `user${holder.id}`, email: null });
    if (path === "/user/emails") {
      const emails = [{ email: `${holder.id}@users.noreply.github.com`, primary: false, verified: true }];
      if (holder.email !== null) emails.unshift({ email: holder.email, primary: true, verified: holder.emailVerified });
      return Response.json(emails);
    }
    return Response.json({ message: "Not Found" }, { status: 404 });
  }

  private facebookApi(request: Request): Response {
    this.apiRequests.push({ provider: "facebook", url: request.url, headers: request.headers });
    const holder = this.holderOf("facebook", request.headers.get("authorization"));
    if (holder === undefined)
      return Response.json({ error: { message: "Invalid OAuth access token" } }, { status: 400 });
    return Response.json(holder.email === null ? { id: holder.id } : { id: holder.id, email: holder.email });
  }

  private holderOf(provider: ProviderName, authorization: string | null): FakeAccount | undefined {
    const token = /^Bearer (.+)$/.exec(authorization ?? "")?.[1];
    const entry = token === undefined ? undefined : this.accessTokens.get(token);
    return entry?.provider === provider ? entry.account : undefined;
  }
}

function providerOf(url: URL): ProviderName {
  const base = `${url.origin}${url.pathname}`;
  const match = (Object.entries(AUTHORIZATION_ENDPOINTS) as [ProviderName, string][]).find(
    ([, endpoint]) => endpoint === base,
  );
  if (match === undefined) throw new Error(`Not a known provider authorization endpoint: ${base}`);
  return match[0];
}

export const CLIENT_REDIRECT = "https://client.test/oauth/done";
export const BINDING_COOKIE_NAME = "__Host-oauth_binding";

/** Read the binding cookie a response set, as the `name=value` pair for the next request's Cookie header. */
export function bindingCookieFrom(response: TestResponse): string {
  const setCookie = response.headers.get("set-cookie") ?? "";
  const match = new RegExp(`${BINDING_COOKIE_NAME}=([^;]+)`).exec(setCookie);
  if (match?.[1] === undefined) throw new Error(`No ${BINDING_COOKIE_NAME} cookie in: ${setCookie}`);
  return `${BINDING_COOKIE_NAME}=${match[1]}`;
}

export interface StartedFlow {
  response: TestResponse;
  authorizationUrl: string;
  cookie: string;
}

/** GET the start endpoint as a browser would, optionally sending an existing binding cookie. */
export async function startFlow(
  t: TestApp,
  provider: ProviderName,
  options: { redirectTo?: string; cookie?: string } = {},
): Promise<StartedFlow> {
  const redirectTo = encodeURIComponent(options.redirectTo ?? CLIENT_REDIRECT);
  const response = await t.request("GET", `/v1/auth/oauth/${provider}/start?redirect_to=${redirectTo}`, {
    headers: options.cookie === undefined ? {} : { cookie: options.cookie },
  });
  if (response.status !== 302) throw new Error(`start answered ${response.status}: ${response.text}`);
  return { response, authorizationUrl: response.headers.get("location") ?? "", cookie: bindingCookieFrom(response) };
}

/** GET the callback with the provider's parameters and the browser's cookie, if any. */
export function callCallback(
  t: TestApp,
  provider: ProviderName,
  query: URLSearchParams,
  cookie: string | undefined,
): Promise<TestResponse> {
  return t.request("GET", `/v1/auth/oauth/${provider}/callback?${query.toString()}`, {
    headers: cookie === undefined ? {} : { cookie },
  });
}

/** Where a callback redirected the browser, and the login code or error it carries. */
export function readCallbackRedirect(response: TestResponse): {
  location: URL;
  code: string | null;
  error: string | null;
} {
  if (response.status !== 302) throw new Error(`callback answered ${response.status}: ${response.text}`);
  const location = new URL(response.headers.get("location") ?? "");
  return { location, code: location.searchParams.get("code"), error: location.searchParams.get("error") };
}

/** Run a whole sign-in: start, approve at the fake provider, callback. */
export async function signInThroughProvider(
  t: TestApp,
  providers: FakeOAuthProviders,
  provider: ProviderName,
  account: FakeAccount,
  idTokenOverrides: IdTokenOverrides = {},
): Promise<{ callback: TestResponse; code: string | null; error: string | null; location: URL }> {
  const flow = await startFlow(t, provider);
  const callback = await callCallback(
    t,
    provider,
    providers.approve(flow.authorizationUrl, account, idTokenOverrides),
    flow.cookie,
  );
  return { callback, ...readCallbackRedirect(callback) };
}

/** Sign in through a provider and exchange the login code; fails the test when either step fails. */
export async function signInAndExchange(
  t: TestApp,
  providers: FakeOAuthProviders,
  provider: ProviderName,
  account: FakeAccount,
): Promise<TestResponse> {
  const { code, error } = await signInThroughProvider(t, providers, provider, account);
  if (code === null) throw new Error(`The callback redirected with error=${error}`);
  const exchanged = await t.request("POST", "/v1/auth/oauth/exchange", { body: { code } });
  if (exchanged.status !== 200) throw new Error(`exchange answered ${exchanged.status}: ${exchanged.text}`);
  return exchanged;
}
