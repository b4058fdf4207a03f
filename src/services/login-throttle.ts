import { sql } from "drizzle-orm";
import { accountLockedMail } from "../adapters/mail/templates";
import { hmacSha256Hex } from "../crypto/hashing";
import type { Dependencies } from "../http/context";
import { toDate } from "../db/rows";
import { addSeconds } from "../lib/clock";
import { auditEventStatement } from "./audit";

/** Consecutive failures within the window that lock an identifier. */
export const LOGIN_MAX_FAILURES = 5;
export const LOGIN_FAILURE_WINDOW_SECONDS = 15 * 60;
export const LOGIN_LOCK_SECONDS = 15 * 60;

// Whole seconds until `lockedUntil`, at least 1 while the lock holds, or 0 when there is none.
export function secondsUntilUnlocked(lockedUntil: Date | string | null, now: Date): number {
  if (lockedUntil === null) return 0;
  const remainingMs = toDate(lockedUntil).getTime() - now.getTime();
  return remainingMs > 0 ? Math.ceil(remainingMs / 1000) : 0;
}

export type FailureOutcome = { locked: false } | { locked: true; retryAfterSeconds: number };

type CountedRow = { locked_now: boolean; email: string | null };

/**
 * Count a failed password check against an account and lock it on the fifth failure in a row
 * within the window, in one conditional statement with its audit events. Each parallel failure
 * waits for the row lock and then counts on the latest row, so the count stays exact under load.
 * A failure that arrives while the account is already locked changes nothing.
 */
export async function recordAccountFailure(
  deps: Dependencies,
  userId: string,
  reason: "wrong_password" | "wrong_current_password",
): Promise<FailureOutcome> {
  const now = deps.clock.now();
  const nowText = now.toISOString();
  const lockedUntil = addSeconds(now, LOGIN_LOCK_SECONDS).toISOString();
  const windowStart = addSeconds(now, -LOGIN_FAILURE_WINDOW_SECONDS).toISOString();
  const failuresAfterThis = sql`(CASE WHEN c.last_failed_at > ${windowStart}::timestamptz THEN c.failed_attempts ELSE 0 END + 1)`;

  // The counter restarts at 0 when the lock is set, so failures after it expires count afresh.
  const result = await deps.db.execute<CountedRow>(sql`
    WITH counted AS (
      UPDATE auth_credentials AS c
      SET failed_attempts = CASE WHEN ${failuresAfterThis} >= ${LOGIN_MAX_FAILURES} THEN 0 ELSE ${failuresAfterThis} END,
          last_failed_at = ${nowText}::timestamptz,
          locked_until = CASE WHEN ${failuresAfterThis} >= ${LOGIN_MAX_FAILURES} THEN ${lockedUntil}::timestamptz
                              ELSE c.locked_until END,
          updated_at = ${nowText}::timestamptz
      WHERE c.user_id = ${userId} AND (c.locked_until IS NULL OR c.locked_until <= ${nowText}::timestamptz)
      RETURNING c.user_id AS id, c.locked_until = ${lockedUntil}::timestamptz AS locked_now
    ),
    failed AS (${auditEventStatement(deps, { action: "login.failed", targetUserId: userId, metadata: { reason } })}),
    locked AS (${auditEventStatement(
      deps,
      { action: "login.locked", metadata: { lock_seconds: LOGIN_LOCK_SECONDS } },
      sql`SELECT id FROM counted WHERE locked_now`,
    )})
    SELECT counted.locked_now, u.email FROM counted JOIN users AS u ON u.id = counted.id`);

  const row = result.rows[0];
  if (row === undefined) {
    // Another request locked the account after this request read it. That lock started a moment
    // ago, so the full lock time is accurate to within the length of that race.
    return { locked: true, retryAfterSeconds: LOGIN_LOCK_SECONDS };
  }
  if (!row.locked_now) return { locked: false };

  deps.log.warn("login_locked", { user_id: userId });
  if (row.email !== null) {
    deps.waitUntil(
      deps.mailer.send({ to: row.email, ...accountLockedMail(deps.config.appUrl, LOGIN_LOCK_SECONDS / 60) }),
    );
  }
  return { locked: true, retryAfterSeconds: LOGIN_LOCK_SECONDS };
}

