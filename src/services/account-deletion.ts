import { sql } from "drizzle-orm";
import { verifyPassword } from "../crypto/password-hash";
import { UpstreamError } from "../errors";
import type { Caller, Dependencies } from "../http/context";
import { auditEventStatement } from "./audit";
import { recordAccountFailure, secondsUntilUnlocked } from "./login-throttle";
import { callerSessionIsLive } from "./sessions";

export type DeleteAccountResult =
  | { ok: true }
  | { ok: false; reason: "unauthorized" | "invalid_credentials" | "password_required" }
  | { ok: false; reason: "locked"; retryAfterSeconds: number };

type DeletionTarget = {
  password_hash: string | null;
  locked_until: Date | string | null;
  government_id_object_key: string | null;
  business_cert_object_key: string | null;
};

/**
 * Delete the caller's account. The users row stays, scrubbed, with status `deleted`, so audit
 * events and review records keep a valid reference; everything that identifies the person goes:
 * email, username and mobile number are released for reuse, the password, linked providers,
 * one-time codes, OAuth login codes, profile and sessions are deleted. KYC details and documents
 * go too, unless KYC_RETENTION_DAYS is above 0. Then the scheduled cleanup deletes them once that
 * many days have passed since `updated_at`, which this statement sets to the deletion time.
 *
 * Documents are removed from R2 before the database changes: if R2 fails, the request answers 503
 * and nothing has changed, and a retry starts over. Two round trips: one read, one statement.
 */
export async function deleteAccount(
  deps: Dependencies,
  caller: Caller,
  input: { password: string | undefined },
): Promise<DeleteAccountResult> {
  const { config, db, clock } = deps;
  const now = clock.now();
  const nowText = now.toISOString();

  const found = await db.execute<DeletionTarget>(sql`
    SELECT c.password_hash, c.locked_until, k.government_id_object_key, k.business_cert_object_key
    FROM users AS u
    LEFT JOIN auth_credentials AS c ON c.user_id = u.id
    LEFT JOIN user_kyc AS k ON k.user_id = u.id
    WHERE u.id = ${caller.userId} AND u.status <> 'deleted' AND ${callerSessionIsLive(caller, now)}`);
  const target = found.rows[0];
  if (target === undefined) return { ok: false, reason: "unauthorized" };

  if (target.password_hash !== null) {
    if (input.password === undefined) return { ok: false, reason: "password_required" };
    const lockedForSeconds = secondsUntilUnlocked(target.locked_until, now);
    if (lockedForSeconds > 0) return { ok: false, reason: "locked", retryAfterSeconds: lockedForSeconds };
    const verification = await verifyPassword(input.password, target.password_hash, config.passwordPepper);
    if (!verification.ok) {
      const outcome = await recordAccountFailure(deps, caller.userId, "wrong_current_password");
      return outcome.locked
        ? { ok: false, reason: "locked", retryAfterSeconds: outcome.retryAfterSeconds }
        : { ok: false, reason: "invalid_credentials" };
    }
  }

  const keepKyc = config.kycRetentionDays > 0;
  if (!keepKyc) {
    const objectKeys = [target.government_id_object_key, target.business_cert_object_key].filter(
      (key): key is string => key !== null,
    );
    if (objectKeys.length > 0) {
      try {
        await deps.bucket.delete(objectKeys);
      } catch (error) {
        throw new UpstreamError("r2", "Deleting KYC documents failed", { cause: error });
      }
    }
  }

  const user = caller.userId;
  await db.batch([
    db.execute(sql`DELETE FROM auth_sessions WHERE user_id = ${user}`),
    db.execute(sql`DELETE FROM auth_credentials WHERE user_id = ${user}`),
    db.execute(sql`DELETE FROM oauth_accounts WHERE user_id = ${user}`),
    db.execute(sql`DELETE FROM verifications WHERE user_id = ${user}`),
    db.execute(sql`DELETE FROM oauth_login_codes WHERE user_id = ${user}`),
    db.execute(sql`DELETE FROM user_profile WHERE user_id = ${user}`),
    db.execute(keepKyc ? sql`SELECT 1` : sql`DELETE FROM user_kyc WHERE user_id = ${user}`),
    db.execute(sql`
      UPDATE users
      SET status = 'deleted', email = NULL, username = NULL, mobile_number = NULL, is_email_verified = false,
          is_mobile_verified = false, profile_setup_at = NULL, updated_at = ${nowText}::timestamptz
      WHERE id = ${user}`),
    db.execute(
      auditEventStatement(deps, {
        action: "user.deleted",
        actorUserId: user,
        targetUserId: user,
        metadata: { kyc_retained: keepKyc },
      }),
    ),
  ]);

  deps.log.info("account_deleted", { user_id: user, kyc_retained: keepKyc });
  return { ok: true };
}
