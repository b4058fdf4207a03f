import { sql } from "drizzle-orm";
import { hashPassword, verifyPassword, verifyPasswordAgainstDummyHash } from "../crypto/password-hash";
import type { Dependencies } from "../http/context";
import { describeError } from "../lib/logger";
import { auditEventStatement } from "./audit";
import { type LoginIdentifier, normaliseLoginIdentifier } from "./login-identifier";
import {
  readUnknownIdentifierThrottle,
  recordAccountFailure,
  recordUnknownIdentifierFailure,
  secondsUntilUnlocked,
  type FailureOutcome,
  type UnknownIdentifierThrottle,
  unknownIdentifierLockSeconds,
} from "./login-throttle";
import { openSessionStatement, prepareNewSession } from "./sessions";
import { buildTokenResponse, type TokenResponse } from "./tokens";
import { toUserView, type UserRow, userColumnsOf } from "./user-view";

export type LoginResult =
  | { ok: true; tokens: TokenResponse }
  | { ok: false; reason: "invalid_credentials" | "email_not_verified" | "account_suspended" }
  | { ok: false; reason: "locked"; retryAfterSeconds: number };

type AccountRow = UserRow & { password_hash: string; locked_until: Date | string | null };

// The user columns and session id are null when no session was opened.
type CompletedRow = UserRow & { credential_locked_until: Date | string | null; session_id: string | null };

/**
 * Sign in with an identifier (email, username or mobile number) and a password, in two database
 * round trips: one read of the account, then one statement that records the outcome.
 *
 * An identifier without an account, or whose account has no password or was deleted, gets the
 * same responses as a wrong password, after the same password hashing work, and is throttled by a
 * KV counter. The account's status is revealed only after a correct password.
 */
export async function signInWithPassword(
  deps: Dependencies,
  input: { identifier: string; password: string; userAgent: string | undefined },
): Promise<LoginResult> {
  const identifier = normaliseLoginIdentifier(input.identifier, deps.config.defaultPhoneRegion);
  // The KV read runs for every identifier, in parallel with the database read, so that unknown
  // identifiers take no extra time.
  const [account, throttle] = await Promise.all([
    findAccount(deps, identifier),
    readThrottleFailingOpen(deps, identifier.throttleKey),
  ]);
  if (account === null) return failUnknownIdentifier(deps, input.password, throttle);

  const now = deps.clock.now();
  const lockedForSeconds = secondsUntilUnlocked(account.locked_until, now);
  if (lockedForSeconds > 0) return { ok: false, reason: "locked", retryAfterSeconds: lockedForSeconds };

  const verification = await verifyPassword(input.password, account.password_hash, deps.config.passwordPepper);
  if (!verification.ok) {
    const outcome = await recordAccountFailure(deps, account.id, "wrong_password");
    deps.log.info("login_failed", { user_id: account.id });
    return outcome.locked
      ? { ok: false, reason: "locked", retryAfterSeconds: outcome.retryAfterSeconds }
      : { ok: false, reason: "invalid_credentials" };
  }

  if (account.status !== "active") {
    const reason = account.status === "suspended" ? "account_suspended" : "email_not_verified";
    await deps.db.execute(
      auditEventStatement(deps, { action: "login.failed", targetUserId: account.id, metadata: { reason } }),
    );
    deps.log.info("login_refused", { user_id: account.id, reason });
    return { ok: false, reason };
  }

  const upgradedHash = verification.needsRehash ? await hashPassword(input.password, deps.config.passwordPepper) : null;
  return completeSignIn(deps, account, upgradedHash, input.userAgent);
}

/**
 * Read the account an identifier names, with its password hash and lockout. Deleted accounts and
 * accounts without a password count as unknown. Mobile numbers identify only once verified.
 */
async function findAccount(deps: Dependencies, identifier: LoginIdentifier): Promise<AccountRow | null> {
  const { email, mobileNumber, username } = identifier;
  const result = await deps.db.execute<AccountRow>(sql`
    SELECT ${userColumnsOf("u")}, c.password_hash, c.locked_until
    FROM users AS u
    JOIN auth_credentials AS c ON c.user_id = u.id
    WHERE u.status <> 'deleted'
      AND (u.email = ${email}
           OR (u.mobile_number = ${mobileNumber} AND u.is_mobile_verified)
           OR lower(u.username) = ${username})
    ORDER BY CASE WHEN u.email = ${email} THEN 0 WHEN u.mobile_number = ${mobileNumber} THEN 1 ELSE 2 END
    LIMIT 1`);
  return result.rows[0] ?? null;
}

/**
 * Read the KV counter of an identifier, or null when KV fails. Login then goes on without it:
 * accounts with a password are counted exactly in Postgres, and an identifier without one has
 * nothing to guess, so a KV outage must not stop every sign-in.
 */
async function readThrottleFailingOpen(
  deps: Dependencies,
  throttleKey: string,
): Promise<UnknownIdentifierThrottle | null> {
  try {
    return await readUnknownIdentifierThrottle(deps, throttleKey);
  } catch (error) {
    deps.log.warn("login_throttle_unavailable", describeError(error));
    return null;
  }
}

