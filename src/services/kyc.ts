import { sql } from "drizzle-orm";
import { encryptSecret } from "../crypto/encryption";
import type { FieldError } from "../errors";
import type { Caller, Dependencies } from "../http/context";
import type { GovernmentIdType } from "../lib/kyc-validators";
import { liveCallerQuery } from "./access";
import { auditEventStatement } from "./audit";
import { type KycRow, type KycView, type TraderType, toKycView } from "./kyc-view";

export interface KycDetailsInput {
  government_id_type: GovernmentIdType;
  /** Already normalised and validated for its type. */
  government_id_number: string;
  /** Already normalised and validated; null when the business has no GSTIN. */
  gstin_number: string | null;
  authorized_person_name: string;
  trader_type: TraderType;
}

export type ReadKycResult =
  | { ok: true; kyc: KycView }
  | { ok: false; reason: "unauthorized" }
  | { ok: false; reason: "not_found" };

export type SaveKycResult =
  | { ok: true; kyc: KycView }
  | { ok: false; reason: "unauthorized" }
  | { ok: false; reason: "kyc_locked" };

export type SubmitKycResult =
  | { ok: true; kyc: KycView }
  | { ok: false; reason: "unauthorized" }
  | { ok: false; reason: "kyc_locked" }
  | { ok: false; reason: "unchanged_since_rejection" }
  | { ok: false; reason: "kyc_incomplete"; errors: FieldError[] };

/** The statuses in which the trader may change details or documents. */
export const EDITABLE_KYC_STATUSES = ["draft", "rejected"] as const;

/** Read the caller's KYC record in one round trip. */
export async function readKyc(deps: Dependencies, caller: Caller): Promise<ReadKycResult> {
  const result = await deps.db.execute<{ caller_live: boolean; kyc: KycRow | null }>(sql`
    WITH caller AS (${liveCallerQuery(deps, caller)})
    SELECT EXISTS (SELECT 1 FROM caller) AS caller_live,
           (SELECT to_jsonb(k) FROM user_kyc AS k WHERE k.user_id IN (SELECT id FROM caller)) AS kyc`);

  const row = result.rows[0];
  if (row === undefined || !row.caller_live) return { ok: false, reason: "unauthorized" };
  if (row.kyc === null) return { ok: false, reason: "not_found" };
  return { ok: true, kyc: toKycView(row.kyc) };
}

/**
 * Create or replace the caller's KYC details as a draft, in one statement. Editing a rejected
 * record turns it back into a draft; a pending or approved record is locked. The conditional
 * upsert decides on the row as it is when the write happens, so an edit racing a submission
 * either lands before it or is refused. The id number is stored only encrypted (AES-256-GCM,
 * bound to the user id), with its last four characters for masked views.
 */
export async function saveKycDetails(
  deps: Dependencies,
  caller: Caller,
  input: KycDetailsInput,
): Promise<SaveKycResult> {
  const now = deps.clock.now().toISOString();
  const encryptedNumber = await encryptSecret(input.government_id_number, deps.config.encryptionKeys, caller.userId);
  const lastFour = input.government_id_number.slice(-4);

  const result = await deps.db.execute<{ caller_live: boolean; kyc: KycRow | null }>(sql`
    WITH caller AS (${liveCallerQuery(deps, caller)}),
    saved AS (
      INSERT INTO user_kyc AS k
        (user_id, government_id_type, government_id_number_encrypted, government_id_number_last4, gstin_number,
         authorized_person_name, trader_type, status, created_at, updated_at)
      SELECT caller.id, ${input.government_id_type}, ${encryptedNumber}, ${lastFour}, ${input.gstin_number},
             ${input.authorized_person_name}, ${input.trader_type}, 'draft', ${now}::timestamptz, ${now}::timestamptz
      FROM caller
      ON CONFLICT (user_id) DO UPDATE SET
        government_id_type = EXCLUDED.government_id_type,
        government_id_number_encrypted = EXCLUDED.government_id_number_encrypted,
        government_id_number_last4 = EXCLUDED.government_id_number_last4,
        gstin_number = EXCLUDED.gstin_number,
        authorized_person_name = EXCLUDED.authorized_person_name,
        trader_type = EXCLUDED.trader_type,
        status = 'draft',
        updated_at = EXCLUDED.updated_at
      WHERE k.status IN ('draft', 'rejected')
      RETURNING k.*),
    audit AS (${auditEventStatement(
      deps,
      {
        action: "kyc.updated",
        actorUserId: caller.userId,
        metadata: { government_id_type: input.government_id_type, has_gstin: input.gstin_number !== null },
      },
      sql`SELECT user_id AS id FROM saved`,
    )})
    SELECT EXISTS (SELECT 1 FROM caller) AS caller_live, (SELECT to_jsonb(saved) FROM saved) AS kyc`);

  const row = result.rows[0];
  if (row === undefined || !row.caller_live) return { ok: false, reason: "unauthorized" };
  if (row.kyc === null) return { ok: false, reason: "kyc_locked" };
  deps.log.info("kyc_details_saved", { user_id: caller.userId });
  return { ok: true, kyc: toKycView(row.kyc) };
}

