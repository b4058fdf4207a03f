import { sql } from "drizzle-orm";
import { kycApprovedMail, kycRejectedMail } from "../adapters/mail/templates";
import { decryptSecret } from "../crypto/encryption";
import { toIsoString } from "../db/rows";
import type { Caller, Dependencies } from "../http/context";
import { decodeCursor, encodeCursor, isCursorTimestamp, isCursorUuid } from "../lib/cursor";
import { type ActorRejection, actorRejection, liveActorQuery, liveCallerQuery } from "./access";
import { auditEventStatement } from "./audit";
import {
  type OpenedDocument,
  openStoredDocument,
  type StoredDocumentRow,
  storedDocumentColumns,
} from "./kyc-documents";
import {
  DOCUMENT_COLUMNS,
  type DocumentKind,
  type KycRow,
  type KycStatus,
  type KycView,
  type ReviewerKycView,
  toKycView,
} from "./kyc-view";
import { cursorTimestampSql } from "./pagination";

/** Reviewers and admins may review; everyone else gets 403 on every review route. */
export const REVIEWER_ROLES = ["reviewer", "admin"] as const;

/** The statuses the queue can list: records that have been submitted at least once. */
export const QUEUE_STATUSES = ["pending", "approved", "rejected"] as const satisfies readonly KycStatus[];

export type QueueStatus = (typeof QUEUE_STATUSES)[number];

export interface QueueItem {
  user_id: string;
  email: string | null;
  full_name: string | null;
  company_name: string | null;
  country_code: string | null;
  status: QueueStatus;
  submitted_at: string;
}

type Failure<Reason extends string> = { ok: false; reason: Reason };
type ReviewFailure = Failure<ActorRejection> | Failure<"not_found">;

export type ListQueueResult =
  | { ok: true; items: QueueItem[]; next_cursor: string | null }
  | Failure<ActorRejection>
  | Failure<"invalid_cursor">;

export type ReviewerViewResult = { ok: true; kyc: ReviewerKycView } | ReviewFailure | Failure<"own_record">;
export type ReviewerDocumentResult = { ok: true; document: OpenedDocument } | ReviewFailure | Failure<"own_record">;
export type DecisionResult =
  | { ok: true; kyc: KycView }
  | ReviewFailure
  | Failure<"own_record">
  | Failure<"invalid_transition">;

type ActorFlags = { actor_allowed: boolean; caller_live: boolean };

/** The flags every review statement returns, from `actor` and `caller` CTEs. */
const ACTOR_FLAGS = sql`EXISTS (SELECT 1 FROM actor) AS actor_allowed, EXISTS (SELECT 1 FROM caller) AS caller_live`;

function actorCtes(deps: Dependencies, caller: Caller) {
  return sql`caller AS (${liveCallerQuery(deps, caller)}), actor AS (${liveActorQuery(deps, caller, REVIEWER_ROLES)})`;
}

/**
 * List KYC records with one status, oldest submission first, in one round trip. The cursor is the
 * (submitted_at, user_id) of the last item, so pages stay stable while new submissions arrive.
 * Records that deleted accounts leave for the retention period are not listed.
 */
export async function listKycQueue(
  deps: Dependencies,
  caller: Caller,
  query: { status: QueueStatus; limit: number; cursor?: string | undefined },
): Promise<ListQueueResult> {
  let after = sql`TRUE`;
  if (query.cursor !== undefined) {
    const parts = decodeCursor(query.cursor, [isCursorTimestamp, isCursorUuid]);
    if (parts === null) return { ok: false, reason: "invalid_cursor" };
    const [submittedAt, userId] = parts;
    after = sql`(k.submitted_at, k.user_id) > (${submittedAt}::timestamptz, ${userId}::uuid)`;
  }

  type Row = ActorFlags & { items: (QueueItem & { cursor_submitted_at: string })[] | null };
  const result = await deps.db.execute<Row>(sql`
    WITH ${actorCtes(deps, caller)}
    SELECT ${ACTOR_FLAGS},
      (SELECT json_agg(page ORDER BY page.submitted_at, page.user_id) FROM (
         SELECT k.user_id, u.email, p.full_name, p.company_name, p.country_code, k.status, k.submitted_at,
                ${cursorTimestampSql(sql`k.submitted_at`)} AS cursor_submitted_at
         FROM user_kyc AS k
         JOIN users AS u ON u.id = k.user_id
         LEFT JOIN user_profile AS p ON p.user_id = k.user_id
         WHERE EXISTS (SELECT 1 FROM actor) AND k.status = ${query.status} AND k.submitted_at IS NOT NULL
           AND u.status <> 'deleted' AND ${after}
         ORDER BY k.submitted_at, k.user_id
         LIMIT ${query.limit + 1}) AS page) AS items`);

  const row = result.rows[0];
  const rejection = row === undefined ? "unauthorized" : actorRejection(row);
  if (rejection !== null || row === undefined) return { ok: false, reason: rejection ?? "unauthorized" };

  const rows = row.items ?? [];
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  const next_cursor =
    rows.length > query.limit && last !== undefined ? encodeCursor([last.cursor_submitted_at, last.user_id]) : null;
  const items = page.map(({ cursor_submitted_at: _, ...item }) => ({
    ...item,
    submitted_at: toIsoString(item.submitted_at) ?? "",
  }));
  return { ok: true, items, next_cursor };
}

