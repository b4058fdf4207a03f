import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from "jose";
import * as oauth from "oauth4webapi";
import { OAUTH_PROVIDERS } from "../../db/schema";
import type { OAuthProviderName } from "../../config";
import { constantTimeEqualStrings } from "../../crypto/constant-time";
import { sha256Hex } from "../../crypto/hashing";
import { generateRandomToken } from "../../crypto/random";
import type { ProviderEndpoints } from "./flow";

/**
 * A fake OAuth provider for development mode, so the whole redirect flow works offline. It plays
 * Google (with signed ID tokens and a JWK set), GitHub (user and emails API) and Facebook (Graph
 * `/me`) under `/dev/oauth/{provider}/…` of the Worker itself:
 *
 *   GET  authorize           approve at once for `?login_hint=EMAIL`, or show a small form.
 *                            `&email_verified=false` signs in an unverified address, `&deny=1` declines.
 *   POST token               redeem a code after checking the client, redirect URI and PKCE verifier.
 *   GET  jwks                Google only: the key that signs ID tokens.
 *   GET  user, user/emails   GitHub only.
 *   GET  me                  Facebook only.
 *
 * The sign-in adapters call it in-process instead of over HTTP, because a Worker fetching its own
 * origin under `wrangler dev` is not reliable. State lives in KV: codes for 60 s, tokens for an hour.
 */

export const FAKE_PROVIDER_PATH_PREFIX = "/dev/oauth/";

export function fakeClientId(provider: OAuthProviderName): string {
  return `dev-${provider}-client`;
}

export function fakeClientSecret(provider: OAuthProviderName): string {
  return `dev-${provider}-secret`;
}

export function fakeProviderEndpoints(provider: OAuthProviderName, appUrl: string): ProviderEndpoints {
  const base = `${appUrl}${FAKE_PROVIDER_PATH_PREFIX}${provider}`;
  return {
    issuer: base,
    authorizationEndpoint: `${base}/authorize`,
    tokenEndpoint: `${base}/token`,
    ...(provider === "google" ? { jwksUri: `${base}/jwks` } : {}),
    apiBaseUrl: base,
  };
}

export interface FakeProviderContext {
  kv: KVNamespace;
  appUrl: string;
  now: () => Date;
}

interface FakeIdentity {
  sub: string;
  email: string;
  emailVerified: boolean;
}

interface StoredCode {
  provider: OAuthProviderName;
  redirectUri: string;
  codeChallenge: string;
  nonce: string | null;
  identity: FakeIdentity;
}

interface StoredToken {
  provider: OAuthProviderName;
  identity: FakeIdentity;
}

const CODE_TTL_SECONDS = 60;
const ACCESS_TOKEN_TTL_SECONDS = 3600;
const SIGNING_KEY_KV_KEY = "dev-oauth:signing-key";
const SIGNING_KEY_ID = "dev-oauth-1";

/** Handle one request to the fake provider, whose path starts with `/dev/oauth/{provider}/`. */
export async function handleFakeProviderRequest(request: Request, context: FakeProviderContext): Promise<Response> {
  const url = new URL(request.url);
  const match = /^\/dev\/oauth\/([a-z]+)\/(authorize|token|jwks|user|user\/emails|me)$/.exec(url.pathname);
  const provider = OAUTH_PROVIDERS.find((name) => name === match?.[1]);
  if (match === null || provider === undefined) return textResponse(404, "No fake provider endpoint here.");

  const endpoint = match[2];
  if (endpoint === "authorize" && request.method === "GET") return authorize(provider, url, context);
  if (endpoint === "token" && request.method === "POST") return redeemCode(provider, request, context);
  if (endpoint === "jwks" && provider === "google" && request.method === "GET") return publishKeys(context);
  if (request.method === "GET" && isUserEndpoint(provider, endpoint))
    return describeUser(provider, endpoint, request, context);
  return textResponse(404, "No fake provider endpoint here.");
}

function isUserEndpoint(provider: OAuthProviderName, endpoint: string | undefined): boolean {
  if (provider === "github") return endpoint === "user" || endpoint === "user/emails";
  return provider === "facebook" && endpoint === "me";
}

async function authorize(provider: OAuthProviderName, url: URL, context: FakeProviderContext): Promise<Response> {
  const parameters = url.searchParams;
  const redirectUri = `${context.appUrl}/v1/auth/oauth/${provider}/callback`;
  const state = parameters.get("state");
  const codeChallenge = parameters.get("code_challenge");
  if (
    parameters.get("client_id") !== fakeClientId(provider) ||
    parameters.get("redirect_uri") !== redirectUri ||
    parameters.get("response_type") !== "code" ||
    parameters.get("code_challenge_method") !== "S256" ||
    state === null ||
    codeChallenge === null
  ) {
    return textResponse(400, "The authorization request is invalid: check client_id, redirect_uri, state and PKCE.");
  }

  const back = new URL(redirectUri);
  back.searchParams.set("state", state);
  if (parameters.get("deny") === "1") {
    back.searchParams.set("error", "access_denied");
    return redirectResponse(back);
  }

  const email = parameters.get("login_hint")?.trim().toLowerCase();
  if (email === undefined || email === "") return signInForm(provider, parameters);

  const identity: FakeIdentity = {
    sub: await fakeUserId(provider, email),
    email,
    emailVerified: parameters.get("email_verified") !== "false",
  };
  const code = generateRandomToken(32);
  const stored: StoredCode = { provider, redirectUri, codeChallenge, nonce: parameters.get("nonce"), identity };
  await context.kv.put(`dev-oauth:code:${await sha256Hex(code)}`, JSON.stringify(stored), {
    expirationTtl: CODE_TTL_SECONDS,
  });

  back.searchParams.set("code", code);
  return redirectResponse(back);
}

