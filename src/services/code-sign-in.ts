import { sql, type SQL } from "drizzle-orm";
import { toDate } from "../db/rows";
import { describeError } from "../lib/logger";
import type { Dependencies } from "../http/context";
import { auditEventStatement } from "./audit";
import { type CodeSent, codeSent, normaliseDestination } from "./code-destinations";
import {
  type ApiCodeChannel,
  type CodeBinding,
  codeChannelOf,
  consumeCodeStatement,
  hashCode,
  issueCode,
} from "./one-time-codes";
import { limitCodeCheck, limitCodeSend } from "./rate-limit";
import { readUnknownIdentifierThrottle, unknownIdentifierLockSeconds } from "./login-throttle";
import { throttleKeyForDestination } from "./login-identifier";
import { openSessionStatement, prepareNewSession } from "./sessions";
import { buildTokenResponse, type TokenResponse } from "./tokens";
import { toUserView, type UserRow } from "./user-view";

export type RequestSignInCodeResult =
  | { ok: true; body: CodeSent }
  | { ok: false; reason: "invalid_destination"; message: string }
  | { ok: false; reason: "rate_limited"; retryAfterSeconds: number };

export type VerifySignInCodeResult =
  | { ok: true; tokens: TokenResponse; created: boolean }
  | { ok: false; reason: "invalid_destination"; message: string }
  | { ok: false; reason: "invalid_code" }
  | { ok: false; reason: "locked"; retryAfterSeconds: number }
  | { ok: false; reason: "account_suspended" }
  | { ok: false; reason: "rate_limited"; retryAfterSeconds: number };

interface SignInInput {
  channel: ApiCodeChannel;
  destination: string;
}

// Column names for each channel, fixed here and never taken from a request.
const ACCOUNT_COLUMNS = {
  email: { identifier: sql.raw("email"), verified: sql.raw("is_email_verified") },
  mobile: { identifier: sql.raw("mobile_number"), verified: sql.raw("is_mobile_verified") },
} as const;

const USER_RETURNING = sql.raw(
  "u.id, u.username, u.email, u.mobile_number, u.status, u.role, u.is_email_verified, u.is_mobile_verified, " +
    "u.profile_setup_at, u.last_login_at, u.created_at, u.updated_at",
);

/**
 * Send a sign-in code to an email address or mobile number, whether or not it has an account:
 * the first successful verification creates one. The response and the work are the same in every
 * case, so the request reveals nothing about who is registered. One database round trip.
 */
export async function requestSignInCode(deps: Dependencies, input: SignInInput): Promise<RequestSignInCodeResult> {
  const normalised = normaliseDestination(deps, input.channel, input.destination);
  if (!normalised.ok) return { ok: false, reason: "invalid_destination", message: normalised.message };

  const binding = signInBinding(input.channel, normalised.destination);
  const limit = await limitCodeSend(deps, binding.destination);
  if (!limit.allowed) return { ok: false, reason: "rate_limited", retryAfterSeconds: limit.retryAfterSeconds };

  const column = ACCOUNT_COLUMNS[binding.channel].identifier;
  const accountId = sql`SELECT (SELECT id FROM users WHERE ${column} = ${binding.destination}) AS id`;
  const issued = await issueCode(deps, binding, accountId);
  if (!issued.ok) return { ok: false, reason: "rate_limited", retryAfterSeconds: issued.retryAfterSeconds };

  deps.log.info("sign_in_code_sent", { channel: binding.channel });
  return { ok: true, body: codeSent(input.channel, binding.destination) };
}

type SignInRow = Partial<UserRow> & {
  matched: boolean | null;
  account_status: string | null;
  locked_until: Date | string | null;
  session_id: string | null;
  is_new_account: boolean | null;
};

/**
 * Check a sign-in code and, in the same statement, find or create the account, mark the channel
 * verified, open a session and write the audit events: one database round trip.
 *
 * - No account: a new active account with this verified email or mobile number (`created: true`).
 * - A pending account (signed up, never verified): activated. Its password is deleted, because
 *   whoever set it never proved control of the address, and the owner may be signing in for the first time.
 * - A locked account (too many password failures): the right code is used up and refused with the
 *   time left, so the lockout covers code sign-in and a guess made during it is worth nothing later.
 * - A suspended or deleted account: the right code is used up and refused.
 */