/**
 * The reviewer's view of one record, with the full government id number, in one round trip that
 * also records the view as `kyc.viewed`. Reviewers cannot open their own record, not even to look.
 */
export async function readKycForReview(
  deps: Dependencies,
  caller: Caller,
  targetUserId: string,
): Promise<ReviewerViewResult> {
  if (targetUserId === caller.userId) return { ok: false, reason: "own_record" };

  const result = await deps.db.execute<ActorFlags & { kyc: KycRow | null }>(sql`
    WITH ${actorCtes(deps, caller)},
    viewed AS (SELECT k.* FROM user_kyc AS k WHERE k.user_id = ${targetUserId} AND EXISTS (SELECT 1 FROM actor)),
    audit AS (${auditEventStatement(
      deps,
      { action: "kyc.viewed", actorUserId: caller.userId },
      sql`SELECT user_id AS id FROM viewed`,
    )})
    SELECT ${ACTOR_FLAGS}, (SELECT to_jsonb(viewed) FROM viewed) AS kyc`);

  const row = result.rows[0];
  const rejection = row === undefined ? "unauthorized" : actorRejection(row);
  if (rejection !== null || row === undefined) return { ok: false, reason: rejection ?? "unauthorized" };
  if (row.kyc === null) return { ok: false, reason: "not_found" };

  deps.log.info("kyc_viewed", { user_id: targetUserId, reviewer_id: caller.userId });
  return { ok: true, kyc: await toReviewerView(deps, row.kyc) };
}

async function toReviewerView(deps: Dependencies, row: KycRow): Promise<ReviewerKycView> {
  let governmentIdNumber: string | null = null;
  if (row.government_id_number_encrypted !== null) {
    const decrypted = await decryptSecret(row.government_id_number_encrypted, deps.config.encryptionKeys, row.user_id);
    // A ciphertext that does not open means a lost key or a tampered row: a broken invariant.
    if (!decrypted.ok) throw new Error(`Decrypting a government id number failed: ${decrypted.reason}`);
    governmentIdNumber = decrypted.plaintext;
  }
  return {
    ...toKycView(row),
    user_id: row.user_id,
    government_id_number: governmentIdNumber,
    reviewed_by: row.reviewed_by,
    reviewed_at: toIsoString(row.reviewed_at),
  };
}

/**
 * Open a trader's document for a reviewer and record the download as `kyc.document_viewed`.
 *
 * Two round trips, so that an R2 failure records nothing. A read-only statement checks the
 * reviewer and finds the object key, and an R2 failure then ends the request with 503. Next, one
 * INSERT records the event only while the actor is still a reviewer or admin with a live session,
 * so a reviewer demoted or signed out in between gets no bytes. The document is returned only
 * after that INSERT commits, so no byte is sent without its event.
 */
export async function readKycDocumentForReview(
  deps: Dependencies,
  caller: Caller,
  targetUserId: string,
  kind: DocumentKind,
): Promise<ReviewerDocumentResult> {
  if (targetUserId === caller.userId) return { ok: false, reason: "own_record" };

  const result = await deps.db.execute<ActorFlags & { document: StoredDocumentRow | null }>(sql`
    WITH ${actorCtes(deps, caller)}
    SELECT ${ACTOR_FLAGS},
           (SELECT to_jsonb(d) FROM (
              SELECT ${storedDocumentColumns(kind)} FROM user_kyc AS k
              WHERE k.user_id = ${targetUserId} AND EXISTS (SELECT 1 FROM actor)
                AND k.${sql.identifier(DOCUMENT_COLUMNS[kind].objectKey)} IS NOT NULL) AS d) AS document`);

  const row = result.rows[0];
  const rejection = row === undefined ? "unauthorized" : actorRejection(row);
  if (rejection !== null || row === undefined) return { ok: false, reason: rejection ?? "unauthorized" };
  if (row.document === null) return { ok: false, reason: "not_found" };

  const document = await openStoredDocument(deps, kind, row.document);
  if (document === null) return { ok: false, reason: "not_found" };

  let recorded: ReviewFailure | null;
  try {
    recorded = await recordDocumentView(deps, caller, targetUserId, kind);
  } catch (error) {
    deps.waitUntil(document.body.cancel());
    throw error;
  }
  if (recorded !== null) {
    deps.waitUntil(document.body.cancel());
    return recorded;
  }

  deps.log.info("kyc_document_viewed", { user_id: targetUserId, reviewer_id: caller.userId, kind });
  return { ok: true, document };
}

/**
 * Insert the `kyc.document_viewed` event if the actor is still a live reviewer or admin and the
 * trader's KYC record still exists. Returns null once the event is stored, or the reason it was not.
 */
