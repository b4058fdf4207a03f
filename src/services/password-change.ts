import { sql } from "drizzle-orm";
import { passwordChangedMail } from "../adapters/mail/templates";
import { hashPassword, verifyPassword } from "../crypto/password-hash";
import type { FieldError } from "../errors";
import type { Caller, Dependencies } from "../http/context";
import { auditEventStatement } from "./audit";
import { checkNewPassword } from "./breached-passwords";
import { recordAccountFailure, secondsUntilUnlocked } from "./login-throttle";
import { callerSessionIsLive } from "./sessions";

export type ChangePasswordResult =
  | { ok: true }
  | { ok: false; reason: "unauthorized" | "invalid_credentials" }
  | { ok: false; reason: "current_password_required" }
  | { ok: false; reason: "locked"; retryAfterSeconds: number }
  | { ok: false; reason: "weak_password"; error: FieldError };

type ChangeTarget = {
  email: string | null;
  username: string | null;
  password_hash: string | null;
  locked_until: Date | string | null;
};

/**
 * Change the caller's password, or set a first one on an account that has none, and revoke every
 * other session. Two round trips: a read of the account through the caller's live session, then
 * one statement that writes the password. That statement writes only while the session is still
 * live and the stored hash is still the one that was verified, so a concurrent change or reset
 * wins instead of being overwritten.
 *
 * A wrong current password counts toward the sign-in lockout, so a stolen access token cannot be
 * used to guess the password.
 */
export async function changePassword(
  deps: Dependencies,
  caller: Caller,
  input: { currentPassword: string | undefined; newPassword: string },
): Promise<ChangePasswordResult> {
  const { config, db, clock } = deps;
  const now = clock.now();
  const nowText = now.toISOString();

  const found = await db.execute<ChangeTarget>(sql`
    SELECT u.email, u.username, c.password_hash, c.locked_until
    FROM users AS u LEFT JOIN auth_credentials AS c ON c.user_id = u.id
    WHERE u.id = ${caller.userId} AND ${callerSessionIsLive(caller, now)}`);
  const target = found.rows[0];
  if (target === undefined) return { ok: false, reason: "unauthorized" };

  if (target.password_hash !== null) {
    if (input.currentPassword === undefined) return { ok: false, reason: "current_password_required" };
    const lockedForSeconds = secondsUntilUnlocked(target.locked_until, now);
    if (lockedForSeconds > 0) return { ok: false, reason: "locked", retryAfterSeconds: lockedForSeconds };

    const verification = await verifyPassword(input.currentPassword, target.password_hash, config.passwordPepper);
    if (!verification.ok) {
      const outcome = await recordAccountFailure(deps, caller.userId, "wrong_current_password");
      return outcome.locked
        ? { ok: false, reason: "locked", retryAfterSeconds: outcome.retryAfterSeconds }
        : { ok: false, reason: "invalid_credentials" };
    }
  }

  const passwordError = await checkNewPassword(deps, input.newPassword, target, "new_password");
  if (passwordError !== null) return { ok: false, reason: "weak_password", error: passwordError };
  const password = await hashPassword(input.newPassword, config.passwordPepper);

  // With no stored hash the INSERT creates the first password; a row that appeared meanwhile
  // fails the `password_hash = NULL` guard, so nothing is overwritten.
  const result = await db.execute<{ id: string }>(sql`
    WITH changed AS (
      INSERT INTO auth_credentials AS c (user_id, password_hash, password_algo, password_set_at, created_at, updated_at)
      SELECT ${caller.userId}::uuid, ${password.hash}, ${password.algo}, ${nowText}::timestamptz,
             ${nowText}::timestamptz, ${nowText}::timestamptz
      WHERE ${callerSessionIsLive(caller, now)}
      ON CONFLICT (user_id) DO UPDATE
      SET password_hash = EXCLUDED.password_hash, password_algo = EXCLUDED.password_algo,
          password_set_at = EXCLUDED.password_set_at, password_reset_token_hash = NULL, password_reset_expires = NULL,
          failed_attempts = 0, last_failed_at = NULL, locked_until = NULL, updated_at = EXCLUDED.updated_at
      WHERE c.password_hash = ${target.password_hash}::text
        AND (c.locked_until IS NULL OR c.locked_until <= ${nowText}::timestamptz)
      RETURNING c.user_id AS id
    ),
    revoked AS (
      UPDATE auth_sessions AS s
      SET revoked_at = ${nowText}::timestamptz, revoked_reason = 'password_changed'
      FROM changed
      WHERE s.user_id = changed.id AND s.id <> ${caller.sessionId} AND s.revoked_at IS NULL
      RETURNING s.id
    ),
    audited AS (${auditEventStatement(
      deps,
      {
        action: "password.changed",
        actorUserId: caller.userId,
        metadata: { first_password: target.password_hash === null },
      },
      sql`SELECT id FROM changed`,
    )})
    SELECT id FROM changed`);

  if (result.rows.length === 0) return { ok: false, reason: "invalid_credentials" };

  deps.log.info("password_changed", { user_id: caller.userId, session_id: caller.sessionId });
  if (target.email !== null) {
    deps.waitUntil(deps.mailer.send({ to: target.email, ...passwordChangedMail(config.appUrl, "changed") }));
  }
  return { ok: true };
}