async function recordFailureFailingOpen(
  deps: Dependencies,
  throttle: UnknownIdentifierThrottle | null,
): Promise<FailureOutcome> {
  if (throttle === null) return { locked: false };
  try {
    return await recordUnknownIdentifierFailure(deps, throttle);
  } catch (error) {
    deps.log.warn("login_throttle_unavailable", describeError(error));
    return { locked: false };
  }
}

async function failUnknownIdentifier(
  deps: Dependencies,
  password: string,
  throttle: UnknownIdentifierThrottle | null,
): Promise<LoginResult> {
  const lockedForSeconds = throttle === null ? 0 : unknownIdentifierLockSeconds(throttle, deps.clock.now());
  if (lockedForSeconds > 0) return { ok: false, reason: "locked", retryAfterSeconds: lockedForSeconds };

  await verifyPasswordAgainstDummyHash(password, deps.config.passwordPepper);
  // One database write, like the failure counter of a real account, so both take about as long.
  const [, outcome] = await Promise.all([
    deps.db.execute(auditEventStatement(deps, { action: "login.failed", metadata: { reason: "unknown_identifier" } })),
    recordFailureFailingOpen(deps, throttle),
  ]);
  deps.log.info("login_failed", { user_id: null });
  return outcome.locked
    ? { ok: false, reason: "locked", retryAfterSeconds: outcome.retryAfterSeconds }
    : { ok: false, reason: "invalid_credentials" };
}

/**
 * Reset the failure counter, upgrade an outdated hash, stamp `last_login_at`, open the session and
 * audit it, in one statement. The credential row is updated only if it still contains the hash that
 * was verified, so a password reset or change that lands meanwhile wins. A lock set meanwhile is
 * kept and reported instead of a session.
 */
async function completeSignIn(
  deps: Dependencies,
  account: AccountRow,
  upgradedHash: { hash: string; algo: string } | null,
  userAgent: string | undefined,
): Promise<LoginResult> {
  const now = deps.clock.now();
  const nowText = now.toISOString();
  const session = await prepareNewSession(now);
  const unlocked = sql`(c.locked_until IS NULL OR c.locked_until <= ${nowText}::timestamptz)`;

  const result = await deps.db.execute<CompletedRow>(sql`
    WITH credential AS (
      UPDATE auth_credentials AS c
      SET failed_attempts = CASE WHEN ${unlocked} THEN 0 ELSE c.failed_attempts END,
          last_failed_at = CASE WHEN ${unlocked} THEN NULL ELSE c.last_failed_at END,
          locked_until = CASE WHEN ${unlocked} THEN NULL ELSE c.locked_until END,
          password_hash = CASE WHEN ${unlocked} THEN coalesce(${upgradedHash?.hash ?? null}::text, c.password_hash)
                               ELSE c.password_hash END,
          password_algo = CASE WHEN ${unlocked} THEN coalesce(${upgradedHash?.algo ?? null}::text, c.password_algo)
                               ELSE c.password_algo END,
          updated_at = CASE WHEN ${unlocked} THEN ${nowText}::timestamptz ELSE c.updated_at END
      WHERE c.user_id = ${account.id} AND c.password_hash = ${account.password_hash}
      RETURNING c.user_id AS id, c.locked_until
    ),
    signed_in AS (
      UPDATE users AS u
      SET last_login_at = ${nowText}::timestamptz
      FROM credential
      WHERE u.id = credential.id AND u.status = 'active'
        AND (credential.locked_until IS NULL OR credential.locked_until <= ${nowText}::timestamptz)
      RETURNING ${userColumnsOf("u")}
    ),
    opened AS (${openSessionStatement(deps, session, sql`SELECT id FROM signed_in`, userAgent)}),
    audited AS (${auditEventStatement(
      deps,
      { action: "login.succeeded", actorUserId: account.id, metadata: { method: "password" } },
      sql`SELECT id FROM signed_in`,
    )})
    SELECT credential.locked_until AS credential_locked_until, signed_in.*, opened.id AS session_id
    FROM credential LEFT JOIN signed_in ON true LEFT JOIN opened ON true`);

  const row = result.rows[0];
  if (row === undefined) return { ok: false, reason: "invalid_credentials" };
  const lockedForSeconds = secondsUntilUnlocked(row.credential_locked_until, now);
  if (lockedForSeconds > 0) return { ok: false, reason: "locked", retryAfterSeconds: lockedForSeconds };
  if (row.session_id === null) return { ok: false, reason: "invalid_credentials" };

  deps.log.info("login_succeeded", { user_id: row.id, session_id: row.session_id, rehashed: upgradedHash !== null });
  const tokens = await buildTokenResponse(
    deps.config,
    { id: row.session_id, refreshToken: session.refreshToken, expiresAt: session.expiresAt },
    toUserView(row),
    now,
  );
  return { ok: true, tokens };
}
