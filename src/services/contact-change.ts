import { sql } from "drizzle-orm";
import { emailChangedNoticeMail } from "../adapters/mail/templates";
import type { Caller, Dependencies } from "../http/context";
import { maskEmail } from "../lib/mask";
import { auditEventStatement } from "./audit";
import { type CodeSent, codeSent, normaliseDestination } from "./code-destinations";
import {
  type CodeBinding,
  consumeCodeStatement,
  createCode,
  deliverStoredCode,
  hashCode,
  liveCodeCreatedAtQuery,
  secondsUntilNextCode,
  upsertCodeStatement,
} from "./one-time-codes";
import { codeResendIntervalSeconds, limitCodeCheck, limitCodeSend } from "./rate-limit";
import { isUniqueViolation } from "./postgres-errors";
import { toUserView, type UserRow, type UserView } from "./user-view";

/** A change of the caller's email address or mobile number, confirmed by a code sent to the new one. */
type ContactKind = "email" | "mobile";

const CONTACTS = {
  email: {
    purpose: "email_change",
    apiChannel: "email",
    column: sql.raw("email"),
    verifiedColumn: sql.raw("is_email_verified"),
    uniqueConstraint: "users_email_unique",
    auditAction: "email.changed",
  },
  mobile: {
    purpose: "mobile_change",
    apiChannel: "sms",
    column: sql.raw("mobile_number"),
    verifiedColumn: sql.raw("is_mobile_verified"),
    uniqueConstraint: "users_mobile_number_unique",
    auditAction: "mobile.changed",
  },
} as const;

export type RequestContactChangeResult =
  | { ok: true; body: CodeSent }
  | { ok: false; reason: "invalid_destination"; message: string }
  | { ok: false; reason: "unchanged" }
  | { ok: false; reason: "taken" }
  | { ok: false; reason: "session_ended" }
  | { ok: false; reason: "rate_limited"; retryAfterSeconds: number };

export type ConfirmContactChangeResult =
  | { ok: true; user: UserView }
  | { ok: false; reason: "invalid_code" }
  | { ok: false; reason: "taken" }
  | { ok: false; reason: "session_ended" }
  | { ok: false; reason: "rate_limited"; retryAfterSeconds: number };

/** Select the caller's user row, only while the session is live and the account active. */
function liveCallerQuery(deps: Dependencies, caller: Caller) {
  const now = deps.clock.now().toISOString();
  return sql`
    SELECT u.id, u.email, u.mobile_number FROM users AS u
    JOIN auth_sessions AS s ON s.user_id = u.id
    WHERE u.id = ${caller.userId} AND u.status = 'active'
      AND s.id = ${caller.sessionId} AND s.revoked_at IS NULL AND s.expires_at > ${now}::timestamptz`;
}

/**
 * Send a code to a new email address or mobile number of the signed-in user. Another account's
 * address is reported (`taken`) before anything is sent. One database round trip stores the code,
 * after checking the session and the address, and invalidates the user's codes for any other new
 * address, so only the latest requested change can be confirmed.
 */
export async function requestContactChange(
  deps: Dependencies,
  caller: Caller,
  kind: ContactKind,
  requested: string,
): Promise<RequestContactChangeResult> {
  const contact = CONTACTS[kind];
  const normalised = normaliseDestination(deps, contact.apiChannel, requested);
  if (!normalised.ok) return { ok: false, reason: "invalid_destination", message: normalised.message };
  const binding: CodeBinding = { purpose: contact.purpose, channel: kind, destination: normalised.destination };

  const limit = await limitCodeSend(deps, binding.destination);
  if (!limit.allowed) return { ok: false, reason: "rate_limited", retryAfterSeconds: limit.retryAfterSeconds };

  const now = deps.clock.now();
  const nowText = now.toISOString();
  const intervalSeconds = codeResendIntervalSeconds(deps);
  const { code, codeHash } = await createCode(deps.config.codeHashKey, binding);
  const upsert = upsertCodeStatement(
    binding,
    codeHash,
    now,
    sql`SELECT id FROM caller WHERE NOT EXISTS (SELECT 1 FROM owner)`,
    { minimumIntervalSeconds: intervalSeconds },
  );

  const result = await deps.db.execute<{
    user_id: string | null;
    current: string | null;
    owner_id: string | null;
    stored_id: number | null;
    live_created_at: string | null;
  }>(sql`
    WITH caller AS (${liveCallerQuery(deps, caller)}),
    owner AS (SELECT id FROM users WHERE ${contact.column} = ${binding.destination}),
    stored AS (${upsert} RETURNING id),
    superseded AS (
      UPDATE verifications SET expires_at = ${nowText}::timestamptz
      WHERE user_id = ${caller.userId} AND purpose = ${binding.purpose} AND identifier <> ${binding.destination}
        AND consumed_at IS NULL AND expires_at > ${nowText}::timestamptz AND EXISTS (SELECT 1 FROM stored)
    )
    SELECT (SELECT id FROM caller) AS user_id, (SELECT ${contact.column} FROM caller) AS current,
           (SELECT id FROM owner) AS owner_id, (SELECT id FROM stored) AS stored_id,
           ${liveCodeCreatedAtQuery(binding)} AS live_created_at`);
  const row = result.rows[0];

  if (row?.user_id === null || row?.user_id === undefined) return { ok: false, reason: "session_ended" };
  if (row.owner_id !== null)
    return row.owner_id === row.user_id ? { ok: false, reason: "unchanged" } : { ok: false, reason: "taken" };
  if (row.stored_id === null) {
    const retryAfterSeconds = secondsUntilNextCode(row.live_created_at, intervalSeconds, now);
    return { ok: false, reason: "rate_limited", retryAfterSeconds };
  }

  await deliverStoredCode(deps, binding, code, codeHash);
  deps.log.info("contact_change_code_sent", { user_id: row.user_id, kind });
  return { ok: true, body: codeSent(contact.apiChannel, binding.destination) };
}

