import { sql } from "drizzle-orm";
import * as oauth from "oauth4webapi";
import { oauthRedirectUri, resolveOAuthProvider } from "../adapters/oauth/providers";
import type { OAuthProviderName } from "../config";
import { sha256Hex } from "../crypto/hashing";
import { generateRandomToken } from "../crypto/random";
import type { Dependencies } from "../http/context";
import { isUnavailableError } from "../http/errors";
import { auditOwnActionStatement } from "./audit";
import { resolveOAuthAccount } from "./oauth-account-resolution";
import { consumeLoginCodeStatement, prepareLoginCode } from "./oauth-login-codes";
import { chooseBrowserBinding, OAUTH_STATE_TTL_SECONDS, saveFlowState, takeFlowState } from "./oauth-state";
import { parseAllowedRedirect } from "./redirect-target";
import { openSessionStatement, prepareNewSession } from "./sessions";
import { buildTokenResponse, type TokenResponse } from "./tokens";
import { toUserView, USER_COLUMNS, type UserRow } from "./user-view";

/** The `error` values a callback can append to `redirect_to`. */
export const OAUTH_CALLBACK_ERRORS = [
  "access_denied",
  "provider_error",
  "account_suspended",
  "already_linked",
  "session_expired",
  "temporarily_unavailable",
] as const;

export type OAuthCallbackError = (typeof OAUTH_CALLBACK_ERRORS)[number];

export type StartOAuthResult =
  | { ok: true; authorizationUrl: string; browserBinding: string }
  | { ok: false; reason: "provider_not_configured" | "invalid_redirect" };

/**
 * Start a sign-in (or, with `link`, a linking) flow: check `redirect_to`, store the flow under a
 * fresh 256-bit state for 10 minutes, and build the provider's authorization URL with PKCE (S256)
 * and, for OpenID providers, a nonce. The returned browser binding goes into a cookie, and the
 * callback is accepted only from a browser that sends it back. No database round trip.
 */
export async function startOAuthFlow(
  deps: Dependencies,
  input: {
    provider: OAuthProviderName;
    redirectTo: string;
    browserBinding: string | undefined;
    link: { userId: string; sessionId: string } | null;
  },
): Promise<StartOAuthResult> {
  const { config, clock } = deps;
  const adapter = resolveOAuthProvider(deps, input.provider);
  if (adapter === null) return { ok: false, reason: "provider_not_configured" };
  const redirectTo = parseAllowedRedirect(input.redirectTo, config.allowedRedirectOrigins);
  if (redirectTo === null) return { ok: false, reason: "invalid_redirect" };

  const state = generateRandomToken(32);
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const nonce = adapter.isOpenIdProvider ? generateRandomToken(32) : null;
  const browserBinding = chooseBrowserBinding(input.browserBinding);
  await saveFlowState(deps.kv, state, {
    provider: input.provider,
    codeVerifier,
    nonce,
    redirectTo: redirectTo.toString(),
    link: input.link,
    browserBindingHash: await sha256Hex(browserBinding),
    expiresAt: new Date(clock.now().getTime() + OAUTH_STATE_TTL_SECONDS * 1000).toISOString(),
  });

  const authorizationUrl = adapter.buildAuthorizationUrl({
    state,
    codeChallenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
    redirectUri: oauthRedirectUri(config, input.provider),
    ...(nonce === null ? {} : { nonce }),
  });
  deps.log.info("oauth_started", { provider: input.provider, link: input.link !== null });
  return { ok: true, authorizationUrl: authorizationUrl.toString(), browserBinding };
}

export type CompleteOAuthResult = { ok: true; location: string } | { ok: false; reason: "invalid_state" };

/**
 * Handle a provider's redirect back. Without a valid state there is no trusted `redirect_to`, so
 * that case is returned as `invalid_state`. Otherwise the result is always a redirect to
 * `redirect_to`: with `code`, a one-time login code, on success, or with `error`. Provider tokens
 * never reach the client. Database cost: that of resolveOAuthAccount (one read, one batch), which
 * also stores the login code.
 */
