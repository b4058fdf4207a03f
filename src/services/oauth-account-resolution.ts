import { sql, type SQL } from "drizzle-orm";
import type { ProviderIdentity, ProviderTokens } from "../adapters/oauth/flow";
import type { OAuthProviderName } from "../config";
import { encryptSecret } from "../crypto/encryption";
import type { Dependencies } from "../http/context";
import { auditEventStatement } from "./audit";
import { type NewLoginCode, storeLoginCodeStatement } from "./oauth-login-codes";
import { isUniqueViolation } from "./postgres-errors";
import type { UserStatus } from "./user-view";

export type AccountResolution =
  | { ok: true; userId: string; outcome: "signed_in" | "linked" | "created" }
  | { ok: false; reason: "account_suspended" | "already_linked" | "session_expired" };

export interface ResolveAccountInput {
  provider: OAuthProviderName;
  identity: ProviderIdentity;
  tokens: ProviderTokens;
  /** Set when a signed-in user asked to link this provider. */
  link: { userId: string; sessionId: string } | null;
  /** Stored for the resolved user in the statement or batch that resolves the account. */
  loginCode: NewLoginCode;
}

type MatchRow = {
  matched_by: "identity" | "email" | "link_user";
  user_id: string;
  status: UserStatus;
  /** Whether the link's provider email, its verified flag or its stored tokens change (identity rows only). */
  needs_refresh: boolean | null;
  has_provider: boolean | null;
  /** Whether the read itself stored the login code, which it does for a sign-in with no refresh. */
  login_code_stored: boolean;
};

type Plan =
  | { action: "sign_in"; userId: string; refresh: boolean }
  | { action: "link"; userId: string; via: "email" | "link_request"; takeOverPending: boolean }
  | { action: "create"; userId: string };

// A parallel callback or sign-up can claim the same identity or email between the read and the
// write. The unique constraints then decide, and one more read finds what the winner wrote.
const RACE_CONSTRAINTS = ["users_email_unique", "oauth_accounts_provider_user_key", "oauth_accounts_user_provider_key"];
const MAX_ATTEMPTS = 2;

const OUTCOMES = { sign_in: "signed_in", link: "linked", create: "created" } as const;

/**
 * Find or create the account for a provider identity, and link the identity when it is new.
 *
 * A known (provider, provider user id) signs its user in. Otherwise an email the provider asserts
 * it verified links to the account with that email; a pending account is taken over, losing the
 * password and username its unverified registration chose, because the person who set them never
 * proved the address. Otherwise a new active account is created. An unverified provider email
 * never links, so it is stored on the linked account only. Suspended and deleted users are refused.
 *
 * One read and one batch (with the audit event and the login code), or only the read when nothing
 * changes, in which case the read stores the login code itself.
 */
export async function resolveOAuthAccount(deps: Dependencies, input: ResolveAccountInput): Promise<AccountResolution> {
  for (let attempt = 1; ; attempt++) {
    const rows = await readMatches(deps, input);
    const plan = planResolution(rows, input);
    expectLoginCodeStoredByRead(rows, plan);
    if ("reason" in plan) return { ok: false, reason: plan.reason };

    try {
      await writePlan(deps, input, plan);
    } catch (error) {
      const lostRace = RACE_CONSTRAINTS.some((constraint) => isUniqueViolation(error, constraint));
      if (lostRace && attempt < MAX_ATTEMPTS) {
        deps.log.info("oauth_account_race_retried", { provider: input.provider });
        continue;
      }
      throw error;
    }

    return { ok: true, userId: plan.userId, outcome: OUTCOMES[plan.action] };
  }
}

/**
 * Read every account the identity could resolve to. When the outcome is a sign-in that writes
 * nothing else, the same statement stores the login code, so that callback costs one round trip.
 * That is the case when the identity's user is active, is the user who requested the link (for a
 * link request), and no provider field stored on the link changes. planResolution decides the
 * same from the rows, and expectLoginCodeStoredByRead checks that both agree.
 */