type ChangedRow = UserRow & { previous: string | null };

/**
 * Confirm a contact change with the code sent to the new address. A first round trip finds which
 * address the caller's live code went to, because the code's hash is bound to it. The second sets
 * the address, marks it verified and writes the audit event in one statement. The unique constraint
 * decides a race for the address: the loser gets `taken` and keeps its code. A changed email
 * address sends a notice to the previous one.
 */
export async function confirmContactChange(
  deps: Dependencies,
  caller: Caller,
  kind: ContactKind,
  code: string,
): Promise<ConfirmContactChangeResult> {
  const limit = await limitCodeCheck(deps);
  if (!limit.allowed) return { ok: false, reason: "rate_limited", retryAfterSeconds: limit.retryAfterSeconds };

  const contact = CONTACTS[kind];
  const now = deps.clock.now();
  const nowText = now.toISOString();

  const pending = await deps.db.execute<{ user_id: string; identifier: string | null }>(sql`
    WITH caller AS (${liveCallerQuery(deps, caller)})
    SELECT caller.id AS user_id,
           (SELECT v.identifier FROM verifications AS v
            WHERE v.user_id = caller.id AND v.purpose = ${contact.purpose} AND v.type = ${kind}
              AND v.consumed_at IS NULL AND v.expires_at > ${nowText}::timestamptz
            ORDER BY v.created_at DESC LIMIT 1) AS identifier
    FROM caller`);
  const found = pending.rows[0];
  if (found === undefined) return { ok: false, reason: "session_ended" };
  if (found.identifier === null) {
    deps.log.info("contact_change_failed", { user_id: found.user_id, kind, reason: "no_live_code" });
    return { ok: false, reason: "invalid_code" };
  }

  const binding: CodeBinding = { purpose: contact.purpose, channel: kind, destination: found.identifier };
  const codeHash = await hashCode(deps.config.codeHashKey, binding, code);
  const ownCode = sql`v.user_id = ${found.user_id}`;

  let changed: ChangedRow | undefined;
  try {
    const result = await deps.db.execute<ChangedRow>(sql`
      WITH caller AS (${liveCallerQuery(deps, caller)}),
      consumed AS (${consumeCodeStatement(binding, codeHash, now, sql`${ownCode} AND EXISTS (SELECT 1 FROM caller)`)}),
      changed AS (
        UPDATE users AS u
        SET ${contact.column} = consumed.identifier, ${contact.verifiedColumn} = true, updated_at = ${nowText}::timestamptz
        FROM consumed, caller
        WHERE consumed.matched AND u.id = caller.id
        RETURNING u.id, u.username, u.email, u.mobile_number, u.status, u.role, u.is_email_verified,
                  u.is_mobile_verified, u.profile_setup_at, u.last_login_at, u.created_at, u.updated_at,
                  (SELECT ${contact.column} FROM caller) AS previous
      ),
      audited AS (${auditEventStatement(
        deps,
        { action: contact.auditAction, actorUserId: found.user_id },
        sql`SELECT id FROM changed`,
      )})
      SELECT * FROM changed`);
    changed = result.rows[0];
  } catch (error) {
    // The whole statement rolled back, so the code is neither used up nor charged an attempt.
    if (isUniqueViolation(error, contact.uniqueConstraint)) return { ok: false, reason: "taken" };
    throw error;
  }

  if (changed === undefined) {
    deps.log.info("contact_change_failed", { user_id: found.user_id, kind, reason: "invalid_code" });
    return { ok: false, reason: "invalid_code" };
  }

  deps.log.info("contact_changed", { user_id: changed.id, kind });
  if (kind === "email" && changed.previous !== null && changed.previous !== changed.email && changed.email !== null) {
    const notice = emailChangedNoticeMail(maskEmail(changed.email), deps.config.appUrl);
    deps.waitUntil(deps.mailer.send({ to: changed.previous, ...notice }));
  }
  return { ok: true, user: toUserView(changed) };
}
