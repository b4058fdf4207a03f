import { sql } from "drizzle-orm";
import type { Dependencies } from "../http/context";
import { type CodeBinding, consumeCodeStatement, hashCode } from "./one-time-codes";
import { auditEventStatement, logSecurityEvent } from "./audit";
import { limitCodeCheck } from "./rate-limit";
import { openSessionStatement, prepareNewSession } from "./sessions";
import { buildTokenResponse, type TokenResponse } from "./tokens";
import { toUserView, type UserRow } from "./user-view";

export type VerifyEmailResult =
  | { ok: true; tokens: TokenResponse }
  | { ok: false; reason: "invalid_code" }
  | { ok: false; reason: "rate_limited"; retryAfterSeconds: number };

type ActivatedRow = UserRow & { session_id: string };

/**
 * Verify a sign-up code and, in the same statement, activate the account and open its first
 * session. One round trip, and race-safe: the conditional update on the code row lets exactly one
 * of several parallel verifications consume it. A wrong code counts an attempt; the fifth burns
 * the code. A locked account cannot verify, because the lockout covers every credential check.
 */
export async function verifyEmailAndSignIn(
  deps: Dependencies,
  input: { email: string; code: string; userAgent: string | undefined },
): Promise<VerifyEmailResult> {
  const { config, db, clock } = deps;
  const limit = await limitCodeCheck(deps);
  if (!limit.allowed) return { ok: false, reason: "rate_limited", retryAfterSeconds: limit.retryAfterSeconds };

  const now = clock.now();
  const nowText = now.toISOString();
  const binding: CodeBinding = { purpose: "signup", channel: "email", destination: input.email };
  const codeHash = await hashCode(config.codeHashKey, binding, input.code);
  const session = await prepareNewSession(now);
  const notLocked = sql`NOT EXISTS (
    SELECT 1 FROM auth_credentials AS c WHERE c.user_id = v.user_id AND c.locked_until > ${nowText}::timestamptz)`;

  const result = await db.execute<ActivatedRow>(sql`
    WITH consumed AS (${consumeCodeStatement(binding, codeHash, now, notLocked)}),
    activated AS (
      UPDATE users AS u
      SET status = 'active', is_email_verified = true, last_login_at = ${nowText}::timestamptz, updated_at = ${nowText}::timestamptz
      FROM consumed
      WHERE u.id = consumed.user_id AND consumed.matched AND u.status = 'pending_verification' AND u.email = ${input.email}
      RETURNING u.id, u.username, u.email, u.mobile_number, u.status, u.role, u.is_email_verified, u.is_mobile_verified,
                u.profile_setup_at, u.last_login_at, u.created_at, u.updated_at
    ),
    opened AS (${openSessionStatement(deps, session, sql`SELECT id FROM activated`, input.userAgent)}),
    audited AS (${auditEventStatement(deps, { action: "signup.verified" }, sql`SELECT id FROM activated`)})
    SELECT activated.*, opened.id AS session_id FROM activated CROSS JOIN opened`);

  const row = result.rows[0];
  if (row === undefined) {
    deps.log.info("email_verification_failed");
    return { ok: false, reason: "invalid_code" };
  }

  logSecurityEvent(deps, { action: "signup.verified", targetUserId: row.id, metadata: { session_id: row.session_id } });
  const tokens = await buildTokenResponse(
    config,
    { id: row.session_id, refreshToken: session.refreshToken, expiresAt: session.expiresAt },
    toUserView(row),
    now,
  );
  return { ok: true, tokens };
}