async function readMatches(deps: Dependencies, input: ResolveAccountInput): Promise<MatchRow[]> {
  const { identity } = input;
  const verifiedEmail = identity.emailVerified ? identity.email : null;
  const linkUserId = input.link?.userId ?? null;
  const now = deps.clock.now();
  const hasProvider = sql`
    EXISTS (SELECT 1 FROM oauth_accounts AS p WHERE p.user_id = u.id AND p.provider = ${input.provider})`;
  // With token storage on, every sign-in stores the new provider tokens. With it off, the refresh
  // clears tokens stored while it was on.
  const needsRefresh = sql`(
    ${deps.config.oauth.storeProviderTokens}::boolean
    OR o.access_token_encrypted IS NOT NULL OR o.refresh_token_encrypted IS NOT NULL
    OR o.email IS DISTINCT FROM ${identity.email}::text
    OR o.email_verified IS DISTINCT FROM ${identity.emailVerified}::boolean)`;
  const unchangedSignIn = sql`
    SELECT m.user_id AS id FROM matches AS m
    WHERE m.matched_by = 'identity' AND m.status = 'active' AND NOT m.needs_refresh
      AND (${linkUserId}::uuid IS NULL
           OR EXISTS (SELECT 1 FROM matches AS l WHERE l.matched_by = 'link_user' AND l.user_id = m.user_id))`;

  const result = await deps.db.execute<MatchRow>(sql`
    WITH matches AS (
      SELECT 'identity' AS matched_by, u.id AS user_id, u.status, ${needsRefresh} AS needs_refresh,
             NULL::boolean AS has_provider
      FROM oauth_accounts AS o JOIN users AS u ON u.id = o.user_id
      WHERE o.provider = ${input.provider} AND o.provider_user_id = ${identity.providerUserId}
      UNION ALL
      SELECT 'email', u.id, u.status, NULL, ${hasProvider}
      FROM users AS u
      WHERE u.email = ${verifiedEmail}::text
      UNION ALL
      SELECT 'link_user', u.id, u.status, NULL, ${hasProvider}
      FROM users AS u JOIN auth_sessions AS s ON s.user_id = u.id
      WHERE u.id = ${linkUserId}::uuid AND s.id = ${input.link?.sessionId ?? null}::uuid
        AND s.revoked_at IS NULL AND s.expires_at > ${now.toISOString()}::timestamptz
    ),
    stored_code AS (${storeLoginCodeStatement(input.loginCode, input.provider, unchangedSignIn, now)})
    SELECT matches.*, EXISTS (SELECT 1 FROM stored_code) AS login_code_stored FROM matches`);
  return result.rows;
}

function planResolution(
  rows: MatchRow[],
  input: ResolveAccountInput,
): Plan | { reason: "account_suspended" | "already_linked" | "session_expired" } {
  const byIdentity = rows.find((row) => row.matched_by === "identity");
  const byEmail = rows.find((row) => row.matched_by === "email");
  const linkUser = rows.find((row) => row.matched_by === "link_user");
  const signIn = (row: MatchRow): Plan => ({
    action: "sign_in",
    userId: row.user_id,
    refresh: row.needs_refresh === true,
  });

  if (input.link !== null) {
    if (linkUser === undefined) return { reason: "session_expired" };
    if (linkUser.status !== "active") return { reason: "account_suspended" };
    if (byIdentity !== undefined) {
      return byIdentity.user_id === linkUser.user_id ? signIn(byIdentity) : { reason: "already_linked" };
    }
    if (linkUser.has_provider === true) return { reason: "already_linked" };
    return { action: "link", userId: linkUser.user_id, via: "link_request", takeOverPending: false };
  }

  if (byIdentity !== undefined) {
    return byIdentity.status === "active" ? signIn(byIdentity) : { reason: "account_suspended" };
  }
  if (byEmail !== undefined) {
    if (byEmail.status === "pending_verification") {
      return { action: "link", userId: byEmail.user_id, via: "email", takeOverPending: true };
    }
    if (byEmail.status !== "active") return { reason: "account_suspended" };
    if (byEmail.has_provider === true) return { reason: "already_linked" };
    return { action: "link", userId: byEmail.user_id, via: "email", takeOverPending: false };
  }
  return { action: "create", userId: crypto.randomUUID() };
}

/**
 * Check that the read stored the login code exactly when the plan is a sign-in with no refresh,
 * the one outcome that writes nothing else. A mismatch means that readMatches and planResolution
 * disagree, and the client would get a code that does not work.
 */
function expectLoginCodeStoredByRead(rows: MatchRow[], plan: Plan | { reason: string }): void {
  const stored = rows.some((row) => row.login_code_stored);
  const expected = "action" in plan && plan.action === "sign_in" && !plan.refresh;
  if (stored === expected) return;
  const outcome = "action" in plan ? plan.action : plan.reason;
  throw new Error(
    `The account read ${stored ? "stored" : "did not store"} the login code, but the planned outcome is ${outcome}.`,
  );
}

