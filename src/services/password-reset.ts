import { sql } from "drizzle-orm";
import { passwordChangedMail, passwordNotSetMail, passwordResetMail } from "../adapters/mail/templates";
import { sha256Hex } from "../crypto/hashing";
import { hashPassword } from "../crypto/password-hash";
import { generateRandomToken } from "../crypto/random";
import type { FieldError } from "../errors";
import type { Dependencies } from "../http/context";
import { addSeconds } from "../lib/clock";
import { auditEventStatement } from "./audit";
import { checkNewPassword } from "./breached-passwords";
import { limitForgotPassword } from "./rate-limit";

export const PASSWORD_RESET_TTL_SECONDS = 30 * 60;

const RESET_TOKEN_BYTES = 32;

export type ForgotPasswordResult =
  | { ok: true; body: { status: "email_sent_if_account_exists" } }
  | { ok: false; reason: "rate_limited"; retryAfterSeconds: number };

type ForgotRow = { issued: boolean; has_password: boolean; status: string };

/**
 * Email a password-reset link to the account of `email`, if it has one that may reset.
 *
 * Every address gets the same response after the same single statement, and the mail goes out
 * after the response, so neither the response nor its timing shows whether an account exists. A
 * new link replaces the previous one, because the account stores the hash of only one token.
 * Accounts without a password (they sign in with a provider or a code) get a notice instead of a
 * link: a reset would create their first password from the mailbox alone, which the account
 * settings already offer after a normal sign-in.
 */
export async function requestPasswordReset(deps: Dependencies, email: string): Promise<ForgotPasswordResult> {
  const { config, clock } = deps;
  const now = clock.now();
  const limit = await limitForgotPassword(deps, email);
  if (!limit.allowed) return { ok: false, reason: "rate_limited", retryAfterSeconds: limit.retryAfterSeconds };

  const token = generateRandomToken(RESET_TOKEN_BYTES);
  const tokenHash = await sha256Hex(token);
  const expiresAt = addSeconds(now, PASSWORD_RESET_TTL_SECONDS).toISOString();
  const nowText = now.toISOString();

  const result = await deps.db.execute<ForgotRow>(sql`
    WITH issued AS (
      UPDATE auth_credentials AS c
      SET password_reset_token_hash = ${tokenHash}, password_reset_expires = ${expiresAt}::timestamptz,
          updated_at = ${nowText}::timestamptz
      FROM users AS u
      WHERE u.id = c.user_id AND u.email = ${email} AND u.status IN ('active', 'pending_verification')
      RETURNING c.user_id AS id
    ),
    audited AS (${auditEventStatement(deps, { action: "password.reset_requested" }, sql`SELECT id FROM issued`)})
    SELECT EXISTS (SELECT 1 FROM issued) AS issued,
           EXISTS (SELECT 1 FROM auth_credentials AS c WHERE c.user_id = u.id) AS has_password, u.status
    FROM users AS u WHERE u.email = ${email}`);

  const row = result.rows[0];
  if (row?.issued) {
    const resetUrl = `${config.appUrl}/reset-password?token=${token}`;
    deps.waitUntil(deps.mailer.send({ to: email, ...passwordResetMail(resetUrl, PASSWORD_RESET_TTL_SECONDS / 60) }));
  } else if (row !== undefined && !row.has_password && row.status === "active") {
    deps.waitUntil(deps.mailer.send({ to: email, ...passwordNotSetMail(config.appUrl) }));
  }
  deps.log.info("password_reset_requested", { issued: row?.issued ?? false });
  return { ok: true, body: { status: "email_sent_if_account_exists" } };
}

export type ResetPasswordResult =
  | { ok: true }
  | { ok: false; reason: "invalid_token" }
  | { ok: false; reason: "weak_password"; error: FieldError };

type ResetTarget = { id: string; email: string | null; username: string | null };

/**
 * Set a new password with a reset token, in two round trips: a read that finds the account (its
 * email and username feed the password policy), then one conditional statement that consumes the
 * token. That statement matches the token hash only while it is unexpired and unused, so of many
 * parallel resets with one token exactly one succeeds.
 *
 * The same statement clears the lockout, revokes every session, marks the email verified and
 * activates a pending account (opening the link proves the address), and records the audit event.
 */
export async function resetPassword(
  deps: Dependencies,
  input: { token: string; password: string },
): Promise<ResetPasswordResult> {
  const { config, db, clock } = deps;
  const now = clock.now();
  const nowText = now.toISOString();
  const tokenHash = await sha256Hex(input.token);
  const redeemable = sql`c.password_reset_token_hash = ${tokenHash} AND c.password_reset_expires > ${nowText}::timestamptz
    AND u.status IN ('active', 'pending_verification')`;

  const found = await db.execute<ResetTarget>(sql`
    SELECT u.id, u.email, u.username FROM auth_credentials AS c JOIN users AS u ON u.id = c.user_id
    WHERE ${redeemable}`);
  const target = found.rows[0];
  if (target === undefined) return { ok: false, reason: "invalid_token" };

  const passwordError = await checkNewPassword(deps, input.password, target, "password");
  if (passwordError !== null) return { ok: false, reason: "weak_password", error: passwordError };
  const password = await hashPassword(input.password, config.passwordPepper);

  const result = await db.execute<{ id: string; email: string | null }>(sql`
    WITH consumed AS (
      UPDATE auth_credentials AS c
      SET password_hash = ${password.hash}, password_algo = ${password.algo}, password_set_at = ${nowText}::timestamptz,
          password_reset_token_hash = NULL, password_reset_expires = NULL,
          failed_attempts = 0, last_failed_at = NULL, locked_until = NULL, updated_at = ${nowText}::timestamptz
      FROM users AS u
      WHERE u.id = c.user_id AND ${redeemable}
      RETURNING c.user_id AS id
    ),
    verified AS (
      UPDATE users AS u
      SET is_email_verified = true,
          status = CASE WHEN u.status = 'pending_verification' THEN 'active' ELSE u.status END,
          updated_at = ${nowText}::timestamptz
      FROM consumed
      WHERE u.id = consumed.id
      RETURNING u.id, u.email
    ),
    revoked AS (
      UPDATE auth_sessions AS s
      SET revoked_at = ${nowText}::timestamptz, revoked_reason = 'password_reset'
      FROM consumed
      WHERE s.user_id = consumed.id AND s.revoked_at IS NULL
      RETURNING s.id
    ),
    audited AS (${auditEventStatement(deps, { action: "password.reset" }, sql`SELECT id FROM consumed`)})
    SELECT verified.id, verified.email FROM verified`);

  const row = result.rows[0];
  if (row === undefined) return { ok: false, reason: "invalid_token" };

  deps.log.info("password_reset", { user_id: row.id });
  if (row.email !== null) {
    deps.waitUntil(deps.mailer.send({ to: row.email, ...passwordChangedMail(config.appUrl, "reset") }));
  }
  return { ok: true };
}
