import { sql, type SQL } from "drizzle-orm";
import { accountExistsMail, verificationCodeMail } from "../adapters/mail/templates";
import { hashPassword } from "../crypto/password-hash";
import type { FieldError } from "../errors";
import type { Dependencies } from "../http/context";
import { maskEmail } from "../lib/mask";
import {
  CODE_TTL_SECONDS,
  type CodeBinding,
  createCode,
  deliverStoredCode,
  discardUndeliveredCodeStatement,
  liveCodeQuery,
  upsertCodeStatement,
} from "./one-time-codes";
import { checkNewPassword } from "./breached-passwords";
import { isUniqueViolation } from "./postgres-errors";
import { codeResendIntervalSeconds, limitCodeSend, limitSignUp } from "./rate-limit";

export interface VerificationRequired {
  status: "verification_required";
  channel: "email";
  destination: string;
  expires_in: number;
}

export type SignUpResult =
  | { ok: true; body: VerificationRequired }
  | { ok: false; reason: "username_taken" }
  | { ok: false; reason: "rate_limited"; retryAfterSeconds: number }
  | { ok: false; reason: "weak_password"; error: FieldError };

type ExistingAccount = {
  id: string;
  email: string | null;
  status: string;
  owns_username: boolean;
};

function verificationRequired(email: string): VerificationRequired {
  return {
    status: "verification_required",
    channel: "email",
    destination: maskEmail(email),
    expires_in: CODE_TTL_SECONDS,
  };
}

function signUpBinding(email: string): CodeBinding {
  return { purpose: "signup", channel: "email", destination: email };
}

/**
 * Register an email and password, or reclaim a pending registration of the same email.
 *
 * The answer is the same whether or not the address already has an account, so sign-up cannot
 * be used to find out who is registered. An existing active account gets a notice instead of a
 * code, and its password is never touched. Two database round trips: one read, one batch.
 *
 * When the code mail fails, the response is 503 and a third round trip deletes the pending account
 * with its password and codes (see `discardUnsentSignUpStatement`), so no password stays that its
 * sender could not confirm. That includes a pending account this request reclaimed. The batch
 * already replaced its password and its live code, so nothing of the earlier registration can be
 * restored, and its owner signs up again.
 */
export async function signUp(
  deps: Dependencies,
  input: { email: string; password: string; username?: string | undefined },
): Promise<SignUpResult> {
  const { config, db, clock } = deps;
  const policyError = await checkNewPassword(deps, input.password, input, "password");
  if (policyError !== null) return { ok: false, reason: "weak_password", error: policyError };

  // Counted before any work, and whatever the address's state, so a 429 reveals nothing about it.
  const limit = await limitSignUp(deps, input.email);
  if (!limit.allowed) return { ok: false, reason: "rate_limited", retryAfterSeconds: limit.retryAfterSeconds };

  // Hash before looking anything up, so every path spends the same time on it.
  const password = await hashPassword(input.password, config.passwordPepper);
  const username = input.username ?? null;

  const found = await db.execute<ExistingAccount>(sql`
    SELECT id, email, status, coalesce(lower(username) = lower(${username}), false) AS owns_username
    FROM users
    WHERE email = ${input.email} OR (${username}::text IS NOT NULL AND lower(username) = lower(${username}))`);
  const emailOwner = found.rows.find((row) => row.email === input.email);
  const usernameOwner = found.rows.find((row) => row.owns_username);

  // Usernames are public handles, so a taken one is reported. Only a pending account may keep
  // its own username when its owner signs up again.
  const reclaimingOwnUsername =
    usernameOwner !== undefined && usernameOwner.id === emailOwner?.id && emailOwner.status === "pending_verification";
  if (usernameOwner !== undefined && !reclaimingOwnUsername) return { ok: false, reason: "username_taken" };

  if (emailOwner !== undefined && emailOwner.status !== "pending_verification") {
    await notifyExistingAccount(deps, input.email);
    return { ok: true, body: verificationRequired(input.email) };
  }

  const now = clock.now();
  const { code, codeHash } = await createCode(config.codeHashKey, signUpBinding(input.email));
  const pendingAccount = sql`SELECT id FROM users WHERE email = ${input.email} AND status = 'pending_verification'`;
  let created: { rows: { id: string }[] };
  let stored: { rows: { id: number }[] };
  try {
    [created, stored] = await db.batch([
      db.execute<{ id: string }>(sql`
        INSERT INTO users (email, username, status, created_at, updated_at)
        VALUES (${input.email}, ${username}, 'pending_verification', ${now.toISOString()}::timestamptz, ${now.toISOString()}::timestamptz)
        ON CONFLICT (email) DO UPDATE SET username = EXCLUDED.username, updated_at = EXCLUDED.updated_at
          WHERE users.status = 'pending_verification'
        RETURNING id`),
      db.execute<{ id: number }>(
        sql`${upsertCodeStatement(signUpBinding(input.email), codeHash, now, pendingAccount, {
          minimumIntervalSeconds: codeResendIntervalSeconds(deps),
        })} RETURNING id`,
      ),
      // Reclaiming a pending account replaces its password: whoever proves the address next wins.
      // Only together with a fresh code, though. Within the resend interval no code goes out, and a
      // silently replaced password would be the one the code already in the inbox activates.
      db.execute(sql`
        INSERT INTO auth_credentials (user_id, password_hash, password_algo, password_set_at, created_at, updated_at)
        SELECT id, ${password.hash}, ${password.algo}, ${now.toISOString()}::timestamptz, ${now.toISOString()}::timestamptz, ${now.toISOString()}::timestamptz
        FROM (${pendingAccount}) AS pending
        WHERE EXISTS (${liveCodeQuery(signUpBinding(input.email), codeHash)})
        ON CONFLICT (user_id) DO UPDATE SET password_hash = EXCLUDED.password_hash, password_algo = EXCLUDED.password_algo,
          password_set_at = EXCLUDED.password_set_at, updated_at = EXCLUDED.updated_at`),
    ]);
  } catch (error) {
    if (isUniqueViolation(error, "users_username_lower_key")) return { ok: false, reason: "username_taken" };
    throw error;
  }

  if (created.rows.length === 0) {
    // The address was verified by another request between the read and the batch.
    await notifyExistingAccount(deps, input.email);
    return { ok: true, body: verificationRequired(input.email) };
  }

  if (stored.rows.length === 0) {
    // A parallel request sent a code within the resend interval; that code stays the live one.
    deps.log.info("signup_code_not_resent", { user_id: created.rows[0]?.id });
    return { ok: true, body: verificationRequired(input.email) };
  }

  const userId = created.rows[0]?.id ?? null;
  const discard = discardUnsentSignUpStatement(signUpBinding(input.email), codeHash, userId, password.hash);
  await deliverStoredCode(deps, signUpBinding(input.email), code, codeHash, discard, {
    repeatedSignUp: emailOwner !== undefined,
  });
  deps.log.info("signup_code_sent", { user_id: userId });
  return { ok: true, body: verificationRequired(input.email) };
}