export async function completeOAuthFlow(
  deps: Dependencies,
  input: { provider: OAuthProviderName; query: URLSearchParams; browserBinding: string | undefined },
): Promise<CompleteOAuthResult> {
  const { config, clock, log } = deps;
  const states = input.query.getAll("state");
  const state = states.length === 1 ? states[0] : undefined;
  if (state === undefined || state === "") {
    log.info("oauth_state_rejected", { provider: input.provider, reason: "missing" });
    return { ok: false, reason: "invalid_state" };
  }

  const taken = await takeFlowState(deps.kv, {
    state,
    provider: input.provider,
    browserBinding: input.browserBinding,
    now: clock.now(),
  });
  if (!taken.ok) {
    log.info("oauth_state_rejected", { provider: input.provider, reason: taken.reason });
    return { ok: false, reason: "invalid_state" };
  }

  const { flow } = taken;
  const redirectTo = new URL(flow.redirectTo);
  const finish = (name: "code" | "error", value: string): CompleteOAuthResult => {
    redirectTo.searchParams.delete(name === "code" ? "error" : "code");
    redirectTo.searchParams.set(name, value);
    return { ok: true, location: redirectTo.toString() };
  };
  const fail = (error: OAuthCallbackError, fields: Record<string, string | undefined> = {}) => {
    log.info("oauth_callback_failed", { provider: input.provider, error, ...fields });
    return finish("error", error);
  };

  try {
    const adapter = resolveOAuthProvider(deps, input.provider);
    if (adapter === null) return fail("provider_error", { cause: "provider_not_configured" });

    const exchanged = await adapter.exchangeCode({
      callbackParameters: input.query,
      state,
      codeVerifier: flow.codeVerifier,
      redirectUri: oauthRedirectUri(config, input.provider),
      ...(flow.nonce === null ? {} : { nonce: flow.nonce }),
    });
    if (!exchanged.ok) {
      return fail(exchanged.reason, { error_name: exchanged.errorName, error_code: exchanged.errorCode });
    }

    const loginCode = await prepareLoginCode(clock.now());
    const resolution = await resolveOAuthAccount(deps, {
      provider: input.provider,
      identity: exchanged.identity,
      tokens: exchanged.tokens,
      link: flow.link,
      loginCode,
    });
    if (!resolution.ok) return fail(resolution.reason);

    log.info("oauth_callback_succeeded", {
      provider: input.provider,
      user_id: resolution.userId,
      outcome: resolution.outcome,
    });
    return finish("code", loginCode.code);
  } catch (error) {
    if (!isUnavailableError(error)) throw error;
    return fail("temporarily_unavailable", { error_name: error instanceof Error ? error.name : undefined });
  }
}

export type ExchangeLoginCodeResult = { ok: true; tokens: TokenResponse } | { ok: false; reason: "invalid_token" };

/** The exchange's row for a valid code. For an inactive user, the user columns and `session_id` are null. */
type ExchangedRow = { redeemed_user_id: string; provider: OAuthProviderName; session_id: string | null } & UserRow;

/**
 * Trade a one-time login code for tokens. The code works once and for 60 seconds. One database
 * statement consumes the code, checks that the user is still active, records the sign-in time,
 * opens the session and writes the audit event. So a failed statement leaves the code usable, and
 * of parallel exchanges of one code exactly one succeeds. A code of a suspended or deleted user
 * is consumed without a session.
 */
export async function exchangeLoginCode(
  deps: Dependencies,
  input: { code: string; userAgent: string | undefined },
): Promise<ExchangeLoginCodeResult> {
  const { config, clock, db } = deps;
  const now = clock.now();
  const session = await prepareNewSession(now);

  const result = await db.execute<ExchangedRow>(sql`
    WITH redeemed AS (${await consumeLoginCodeStatement(input.code, now)}),
    signed_in AS (
      UPDATE users SET last_login_at = ${now.toISOString()}::timestamptz
      WHERE id IN (SELECT user_id FROM redeemed) AND status = 'active'
      RETURNING ${sql.raw(USER_COLUMNS)}
    ),
    opened AS (${openSessionStatement(deps, session, sql`SELECT id FROM signed_in`, input.userAgent)}),
    audited AS (${auditOwnActionStatement(
      deps,
      { action: "login.succeeded", metadata: { method: "oauth" } },
      sql`SELECT signed_in.id, jsonb_build_object('provider', redeemed.provider) AS metadata
          FROM signed_in JOIN redeemed ON redeemed.user_id = signed_in.id`,
    )})
    SELECT redeemed.user_id AS redeemed_user_id, redeemed.provider, signed_in.*, opened.id AS session_id
    FROM redeemed LEFT JOIN signed_in ON true LEFT JOIN opened ON true`);

  const row = result.rows[0];
  if (row === undefined) {
    deps.log.info("oauth_exchange_failed", { reason: "unknown_or_expired_code" });
    return { ok: false, reason: "invalid_token" };
  }
  if (row.session_id === null) {
    deps.log.info("oauth_exchange_failed", { reason: "account_inactive", user_id: row.redeemed_user_id });
    return { ok: false, reason: "invalid_token" };
  }

  deps.log.info("oauth_signed_in", { user_id: row.id, session_id: row.session_id, provider: row.provider });
  const tokens = await buildTokenResponse(
    config,
    { id: row.session_id, refreshToken: session.refreshToken, expiresAt: session.expiresAt },
    toUserView(row),
    now,
  );
  return { ok: true, tokens };
}
