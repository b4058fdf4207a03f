import { sql, type SQL } from "drizzle-orm";
import type { Dependencies } from "../http/context";
import { describeError } from "../lib/logger";
import { auditEventStatement } from "./audit";

/** R2's Workers API deletes at most 1,000 keys per `delete` call (R2 Workers API reference). */
const MAX_KEYS_PER_R2_DELETE = 1000;

/** A KYC record kept after its owner deleted the account, with the keys of its documents in R2. */
export interface RetainedKycRecord {
  user_id: string;
  government_id_object_key: string | null;
  business_cert_object_key: string | null;
}

export type KycRemovalResult =
  | { ok: true; recordsDeleted: number; documentsDeleted: number }
  | { ok: false; reason: "r2_failed" };

export type KycRemovalDependencies = Pick<Dependencies, "config" | "db" | "clock" | "log" | "bucket" | "requestId">;

/**
 * Select up to `limit` KYC records whose owners deleted their account before `deletedBefore`
 * (ISO text), as `RetainedKycRecord` rows.
 *
 * The deletion time is the scrubbed users row's `updated_at`. Account deletion sets it, and no
 * statement writes to a deleted account's row afterwards, because every other UPDATE of users
 * needs a live session or a pending or suspended account, or excludes deleted accounts. A future
 * write would only postpone the removal. The `user.deleted` audit event cannot serve, because
 * AUDIT_RETENTION_DAYS may delete it before KYC_RETENTION_DAYS ends.
 * The partial index `users_deleted_updated_at_idx` finds the deleted accounts past the cutoff.
 */
export function selectExpiredKycRecords(deletedBefore: string, limit: number): SQL {
  return sql`
    SELECT k.user_id, k.government_id_object_key, k.business_cert_object_key
    FROM user_kyc AS k
    JOIN users AS u ON u.id = k.user_id
    WHERE u.status = 'deleted' AND u.updated_at < ${deletedBefore}::timestamptz
    LIMIT ${limit}`;
}

/**
 * Delete retained KYC records whose period has ended. Their documents go from R2 first, then the
 * rows go in one statement that also writes one `kyc.deleted` audit event per user.
 *
 * When an R2 call fails, no row is deleted and the failure is logged, so the next run finds the
 * same records and tries again. The retry deletes again the keys of objects that are already gone,
 * which R2 accepts. A row is deleted only while its object keys still equal the ones deleted here,
 * so no row goes whose objects might still exist.
 *
 * Makes ceil(documents / 1,000) R2 calls and one database round trip.
 */
export async function deleteExpiredKycRecords(
  deps: KycRemovalDependencies,
  records: RetainedKycRecord[],
): Promise<KycRemovalResult> {
  const objectKeys = records.flatMap((record) =>
    [record.government_id_object_key, record.business_cert_object_key].filter((key): key is string => key !== null),
  );

  try {
    for (let start = 0; start < objectKeys.length; start += MAX_KEYS_PER_R2_DELETE) {
      await deps.bucket.delete(objectKeys.slice(start, start + MAX_KEYS_PER_R2_DELETE));
    }
  } catch (error) {
    deps.log.error("kyc_documents_delete_failed", {
      kyc_records: records.length,
      documents: objectKeys.length,
      ...describeError(error),
    });
    return { ok: false, reason: "r2_failed" };
  }

  const result = await deps.db.execute<{ records_deleted: number }>(sql`
    WITH removed AS (
      DELETE FROM user_kyc AS k
      USING jsonb_to_recordset(${JSON.stringify(records)}::jsonb)
            AS r(user_id uuid, government_id_object_key text, business_cert_object_key text)
      WHERE k.user_id = r.user_id
        AND k.government_id_object_key IS NOT DISTINCT FROM r.government_id_object_key
        AND k.business_cert_object_key IS NOT DISTINCT FROM r.business_cert_object_key
      RETURNING k.user_id AS id),
    audit AS (${auditEventStatement(
      deps,
      {
        action: "kyc.deleted",
        metadata: { reason: "retention_period_ended", retention_days: deps.config.kycRetentionDays },
      },
      sql`SELECT id FROM removed`,
    )})
    SELECT count(*)::int AS records_deleted FROM removed`);

  return {
    ok: true,
    recordsDeleted: Number(result.rows[0]?.records_deleted ?? 0),
    documentsDeleted: objectKeys.length,
  };
}