export async function verifySignInCode(
  deps: Dependencies,
  input: SignInInput & { code: string; userAgent: string | undefined },
): Promise<VerifySignInCodeResult> {
  const limit = await limitCodeCheck(deps);
  if (!limit.allowed) return { ok: false, reason: "rate_limited", retryAfterSeconds: limit.retryAfterSeconds };

  const normalised = normaliseDestination(deps, input.channel, input.destination);
  if (!normalised.ok) return { ok: false, reason: "invalid_destination", message: normalised.message };

  const { config, clock } = deps;
  const now = clock.now();
  const binding = signInBinding(input.channel, normalised.destination);

  // Password failures on an identifier without a password-holding account are counted in KV, not
  // in auth_credentials, so the statement below cannot see that lock; it is checked here instead.
  // It fails open like the other checks on code verification: Postgres still limits each code to
  // five tries, and accounts with a password are locked in Postgres.
  let lockedForSeconds = 0;
  try {
    const throttleKey = throttleKeyForDestination(input.channel, normalised.destination);
    lockedForSeconds = unknownIdentifierLockSeconds(await readUnknownIdentifierThrottle(deps, throttleKey), now);
  } catch (error) {
    deps.log.warn("login_throttle_unavailable", describeError(error));
  }
  if (lockedForSeconds > 0) {
    deps.log.info("code_sign_in_failed", { reason: "locked" });
    return { ok: false, reason: "locked", retryAfterSeconds: lockedForSeconds };
  }

  const codeHash = await hashCode(config.codeHashKey, binding, input.code);
  const session = await prepareNewSession(now);

  const result = await deps.db.execute<SignInRow>(signInStatement(deps, binding, codeHash, session, input.userAgent));
  const row = result.rows[0];

  if (row?.matched !== true) {
    deps.log.info("code_sign_in_failed", { reason: "invalid_code" });
    return { ok: false, reason: "invalid_code" };
  }
  if (row.session_id !== null && row.id !== undefined) {
    const created = row.is_new_account === true;
    deps.log.info("code_sign_in_succeeded", { user_id: row.id, session_id: row.session_id, created });
    const tokens = await buildTokenResponse(
      config,
      { id: row.session_id, refreshToken: session.refreshToken, expiresAt: session.expiresAt },
      toUserView(row as UserRow),
      now,
    );
    return { ok: true, tokens, created };
  }
  if (row.account_status === "suspended" || row.account_status === "deleted") {
    deps.log.info("code_sign_in_failed", { reason: "account_suspended" });
    return { ok: false, reason: "account_suspended" };
  }
  if (row.locked_until !== null && toDate(row.locked_until) > now) {
    deps.log.info("code_sign_in_failed", { reason: "locked" });
    const retryAfterSeconds = Math.max(1, Math.ceil((toDate(row.locked_until).getTime() - now.getTime()) / 1000));
    return { ok: false, reason: "locked", retryAfterSeconds };
  }
  // NOTE: reached only when a parallel sign-up created an account for this destination between the
  // statement's snapshot and its insert. The code is used up, so the client must request a new one.
  deps.log.warn("code_sign_in_conflict");
  return { ok: false, reason: "invalid_code" };
}

function signInBinding(channel: ApiCodeChannel, destination: string): CodeBinding {
  return { purpose: "login", channel: codeChannelOf(channel), destination };
}

function signInStatement(
  deps: Dependencies,
  binding: CodeBinding,
  codeHash: string,
  session: Awaited<ReturnType<typeof prepareNewSession>>,
  userAgent: string | undefined,
): SQL {
  const now = deps.clock.now();
  const nowText = now.toISOString();
  const { identifier, verified } = ACCOUNT_COLUMNS[binding.channel];
  const method = { method: "one_time_code", channel: binding.channel };

  return sql`
    WITH consumed AS (${consumeCodeStatement(binding, codeHash, now)}),
    account AS (
      SELECT u.id, u.status, c.locked_until
      FROM users AS u LEFT JOIN auth_credentials AS c ON c.user_id = u.id
      WHERE u.${identifier} = ${binding.destination}
    ),
    permitted AS (
      SELECT account.id, account.status FROM account, consumed
      WHERE consumed.matched AND account.status IN ('active', 'pending_verification')
        AND (account.locked_until IS NULL OR account.locked_until <= ${nowText}::timestamptz)
    ),
    created AS (
      INSERT INTO users AS u (${identifier}, ${verified}, status, last_login_at, created_at, updated_at)
      SELECT ${binding.destination}, true, 'active', ${nowText}::timestamptz, ${nowText}::timestamptz, ${nowText}::timestamptz
      FROM consumed
      WHERE consumed.matched AND NOT EXISTS (SELECT 1 FROM account)
      ON CONFLICT DO NOTHING
      RETURNING ${USER_RETURNING}
    ),
    updated AS (
      UPDATE users AS u
      SET status = 'active', ${verified} = true, last_login_at = ${nowText}::timestamptz, updated_at = ${nowText}::timestamptz
      FROM permitted
      WHERE u.id = permitted.id
      RETURNING ${USER_RETURNING}
    ),
    signed_in AS (
      SELECT created.*, true AS is_new_account FROM created
      UNION ALL
      SELECT updated.*, false AS is_new_account FROM updated
    ),
    discarded_password AS (
      DELETE FROM auth_credentials AS c USING permitted
      WHERE c.user_id = permitted.id AND permitted.status = 'pending_verification'
    ),
    failures_reset AS (
      UPDATE auth_credentials AS c SET failed_attempts = 0, updated_at = ${nowText}::timestamptz
      FROM permitted
      WHERE c.user_id = permitted.id AND permitted.status = 'active' AND c.failed_attempts > 0
    ),
    opened AS (${openSessionStatement(deps, session, sql`SELECT id FROM signed_in`, userAgent)}),
    audit_signed_in AS (${auditEventStatement(deps, { action: "login.succeeded", metadata: method }, sql`SELECT id FROM signed_in`)}),
    audit_created AS (${auditEventStatement(deps, { action: "signup.verified", metadata: method }, sql`SELECT id FROM created`)}),
    audit_wrong_code AS (${auditEventStatement(
      deps,
      { action: "login.failed", metadata: { ...method, reason: "invalid_code" } },
      sql`SELECT account.id FROM account, consumed WHERE NOT consumed.matched`,
    )}),
    audit_refused AS (${auditEventStatement(
      deps,
      { action: "login.failed", metadata: { ...method, reason: "account_locked_or_suspended" } },
      sql`SELECT account.id FROM account, consumed
          WHERE consumed.matched AND NOT EXISTS (SELECT 1 FROM permitted)`,
    )})
    SELECT consumed.matched, account.status AS account_status, account.locked_until,
           signed_in.*, opened.id AS session_id
    FROM (SELECT 1) AS one
    LEFT JOIN consumed ON true
    LEFT JOIN account ON true
    LEFT JOIN signed_in ON true
    LEFT JOIN opened ON true`;
}
