import * as oauth from "oauth4webapi";
import type { OAuthProviderName } from "../../config";

/** How long one call to a provider may take before the sign-in fails. */
export const PROVIDER_TIMEOUT_MS = 10_000;

/** Endpoint URLs of a provider. The development fake provider has the same shape under the Worker's own origin. */
export interface ProviderEndpoints {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  /** JWK set that signs ID tokens; OpenID providers only. */
  jwksUri?: string;
  /** Base URL of the provider's user API (GitHub's REST API, Facebook's Graph API). */
  apiBaseUrl?: string;
}

/** Run-time settings of a provider adapter, built per request. */
export interface ProviderRuntime {
  clientId: string;
  clientSecret: string;
  endpoints: ProviderEndpoints;
  /** Global fetch, or in development the in-process fake provider. */
  fetch: typeof fetch;
  /** The app clock: ID token times are checked against it, so frozen-clock tests work. */
  now: () => Date;
  /** True only for the development fake provider, which is served over http://localhost. */
  allowHttp: boolean;
}

/** The parameters one authorization request needs; `nonce` only for OpenID providers. */
export interface AuthorizationRequest {
  state: string;
  codeChallenge: string;
  redirectUri: string;
  nonce?: string;
}

/** Callback parameters for the adapter, with the values stored when the flow started. */
export interface CodeExchangeRequest {
  callbackParameters: URLSearchParams;
  state: string;
  codeVerifier: string;
  redirectUri: string;
  nonce?: string;
}

/** The person the provider signed in. `providerUserId` is the stable identity; the email is advisory. */
export interface ProviderIdentity {
  providerUserId: string;
  email: string | null;
  /** True only when the provider asserts that it verified the address. */
  emailVerified: boolean;
}

export interface ProviderTokens {
  accessToken: string;
  refreshToken: string | null;
  expiresInSeconds: number | null;
}

export type CodeExchangeResult =
  | { ok: true; identity: ProviderIdentity; tokens: ProviderTokens }
  | { ok: false; reason: "access_denied" | "provider_error"; errorName?: string; errorCode?: string };

/** One provider: builds its authorization URL and turns a callback into an identity. */
export interface OAuthProvider {
  name: OAuthProviderName;
  /** OpenID providers get a nonce in the authorization request and return it in the ID token. */
  isOpenIdProvider: boolean;
  buildAuthorizationUrl(request: AuthorizationRequest): URL;
  exchangeCode(request: CodeExchangeRequest): Promise<CodeExchangeResult>;
}

/** Thrown by adapters when a provider's user API returns an error status or an unexpected body. */
export class ProviderResponseError extends Error {
  readonly status: number | undefined;

  constructor(message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "ProviderResponseError";
    this.status = options.status;
  }
}

export function authorizationServer(endpoints: ProviderEndpoints): oauth.AuthorizationServer {
  return {
    issuer: endpoints.issuer,
    authorization_endpoint: endpoints.authorizationEndpoint,
    token_endpoint: endpoints.tokenEndpoint,
    ...(endpoints.jwksUri === undefined ? {} : { jwks_uri: endpoints.jwksUri }),
  };
}

export function oauthClient(runtime: ProviderRuntime, metadata: Partial<oauth.Client> = {}): oauth.Client {
  return {
    client_id: runtime.clientId,
    ...metadata,
    // oauth4webapi reads Date.now(); the skew makes its "now" the app clock's.
    [oauth.clockSkew]: Math.round((runtime.now().getTime() - Date.now()) / 1000),
  };
}

/** Options for every oauth4webapi call that makes a request. */
export function requestOptions(runtime: ProviderRuntime) {
  return {
    [oauth.customFetch]: runtime.fetch,
    [oauth.allowInsecureRequests]: runtime.allowHttp,
    signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
  };
}

/**
 * Build an authorization URL: response type `code`, PKCE with S256 and the given extra parameters
 * (scope, nonce, provider-specific ones).
 */
export function buildAuthorizationUrl(
  runtime: ProviderRuntime,
  request: AuthorizationRequest,
  extraParameters: Record<string, string>,
): URL {
  const url = new URL(runtime.endpoints.authorizationEndpoint);
  url.searchParams.set("client_id", runtime.clientId);
  url.searchParams.set("redirect_uri", request.redirectUri);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("state", request.state);
  url.searchParams.set("code_challenge", request.codeChallenge);
  url.searchParams.set("code_challenge_method", "S256");
  if (request.nonce !== undefined) url.searchParams.set("nonce", request.nonce);
  for (const [name, value] of Object.entries(extraParameters)) url.searchParams.set(name, value);
  return url;
}

