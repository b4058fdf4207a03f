import { hmacSha256Hex } from "../../crypto/hashing";
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

// Graph API versions stay available for about two years after release; v23.0 came out in May 2025.
// TODO: move to a newer version before Meta retires this one.
export const FACEBOOK_GRAPH_VERSION = "v23.0";

/** Facebook Login's manual flow endpoints. */
export const FACEBOOK_ENDPOINTS: ProviderEndpoints = {
  issuer: "https://www.facebook.com",
  authorizationEndpoint: `https://www.facebook.com/${FACEBOOK_GRAPH_VERSION}/dialog/oauth`,
  tokenEndpoint: `https://graph.facebook.com/${FACEBOOK_GRAPH_VERSION}/oauth/access_token`,
  apiBaseUrl: `https://graph.facebook.com/${FACEBOOK_GRAPH_VERSION}`,
};

export const FACEBOOK_SCOPE = "email,public_profile";

/**
 * Sign-in with Facebook. The identity is the app-scoped user id from the Graph API's `/me`.
 * Facebook does not report whether it verified the email it returns, so that email is always
 * treated as unverified. It is recorded on the linked account but never used to find or link a user.
 */
export function createFacebookProvider(runtime: ProviderRuntime): OAuthProvider {
  return createApiIdentityProvider(runtime, {
    name: "facebook",
    scope: FACEBOOK_SCOPE,
    readIdentity: readFacebookIdentity,
  });
}

async function readFacebookIdentity(runtime: ProviderRuntime, accessToken: string): Promise<ProviderIdentity> {
  const apiBaseUrl = runtime.endpoints.apiBaseUrl ?? FACEBOOK_ENDPOINTS.apiBaseUrl;
  const url = new URL(`${apiBaseUrl}/me`);
  url.searchParams.set("fields", "id,email");
  // The proof ties the call to this app's secret, so a token stolen from another app is useless here.
  url.searchParams.set("appsecret_proof", await hmacSha256Hex(runtime.clientSecret, accessToken));

  const me = await getProviderJson(runtime, url, accessToken);
  if (!isRecord(me) || typeof me.id !== "string" || !/^[0-9]{1,32}$/.test(me.id)) {
    throw new ProviderResponseError("Facebook /me returned no user id");
  }
  return { providerUserId: me.id, email: normalizeProviderEmail(me.email), emailVerified: false };
}
