import {
  createApiIdentityProvider,
  getProviderJson,
  isRecord,
  normalizeProviderEmail,
  type OAuthProvider,
  type ProviderEndpoints,
  type ProviderIdentity,
  ProviderResponseError,
  type ProviderRuntime,
} from "./flow";

/** GitHub OAuth app endpoints. GitHub is not an OpenID provider, so there is no ID token. */
export const GITHUB_ENDPOINTS: ProviderEndpoints = {
  issuer: "https://github.com",
  authorizationEndpoint: "https://github.com/login/oauth/authorize",
  tokenEndpoint: "https://github.com/login/oauth/access_token",
  apiBaseUrl: "https://api.github.com",
};

/** `user:email` is needed to read the verified flags of the account's addresses. */
export const GITHUB_SCOPE = "read:user user:email";

// GitHub's REST API rejects requests without a User-Agent.
const API_HEADERS = {
  accept: "application/vnd.github+json",
  "user-agent": "trade-identity-api",
  "x-github-api-version": "2022-11-28",
};

/**
 * Sign-in with GitHub. The identity is the numeric user id from `GET /user`. The email is the
 * account's primary address from `GET /user/emails`, verified only when GitHub marks it verified.
 * GitHub has accepted PKCE with S256 since July 2025 (GitHub changelog, 2025-07-14).
 */
export function createGitHubProvider(runtime: ProviderRuntime): OAuthProvider {
  return createApiIdentityProvider(runtime, { name: "github", scope: GITHUB_SCOPE, readIdentity: readGitHubIdentity });
}

async function readGitHubIdentity(runtime: ProviderRuntime, accessToken: string): Promise<ProviderIdentity> {
  const apiBaseUrl = runtime.endpoints.apiBaseUrl ?? GITHUB_ENDPOINTS.apiBaseUrl;
  const [user, emails] = await Promise.all([
    getProviderJson(runtime, new URL(`${apiBaseUrl}/user`), accessToken, API_HEADERS),
    getProviderJson(runtime, new URL(`${apiBaseUrl}/user/emails`), accessToken, API_HEADERS),
  ]);

  if (!isRecord(user) || !Number.isSafeInteger(user.id)) {
    throw new ProviderResponseError("GitHub /user returned no numeric id");
  }
  if (!Array.isArray(emails)) throw new ProviderResponseError("GitHub /user/emails returned no list");

  const primary = emails.find((entry) => isRecord(entry) && entry.primary === true);
  const email = isRecord(primary) ? normalizeProviderEmail(primary.email) : null;
  return {
    providerUserId: String(user.id),
    email,
    emailVerified: email !== null && isRecord(primary) && primary.verified === true,
  };
}