// --- Identifiers without an account ---------------------------------------------------------------

/**
 * Failure counters for identifiers that match no account with a password, kept in KV so that such
 * identifiers are throttled like real ones without writing rows for them.
 *
 * NOTE: KV is eventually consistent and takes about one write per second per key, so parallel
 * failures on one unknown identifier can undercount. No account is behind such an identifier, so
 * an undercount opens no brute-force window; counters for real accounts live in Postgres.
 */
export interface UnknownIdentifierThrottle {
  key: string;
  failedAttempts: number;
  lastFailedAtMs: number | null;
  lockedUntilMs: number | null;
}

// Longer than the window and the lock, so an entry outlives every decision made from it. KV
// expiry runs on real time while decisions use the stored timestamps, so a frozen test clock works.
const UNKNOWN_IDENTIFIER_TTL_SECONDS = LOGIN_FAILURE_WINDOW_SECONDS + LOGIN_LOCK_SECONDS;

/**
 * Read the counter of an identifier. The KV key is an HMAC of the normalised identifier, so KV
 * never contains an email address or phone number.
 */
export async function readUnknownIdentifierThrottle(
  deps: Dependencies,
  throttleKey: string,
): Promise<UnknownIdentifierThrottle> {
  const key = `login-failures:${await hmacSha256Hex(deps.config.codeHashKey, `login-throttle\n${throttleKey}`)}`;
  const stored = await deps.kv.get<Partial<UnknownIdentifierThrottle>>(key, "json");
  return {
    key,
    failedAttempts: typeof stored?.failedAttempts === "number" ? stored.failedAttempts : 0,
    lastFailedAtMs: typeof stored?.lastFailedAtMs === "number" ? stored.lastFailedAtMs : null,
    lockedUntilMs: typeof stored?.lockedUntilMs === "number" ? stored.lockedUntilMs : null,
  };
}

export function unknownIdentifierLockSeconds(throttle: UnknownIdentifierThrottle, now: Date): number {
  return throttle.lockedUntilMs === null ? 0 : secondsUntilUnlocked(new Date(throttle.lockedUntilMs), now);
}

/** Count a failure for an unknown identifier with the same rules as the database counter. */
export async function recordUnknownIdentifierFailure(
  deps: Dependencies,
  throttle: UnknownIdentifierThrottle,
): Promise<FailureOutcome> {
  const nowMs = deps.clock.now().getTime();
  const withinWindow =
    throttle.lastFailedAtMs !== null && throttle.lastFailedAtMs > nowMs - LOGIN_FAILURE_WINDOW_SECONDS * 1000;
  const failuresAfterThis = (withinWindow ? throttle.failedAttempts : 0) + 1;
  const locks = failuresAfterThis >= LOGIN_MAX_FAILURES;

  const next = {
    failedAttempts: locks ? 0 : failuresAfterThis,
    lastFailedAtMs: nowMs,
    lockedUntilMs: locks ? nowMs + LOGIN_LOCK_SECONDS * 1000 : throttle.lockedUntilMs,
  };
  try {
    await deps.kv.put(throttle.key, JSON.stringify(next), { expirationTtl: UNKNOWN_IDENTIFIER_TTL_SECONDS });
  } catch (error) {
    // KV rejects writes above its per-key rate. Nothing is protected by this counter, so the
    // login still responds like any other failure instead of failing.
    deps.log.warn("login_throttle_write_failed", { error_name: error instanceof Error ? error.name : "unknown" });
  }
  return locks ? { locked: true, retryAfterSeconds: LOGIN_LOCK_SECONDS } : { locked: false };
}