/**
 * Check the callback parameters and redeem the code at the token endpoint, authenticating with the
 * client secret in the body and proving PKCE with the verifier. With `expectedNonce` the response
 * must carry an ID token whose issuer, audience, expiry and nonce oauth4webapi validates.
 */
export async function redeemAuthorizationCode(
  runtime: ProviderRuntime,
  client: oauth.Client,
  request: CodeExchangeRequest,
  expectedNonce?: string,
): Promise<{ tokens: oauth.TokenEndpointResponse; response: Response }> {
  const server = authorizationServer(runtime.endpoints);
  const parameters = oauth.validateAuthResponse(server, client, request.callbackParameters, request.state);
  const response = await oauth.authorizationCodeGrantRequest(
    server,
    client,
    oauth.ClientSecretPost(runtime.clientSecret),
    parameters,
    request.redirectUri,
    request.codeVerifier,
    requestOptions(runtime),
  );
  const tokens = await oauth.processAuthorizationCodeResponse(server, client, response, {
    ...(expectedNonce === undefined ? {} : { expectedNonce, requireIdToken: true }),
  });
  return { tokens, response };
}

export function providerTokens(tokens: oauth.TokenEndpointResponse): ProviderTokens {
  return {
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token ?? null,
    expiresInSeconds: typeof tokens.expires_in === "number" ? tokens.expires_in : null,
  };
}

/**
 * Run a provider exchange and turn its failures into values. A person declining at the provider
 * is `access_denied`. Everything else (error responses, invalid tokens, timeouts) is
 * `provider_error`, reported with the error's name and code only, never the provider's text.
 */
export async function exchangeSafely(
  exchange: () => Promise<{ identity: ProviderIdentity; tokens: ProviderTokens }>,
): Promise<CodeExchangeResult> {
  try {
    return { ok: true, ...(await exchange()) };
  } catch (error) {
    if (error instanceof oauth.AuthorizationResponseError && error.error === "access_denied") {
      return { ok: false, reason: "access_denied" };
    }
    const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
    return {
      ok: false,
      reason: "provider_error",
      errorName: error instanceof Error ? error.name : typeof error,
      ...(typeof code === "string" ? { errorCode: code } : {}),
    };
  }
}

/**
 * Build a provider without ID tokens, such as GitHub or Facebook: the identity comes from the
 * provider's user API, called with the access token that redeeming the authorization code returned.
 */
export function createApiIdentityProvider(
  runtime: ProviderRuntime,
  options: {
    name: OAuthProviderName;
    scope: string;
    readIdentity: (runtime: ProviderRuntime, accessToken: string) => Promise<ProviderIdentity>;
  },
): OAuthProvider {
  return {
    name: options.name,
    isOpenIdProvider: false,
    buildAuthorizationUrl: (request) => buildAuthorizationUrl(runtime, request, { scope: options.scope }),
    exchangeCode: (request) =>
      exchangeSafely(async () => {
        const { tokens } = await redeemAuthorizationCode(runtime, oauthClient(runtime), request);
        const identity = await options.readIdentity(runtime, tokens.access_token);
        return { identity, tokens: providerTokens(tokens) };
      }),
  };
}

/** GET a provider API resource with the user's access token and return its JSON, unchecked. */
export async function getProviderJson(
  runtime: ProviderRuntime,
  url: URL,
  accessToken: string,
  headers: Record<string, string> = {},
): Promise<unknown> {
  const response = await runtime.fetch(url, {
    headers: { accept: "application/json", authorization: `Bearer ${accessToken}`, ...headers },
    signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
    redirect: "manual",
  });
  if (!response.ok) {
    await response.body?.cancel();
    throw new ProviderResponseError(`${url.pathname} returned HTTP ${response.status}`, { status: response.status });
  }
  try {
    return await response.json();
  } catch (error) {
    throw new ProviderResponseError(`${url.pathname} returned a body that is not JSON`, { cause: error });
  }
}

const MAX_EMAIL_LENGTH = 254;

/** Lower-case a provider's email, or return null when it is not a plausible address. */
export function normalizeProviderEmail(value: unknown): string | null {
  if (typeof value !== "string") return null;
  const email = value.trim().toLowerCase();
  if (email.length > MAX_EMAIL_LENGTH || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) return null;
  return email;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
