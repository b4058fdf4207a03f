import * as oauth from "oauth4webapi";
import {
  authorizationServer,
  buildAuthorizationUrl,
  exchangeSafely,
  normalizeProviderEmail,
  type OAuthProvider,
  oauthClient,
  type ProviderEndpoints,
  type ProviderRuntime,
  providerTokens,
  redeemAuthorizationCode,
  requestOptions,
} from "./flow";

/** Google's OpenID Connect endpoints, from https://accounts.google.com/.well-known/openid-configuration. */
export const GOOGLE_ENDPOINTS: ProviderEndpoints = {
  issuer: "https://accounts.google.com",
  authorizationEndpoint: "https://accounts.google.com/o/oauth2/v2/auth",
  tokenEndpoint: "https://oauth2.googleapis.com/token",
  jwksUri: "https://www.googleapis.com/oauth2/v3/certs",
};

export const GOOGLE_SCOPE = "openid email";

// Google signs ID tokens with RS256 only; pinning it refuses any other algorithm.
const ID_TOKEN_ALGORITHM = "RS256";

/**
 * Sign-in with Google as an OpenID provider. The identity comes from the ID token, which is
 * checked in full: issuer, audience, expiry, nonce, and its signature against Google's JWK set.
 */
export function createGoogleProvider(runtime: ProviderRuntime): OAuthProvider {
  const client = () => oauthClient(runtime, { id_token_signed_response_alg: ID_TOKEN_ALGORITHM });

  return {
    name: "google",
    isOpenIdProvider: true,
    buildAuthorizationUrl: (request) => buildAuthorizationUrl(runtime, request, { scope: GOOGLE_SCOPE }),
    exchangeCode: (request) =>
      exchangeSafely(async () => {
        if (request.nonce === undefined)
          throw new Error("A Google sign-in needs the nonce of its authorization request");
        const { tokens, response } = await redeemAuthorizationCode(runtime, client(), request, request.nonce);
        // oauth4webapi validates the ID token's claims; the signature is checked here as well.
        await oauth.validateApplicationLevelSignature(
          authorizationServer(runtime.endpoints),
          response,
          requestOptions(runtime),
        );

        const claims = oauth.getValidatedIdTokenClaims(tokens);
        if (claims === undefined) throw new Error("Google returned no ID token");
        const email = normalizeProviderEmail(claims.email);
        return {
          identity: {
            providerUserId: claims.sub,
            email,
            emailVerified: email !== null && (claims.email_verified === true || claims.email_verified === "true"),
          },
          tokens: providerTokens(tokens),
        };
      }),
  };
}