async function writePlan(deps: Dependencies, input: ResolveAccountInput, plan: Plan): Promise<void> {
  const { db } = deps;
  const now = deps.clock.now().toISOString();
  const storedCode = storeLoginCodeStatement(
    input.loginCode,
    input.provider,
    sql`SELECT ${plan.userId}::uuid AS id`,
    deps.clock.now(),
  );

  if (plan.action === "sign_in") {
    if (!plan.refresh) return;
    await db.batch([db.execute(await refreshOAuthAccountStatement(deps, input, plan.userId)), db.execute(storedCode)]);
    return;
  }

  const linked = await insertOAuthAccountStatement(deps, input, plan.userId);
  const audited = auditEventStatement(deps, {
    action: "oauth.linked",
    actorUserId: plan.userId,
    targetUserId: plan.userId,
    metadata: {
      provider: input.provider,
      via: plan.action === "create" ? "new_account" : plan.via,
      took_over_pending: plan.action === "link" && plan.takeOverPending,
    },
  });

  if (plan.action === "create") {
    // Only a verified address goes on the account; an unverified one stays on oauth_accounts.
    const email = input.identity.emailVerified ? input.identity.email : null;
    await db.batch([
      db.execute(sql`
        INSERT INTO users (id, email, status, is_email_verified, created_at, updated_at)
        VALUES (${plan.userId}, ${email}, 'active', ${email !== null}, ${now}::timestamptz, ${now}::timestamptz)`),
      db.execute(linked),
      db.execute(audited),
      db.execute(storedCode),
    ]);
    return;
  }

  if (plan.takeOverPending) {
    await db.batch([
      db.execute(takeOverPendingStatement(plan.userId, now)),
      db.execute(linked),
      db.execute(audited),
      db.execute(storedCode),
    ]);
    return;
  }
  await db.batch([db.execute(linked), db.execute(audited), db.execute(storedCode)]);
}

/**
 * Activate a pending account whose email the provider verified, and drop what its unverified
 * registration chose: the password (so the person who set it cannot sign in), the username and any
 * live sign-up code. The conditional update means a parallel email verification that won first keeps
 * the password its owner proved.
 */
function takeOverPendingStatement(userId: string, now: string): SQL {
  return sql`
    WITH taken AS (
      UPDATE users SET status = 'active', is_email_verified = true, username = NULL, updated_at = ${now}::timestamptz
      WHERE id = ${userId} AND status = 'pending_verification'
      RETURNING id
    ),
    dropped_password AS (DELETE FROM auth_credentials WHERE user_id IN (SELECT id FROM taken)),
    dropped_codes AS (DELETE FROM verifications WHERE user_id IN (SELECT id FROM taken) AND purpose = 'signup')
    SELECT count(*) AS taken FROM taken`;
}

async function insertOAuthAccountStatement(deps: Dependencies, input: ResolveAccountInput, userId: string) {
  const now = deps.clock.now().toISOString();
  const tokens = await tokenColumns(deps, input, userId);
  return sql`
    INSERT INTO oauth_accounts (user_id, provider, provider_user_id, email, email_verified,
                                access_token_encrypted, refresh_token_encrypted, token_expires_at, created_at, updated_at)
    VALUES (${userId}, ${input.provider}, ${input.identity.providerUserId}, ${input.identity.email},
            ${input.identity.emailVerified}, ${tokens.access}, ${tokens.refresh}, ${tokens.expiresAt}::timestamptz,
            ${now}::timestamptz, ${now}::timestamptz)`;
}

async function refreshOAuthAccountStatement(deps: Dependencies, input: ResolveAccountInput, userId: string) {
  const now = deps.clock.now().toISOString();
  const tokens = await tokenColumns(deps, input, userId);
  return sql`
    UPDATE oauth_accounts
    SET email = ${input.identity.email}, email_verified = ${input.identity.emailVerified},
        access_token_encrypted = ${tokens.access}, refresh_token_encrypted = ${tokens.refresh},
        token_expires_at = ${tokens.expiresAt}::timestamptz, updated_at = ${now}::timestamptz
    WHERE provider = ${input.provider} AND provider_user_id = ${input.identity.providerUserId} AND user_id = ${userId}`;
}

/** Build the associated data that binds an encrypted provider token to its user and provider. */
export function providerTokenAssociatedData(userId: string, provider: OAuthProviderName): string {
  return `oauth_accounts:${userId}:${provider}`;
}

/**
 * Encrypt the provider tokens (AES-256-GCM) for their columns when token storage is on. When it is
 * off, return nulls, which also clear tokens stored while it was on.
 */
async function tokenColumns(deps: Dependencies, input: ResolveAccountInput, userId: string) {
  const { config } = deps;
  if (!config.oauth.storeProviderTokens) return { access: null, refresh: null, expiresAt: null };

  const associatedData = providerTokenAssociatedData(userId, input.provider);
  const { accessToken, refreshToken, expiresInSeconds } = input.tokens;
  return {
    access: await encryptSecret(accessToken, config.encryptionKeys, associatedData),
    refresh: refreshToken === null ? null : await encryptSecret(refreshToken, config.encryptionKeys, associatedData),
    expiresAt:
      expiresInSeconds === null ? null : new Date(deps.clock.now().getTime() + expiresInSeconds * 1000).toISOString(),
  };
}