async function recordDocumentView(
  deps: Dependencies,
  caller: Caller,
  targetUserId: string,
  kind: DocumentKind,
): Promise<ReviewFailure | null> {
  const result = await deps.db.execute<ActorFlags & { recorded: boolean }>(sql`
    WITH ${actorCtes(deps, caller)},
    audit AS (${auditEventStatement(
      deps,
      { action: "kyc.document_viewed", actorUserId: caller.userId, metadata: { kind } },
      sql`SELECT k.user_id AS id FROM user_kyc AS k WHERE k.user_id = ${targetUserId} AND EXISTS (SELECT 1 FROM actor)`,
    )} RETURNING id)
    SELECT ${ACTOR_FLAGS}, EXISTS (SELECT 1 FROM audit) AS recorded`);

  const row = result.rows[0];
  const rejection = row === undefined ? "unauthorized" : actorRejection(row);
  if (rejection !== null || row === undefined) return { ok: false, reason: rejection ?? "unauthorized" };
  return row.recorded ? null : { ok: false, reason: "not_found" };
}

type Decision =
  | { action: "kyc.approved"; status: "approved" }
  | { action: "kyc.rejected"; status: "rejected"; reason: string };

export function approveKyc(deps: Dependencies, caller: Caller, targetUserId: string): Promise<DecisionResult> {
  return decideKyc(deps, caller, targetUserId, { action: "kyc.approved", status: "approved" });
}

export function rejectKyc(
  deps: Dependencies,
  caller: Caller,
  targetUserId: string,
  reason: string,
): Promise<DecisionResult> {
  return decideKyc(deps, caller, targetUserId, { action: "kyc.rejected", status: "rejected", reason });
}

/**
 * Approve or reject a pending record in one conditional UPDATE, so of two reviewers deciding at
 * once exactly one succeeds and the other gets `invalid_transition`. A deleted account's record,
 * kept only for the retention period, is `not_found`. The trader is emailed after
 * the response; a failed email is logged and does not undo the decision.
 */
async function decideKyc(
  deps: Dependencies,
  caller: Caller,
  targetUserId: string,
  decision: Decision,
): Promise<DecisionResult> {
  if (targetUserId === caller.userId) return { ok: false, reason: "own_record" };

  const now = deps.clock.now().toISOString();
  const approved = decision.status === "approved";
  const rejectionReason = decision.status === "rejected" ? decision.reason : null;
  type Row = ActorFlags & { previous_status: KycStatus | null; kyc: KycRow | null; email: string | null };
  const result = await deps.db.execute<Row>(sql`
    WITH ${actorCtes(deps, caller)},
    previous AS (
      SELECT k.status FROM user_kyc AS k JOIN users AS u ON u.id = k.user_id
      WHERE k.user_id = ${targetUserId} AND u.status <> 'deleted'),
    decided AS (
      UPDATE user_kyc AS k
      SET status = ${decision.status},
          verified_at = ${approved ? now : null}::timestamptz,
          rejection_reason = ${rejectionReason},
          reviewed_by = ${caller.userId}, reviewed_at = ${now}::timestamptz, updated_at = ${now}::timestamptz
      WHERE k.user_id = ${targetUserId} AND k.status = 'pending' AND EXISTS (SELECT 1 FROM actor)
        AND EXISTS (SELECT 1 FROM previous)
      RETURNING k.*),
    audit AS (${auditEventStatement(
      deps,
      {
        action: decision.action,
        actorUserId: caller.userId,
        metadata: rejectionReason === null ? {} : { reason: rejectionReason },
      },
      sql`SELECT user_id AS id FROM decided`,
    )})
    SELECT ${ACTOR_FLAGS}, (SELECT status FROM previous) AS previous_status,
           (SELECT to_jsonb(decided) FROM decided) AS kyc,
           (SELECT u.email FROM users AS u WHERE u.id = ${targetUserId}) AS email`);

  const row = result.rows[0];
  const rejection = row === undefined ? "unauthorized" : actorRejection(row);
  if (rejection !== null || row === undefined) return { ok: false, reason: rejection ?? "unauthorized" };
  if (row.previous_status === null) return { ok: false, reason: "not_found" };
  if (row.kyc === null) return { ok: false, reason: "invalid_transition" };

  deps.log.info(approved ? "kyc_approved" : "kyc_rejected", { user_id: targetUserId, reviewer_id: caller.userId });
  notifyTrader(deps, row.email, targetUserId, decision);
  return { ok: true, kyc: toKycView(row.kyc) };
}

function notifyTrader(deps: Dependencies, email: string | null, userId: string, decision: Decision): void {
  if (email === null) {
    deps.log.warn("kyc_decision_not_emailed", { user_id: userId, reason: "no_email_address" });
    return;
  }
  const content =
    decision.status === "approved"
      ? kycApprovedMail(deps.config.appUrl)
      : kycRejectedMail(decision.reason, deps.config.appUrl);
  deps.waitUntil(deps.mailer.send({ to: email, ...content }));
}