async function redeemCode(provider: OAuthProviderName, request: Request, context: FakeProviderContext) {
  const form = new URLSearchParams(await request.text());
  if (form.get("client_id") !== fakeClientId(provider) || form.get("client_secret") !== fakeClientSecret(provider)) {
    return jsonResponse(401, { error: "invalid_client" });
  }

  const key = `dev-oauth:code:${await sha256Hex(form.get("code") ?? "")}`;
  const stored = await context.kv.get<StoredCode>(key, "json");
  await context.kv.delete(key);
  const verifier = form.get("code_verifier") ?? "";
  if (
    stored === null ||
    stored.provider !== provider ||
    form.get("grant_type") !== "authorization_code" ||
    form.get("redirect_uri") !== stored.redirectUri ||
    !constantTimeEqualStrings(await oauth.calculatePKCECodeChallenge(verifier), stored.codeChallenge)
  ) {
    return jsonResponse(400, { error: "invalid_grant" });
  }

  const accessToken = generateRandomToken(32);
  const token: StoredToken = { provider, identity: stored.identity };
  await context.kv.put(`dev-oauth:token:${await sha256Hex(accessToken)}`, JSON.stringify(token), {
    expirationTtl: ACCESS_TOKEN_TTL_SECONDS,
  });

  const body: Record<string, unknown> = { access_token: accessToken, token_type: "bearer" };
  if (provider !== "github") body.expires_in = ACCESS_TOKEN_TTL_SECONDS;
  if (provider === "google") body.id_token = await signIdToken(stored, context);
  return jsonResponse(200, body);
}

async function describeUser(
  provider: OAuthProviderName,
  endpoint: string | undefined,
  request: Request,
  context: FakeProviderContext,
): Promise<Response> {
  const accessToken = /^Bearer (.+)$/.exec(request.headers.get("authorization") ?? "")?.[1] ?? "";
  const token = await context.kv.get<StoredToken>(`dev-oauth:token:${await sha256Hex(accessToken)}`, "json");
  if (token === null || token.provider !== provider) return jsonResponse(401, { message: "Bad credentials" });

  const { identity } = token;
  if (endpoint === "user") return jsonResponse(200, { id: Number(identity.sub), login: identity.email.split("@")[0] });
  if (endpoint === "user/emails") {
    return jsonResponse(200, [
      { email: identity.email, primary: true, verified: identity.emailVerified, visibility: "private" },
    ]);
  }
  return jsonResponse(200, { id: identity.sub, email: identity.email });
}

async function signIdToken(code: StoredCode, context: FakeProviderContext): Promise<string> {
  const privateJwk = await loadSigningKey(context.kv);
  const key = await importJWK(privateJwk, "RS256");
  const issuedAt = Math.floor(context.now().getTime() / 1000);
  const claims: Record<string, unknown> = { email: code.identity.email, email_verified: code.identity.emailVerified };
  if (code.nonce !== null) claims.nonce = code.nonce;

  return new SignJWT(claims)
    .setProtectedHeader({ alg: "RS256", kid: SIGNING_KEY_ID, typ: "JWT" })
    .setIssuer(fakeProviderEndpoints("google", context.appUrl).issuer)
    .setAudience(fakeClientId("google"))
    .setSubject(code.identity.sub)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + 3600)
    .sign(key);
}

async function publishKeys(context: FakeProviderContext): Promise<Response> {
  const { kty, n, e } = await loadSigningKey(context.kv);
  return jsonResponse(200, { keys: [{ kty, n, e, kid: SIGNING_KEY_ID, alg: "RS256", use: "sig" }] });
}

/** Load the fake provider's RSA key from KV, creating it on first use so it survives restarts. */
async function loadSigningKey(kv: KVNamespace): Promise<JWK> {
  const stored = await kv.get<JWK>(SIGNING_KEY_KV_KEY, "json");
  if (stored !== null) return stored;

  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  const jwk = await exportJWK(privateKey);
  await kv.put(SIGNING_KEY_KV_KEY, JSON.stringify(jwk));
  return jwk;
}

/** Derive a stable numeric user id from the provider and email, like the ids real providers issue. */
async function fakeUserId(provider: OAuthProviderName, email: string): Promise<string> {
  const digest = await sha256Hex(`${provider}:${email}`);
  return String(Number.parseInt(digest.slice(0, 12), 16));
}

function signInForm(provider: OAuthProviderName, parameters: URLSearchParams): Response {
  const hidden = [...parameters.entries()]
    .filter(([name]) => !["login_hint", "email_verified", "deny"].includes(name))
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join("\n      ");
  const html = `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>Fake ${provider} sign-in</title></head>
  <body>
    <h1>Fake ${provider} sign-in</h1>
    <p>Development mode only. Choose the account this fake provider signs in.</p>
    <form method="get">
      ${hidden}
      <p><label>Email <input type="email" name="login_hint" required></label></p>
      <p><label>Email verified by the provider
        <select name="email_verified"><option value="true">yes</option><option value="false">no</option></select>
      </label></p>
      <p><button type="submit">Sign in</button> <button type="submit" name="deny" value="1" formnovalidate>Decline</button></p>
    </form>
  </body>
</html>`;
  return new Response(html, { status: 200, headers: { "content-type": "text/html; charset=utf-8" } });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

// Not Response.redirect: its headers are immutable, and the app's middleware adds headers to every response.
function redirectResponse(location: URL): Response {
  return new Response(null, { status: 302, headers: { location: location.toString() } });
}

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

function textResponse(status: number, text: string): Response {
  return new Response(text, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}