/**
 * Build the statement that undoes a sign-up whose code was not sent. It deletes the unsent code and
 * the pending account, whose credential and codes go with it by cascade (a sign-in code requested
 * for the address meanwhile too). The account goes only while it is still pending and still has
 * this request's password hash, which is unique through its random salt, so an account that a later
 * sign-up reclaimed or that was verified in the meantime stays. Rows are locked in the order the
 * sign-up batch locks them, the user before the credential, so a racing sign-up waits rather than
 * deadlocks. After such a wait, Postgres re-checks the credential row's newest version against the
 * hash.
 */
function discardUnsentSignUpStatement(
  binding: CodeBinding,
  codeHash: string,
  userId: string | null,
  passwordHash: string,
): SQL {
  return sql`
    WITH pending AS (
      SELECT id FROM users WHERE id = ${userId} AND status = 'pending_verification' FOR UPDATE),
    written_by_this_request AS (
      SELECT c.user_id FROM auth_credentials AS c JOIN pending ON pending.id = c.user_id
      WHERE c.password_hash = ${passwordHash} FOR UPDATE OF c),
    discarded_account AS (DELETE FROM users WHERE id IN (SELECT user_id FROM written_by_this_request)),
    discarded_code AS (${discardUndeliveredCodeStatement(binding, codeHash)})
    SELECT 1`;
}

export type ResendResult =
  | { ok: true; body: VerificationRequired }
  | { ok: false; reason: "rate_limited"; retryAfterSeconds: number };

/**
 * Send a fresh sign-up code to a pending account, or a notice to an active one, and nothing to an
 * unknown address. The mail goes out after the response, so timing does not reveal which case ran.
 */
export async function resendSignUpCode(deps: Dependencies, email: string): Promise<ResendResult> {
  const { config, db, clock } = deps;
  const limit = await limitCodeSend(deps, email);
  if (!limit.allowed) return { ok: false, reason: "rate_limited", retryAfterSeconds: limit.retryAfterSeconds };

  const now = clock.now();
  const { code, codeHash } = await createCode(config.codeHashKey, signUpBinding(email));
  const pendingAccount = sql`SELECT id FROM users WHERE email = ${email} AND status = 'pending_verification'`;
  const upsert = upsertCodeStatement(signUpBinding(email), codeHash, now, pendingAccount, {
    minimumIntervalSeconds: codeResendIntervalSeconds(deps),
  });

  const result = await db.execute<{ status: string; stored: boolean }>(sql`
    WITH stored AS (${upsert} RETURNING id)
    SELECT status, EXISTS (SELECT 1 FROM stored) AS stored FROM users WHERE email = ${email}`);
  const status = result.rows[0]?.status;

  // Without a stored code, a parallel request sent one within the resend interval; nothing is sent.
  if (status === "pending_verification" && result.rows[0]?.stored === true) {
    deps.waitUntil(deps.mailer.send({ to: email, ...verificationCodeMail(code, CODE_TTL_SECONDS / 60) }));
  } else if (status === "active" || status === "suspended") {
    deps.waitUntil(deps.mailer.send({ to: email, ...accountExistsMail(config.appUrl) }));
  }
  return { ok: true, body: verificationRequired(email) };
}

async function notifyExistingAccount(deps: Dependencies, email: string): Promise<void> {
  await deps.mailer.send({ to: email, ...accountExistsMail(deps.config.appUrl) });
  deps.log.info("signup_existing_account_notified");
}