type SubmitRow = {
  caller_live: boolean;
  has_profile: boolean;
  current: KycRow | null;
  submitted: KycRow | null;
};

/**
 * Submit a complete draft for review (draft → pending) in one conditional statement. Required: a
 * business profile, the id type and number, the authorised person, the trader type and the
 * government id document. The GSTIN and the business certificate are optional, because many
 * small traders are below the GST registration threshold.
 */
export async function submitKyc(deps: Dependencies, caller: Caller): Promise<SubmitKycResult> {
  const now = deps.clock.now().toISOString();
  const result = await deps.db.execute<SubmitRow>(sql`
    WITH caller AS (${liveCallerQuery(deps, caller)}),
    submitted AS (
      UPDATE user_kyc AS k
      SET status = 'pending', submitted_at = ${now}::timestamptz, updated_at = ${now}::timestamptz,
          rejection_reason = NULL, reviewed_by = NULL, reviewed_at = NULL
      WHERE k.user_id IN (SELECT id FROM caller) AND k.status = 'draft'
        AND k.government_id_type IS NOT NULL AND k.government_id_number_encrypted IS NOT NULL
        AND k.authorized_person_name IS NOT NULL AND k.trader_type IS NOT NULL
        AND k.government_id_object_key IS NOT NULL
        AND EXISTS (SELECT 1 FROM user_profile AS p WHERE p.user_id = k.user_id)
      RETURNING k.*),
    audit AS (${auditEventStatement(
      deps,
      { action: "kyc.submitted", actorUserId: caller.userId },
      sql`SELECT user_id AS id FROM submitted`,
    )})
    SELECT EXISTS (SELECT 1 FROM caller) AS caller_live,
           EXISTS (SELECT 1 FROM user_profile AS p WHERE p.user_id IN (SELECT id FROM caller)) AS has_profile,
           (SELECT to_jsonb(k) FROM user_kyc AS k WHERE k.user_id IN (SELECT id FROM caller)) AS current,
           (SELECT to_jsonb(submitted) FROM submitted) AS submitted`);

  const row = result.rows[0];
  if (row === undefined || !row.caller_live) return { ok: false, reason: "unauthorized" };
  if (row.submitted !== null) {
    deps.log.info("kyc_submitted", { user_id: caller.userId });
    return { ok: true, kyc: toKycView(row.submitted) };
  }

  // `current` is the row as it was before this statement.
  const status = row.current?.status;
  if (status === "pending" || status === "approved") return { ok: false, reason: "kyc_locked" };
  if (status === "rejected") return { ok: false, reason: "unchanged_since_rejection" };
  const errors = listMissingForSubmission(row.current, row.has_profile);
  // Nothing missing means another request submitted this draft between the snapshot and the update.
  if (errors.length === 0) return { ok: false, reason: "kyc_locked" };
  return { ok: false, reason: "kyc_incomplete", errors };
}

function listMissingForSubmission(kyc: KycRow | null, hasProfile: boolean): FieldError[] {
  const errors: FieldError[] = [];
  if (!hasProfile) errors.push({ path: "profile", message: "Set up the business profile first." });
  const required: [keyof KycRow, string][] = [
    ["government_id_type", "government_id_type"],
    ["government_id_number_encrypted", "government_id_number"],
    ["authorized_person_name", "authorized_person_name"],
    ["trader_type", "trader_type"],
  ];
  for (const [column, path] of required) {
    if (kyc === null || kyc[column] === null) errors.push({ path, message: "Required before submission." });
  }
  if (kyc === null || kyc.government_id_object_key === null) {
    errors.push({ path: "documents.government_id", message: "Upload the government id document." });
  }
  return errors;
}
