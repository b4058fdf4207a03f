import type { Config, OAuthProviderName } from "../../config";
import { OAUTH_PROVIDERS } from "../../db/schema";
import type { Clock } from "../../lib/clock";
import { createFacebookProvider, FACEBOOK_ENDPOINTS } from "./facebook";
import {
  FAKE_PROVIDER_PATH_PREFIX,
  fakeClientId,
  fakeClientSecret,
  fakeProviderEndpoints,
  handleFakeProviderRequest,
} from "./fake-provider";
import type { OAuthProvider, ProviderEndpoints, ProviderRuntime } from "./flow";
import { createGitHubProvider, GITHUB_ENDPOINTS } from "./github";
import { createGoogleProvider, GOOGLE_ENDPOINTS } from "./google";

const REAL_ENDPOINTS: Record<OAuthProviderName, ProviderEndpoints> = {
  google: GOOGLE_ENDPOINTS,
  github: GITHUB_ENDPOINTS,
  facebook: FACEBOOK_ENDPOINTS,
};

const FACTORIES: Record<OAuthProviderName, (runtime: ProviderRuntime) => OAuthProvider> = {
  google: createGoogleProvider,
  github: createGitHubProvider,
  facebook: createFacebookProvider,
};

export function isOAuthProviderName(value: string): value is OAuthProviderName {
  return (OAUTH_PROVIDERS as readonly string[]).includes(value);
}

/** The redirect URI registered with every provider: the callback under APP_URL. */
export function oauthRedirectUri(config: Config, provider: OAuthProviderName): string {
  return `${config.appUrl}/v1/auth/oauth/${provider}/callback`;
}

/**
 * Build the adapter for a provider, or return null when it has no credentials. In development a
 * provider without credentials is served by the fake provider instead, called in-process.
 */
export function resolveOAuthProvider(
  context: { config: Config; clock: Clock; kv: KVNamespace },
  provider: OAuthProviderName,
): OAuthProvider | null {
  const { config, clock, kv } = context;
  const now = () => clock.now();
  const credentials = config.oauth.providers[provider];

  if (credentials !== undefined) {
    return FACTORIES[provider]({
      ...credentials,
      endpoints: REAL_ENDPOINTS[provider],
      fetch: (input, init) => fetch(input, init),
      now,
      allowHttp: false,
    });
  }
  if (!config.isDevelopment) return null;

  const fakeContext = { kv, appUrl: config.appUrl, now };
  const fakeOrigin = `${config.appUrl}${FAKE_PROVIDER_PATH_PREFIX}`;
  return FACTORIES[provider]({
    clientId: fakeClientId(provider),
    clientSecret: fakeClientSecret(provider),
    endpoints: fakeProviderEndpoints(provider, config.appUrl),
    fetch: async (input, init) => {
      const request = new Request(input, init);
      if (!request.url.startsWith(fakeOrigin)) return fetch(request);
      return handleFakeProviderRequest(request, fakeContext);
    },
    now,
    allowHttp: true,
  });
}
