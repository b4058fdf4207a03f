import { sql } from "drizzle-orm";
import type { Dependencies } from "../http/context";
import { describeError } from "../lib/logger";
import { deleteExpiredKycRecords, type RetainedKycRecord, selectExpiredKycRecords } from "./kyc-retention";

/**
 * The dependencies of a cleanup run, which comes from the cron trigger rather than a request.
 * `requestId` is the run's id, which its log lines and audit events carry.
 */
export type CleanupDependencies = Pick<Dependencies, "config" | "db" | "clock" | "log" | "bucket" | "requestId">;

/**
 * Bounds of one cleanup run. Each round is one database round trip (one Worker subrequest) that
 * removes at most `batchSize` rows from each table. A round that finds retained KYC records past
 * their period adds up to ceil(2 × `batchSize` / 1,000) R2 delete calls and a second round trip.
 * So a run makes at most 2 × `maxRounds` database round trips and never keeps a transaction open
 * for long. Whatever is left waits for the next run.
 */
export interface CleanupLimits {
  batchSize: number;
  maxRounds: number;
}

// With the cron every 15 minutes this removes up to 40,000 rows per table an hour.
export const DEFAULT_CLEANUP_LIMITS: CleanupLimits = { batchSize: 1000, maxRounds: 10 };

/** How long a used code stays after its use. An unused code goes as soon as it expires. */
const CONSUMED_CODE_RETENTION_MS = 24 * 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface CleanupCounts {
  verificationsDeleted: number;
  loginCodesDeleted: number;
  sessionsDeleted: number;
  passwordResetTokensCleared: number;
  auditEventsDeleted: number;
  kycRecordsDeleted: number;
  kycDocumentsDeleted: number;
}

export interface CleanupResult {
  counts: CleanupCounts;
  rounds: number;
  /**
   * False when the run stopped at `maxRounds` with rows still due, or left expired KYC records
   * because R2 failed. The next run continues with them.
   */
  complete: boolean;
}

type RoundCounts = {
  verifications: number;
  login_codes: number;
  sessions: number;
  reset_tokens: number;
  audit_events: number;
};

type RoundRow = RoundCounts & { expired_kyc_records: RetainedKycRecord[] };

type RoundCutoffs = {
  now: string;
  consumedBefore: string;
  revokedBefore: string;
  auditBefore: string;
  kycDeletedBefore: string;
};

/**
 * Delete what the database no longer needs: unused one-time codes once expired, used ones a day
 * after use, expired OAuth login codes, expired sessions and sessions revoked longer ago than the
 * retention setting, expired password-reset tokens (the columns are cleared, the credentials
 * stay), and audit events older than their retention. KYC records and documents kept after an
 * account's deletion go once KYC_RETENTION_DAYS have passed since the deletion (see
 * `deleteExpiredKycRecords`).
 *
 * KV is not cleaned here: everything the service keeps in KV (one-time values, counters, the
 * development outbox) is written with `expirationTtl`, and KV deletes it at expiry.
 */
export async function runCleanup(
  deps: CleanupDependencies,
  limits: CleanupLimits = DEFAULT_CLEANUP_LIMITS,
): Promise<CleanupResult> {
  const now = deps.clock.now();
  const cutoffs: RoundCutoffs = {
    now: now.toISOString(),
    consumedBefore: new Date(now.getTime() - CONSUMED_CODE_RETENTION_MS).toISOString(),
    revokedBefore: new Date(now.getTime() - deps.config.retention.revokedSessionDays * DAY_MS).toISOString(),
    auditBefore: new Date(now.getTime() - deps.config.retention.auditEventDays * DAY_MS).toISOString(),
    kycDeletedBefore: new Date(now.getTime() - deps.config.kycRetentionDays * DAY_MS).toISOString(),
  };
  const counts: CleanupCounts = {
    verificationsDeleted: 0,
    loginCodesDeleted: 0,
    sessionsDeleted: 0,
    passwordResetTokensCleared: 0,
    auditEventsDeleted: 0,
    kycRecordsDeleted: 0,
    kycDocumentsDeleted: 0,
  };

  let rounds = 0;
  let complete = false;
  // After an R2 failure the run stops removing KYC records, because the same records would come
  // back in the next round while R2 is likely still failing. The next run tries them again.
  let kycRemovalFailed = false;
  try {
    while (rounds < limits.maxRounds) {
      rounds++;
      const kycBatchSize = kycRemovalFailed ? 0 : limits.batchSize;
      const round = await runCleanupRound(deps, cutoffs, limits.batchSize, kycBatchSize);
      counts.verificationsDeleted += round.counts.verifications;
      counts.loginCodesDeleted += round.counts.login_codes;
      counts.sessionsDeleted += round.counts.sessions;
      counts.passwordResetTokensCleared += round.counts.reset_tokens;
      counts.auditEventsDeleted += round.counts.audit_events;

      if (round.expiredKycRecords.length > 0) {
        const removal = await deleteExpiredKycRecords(deps, round.expiredKycRecords);
        if (removal.ok) {
          counts.kycRecordsDeleted += removal.recordsDeleted;
          counts.kycDocumentsDeleted += removal.documentsDeleted;
        } else {
          kycRemovalFailed = true;
        }
      }

      // A table that filled its batch may have more rows due, while any other table is done.
      const batchFilled =
        Object.values(round.counts).some((count) => count >= limits.batchSize) ||
        (!kycRemovalFailed && round.expiredKycRecords.length >= limits.batchSize);
      if (!batchFilled) {
        complete = !kycRemovalFailed;
        break;
      }
    }
  } catch (error) {
    deps.log.error("cleanup_failed", { rounds, ...countFields(counts), ...describeError(error) });
    throw error;
  }

  const fields = { rounds, complete, ...countFields(counts) };
  if (complete) deps.log.info("cleanup_finished", fields);
  else deps.log.warn("cleanup_finished", fields);
  return { counts, rounds, complete };
}

/**
 * One round in one statement: each data-modifying CTE removes at most `batchSize` rows of one
 * table, and the final SELECT returns how many each removed. It also returns up to `kycBatchSize`
 * retained KYC records past their period, which the caller deletes from R2 before their rows.
 *
 * Note: `consumed_at`, `revoked_at` and `password_reset_expires` have no index, so each run reads
 * the whole of those tables unless a full batch is found first. A partial index per column
 * (`WHERE … IS NOT NULL`) would fix that once the tables grow large.
 */
async function runCleanupRound(
  deps: CleanupDependencies,
  cutoffs: RoundCutoffs,
  batchSize: number,
  kycBatchSize: number,
): Promise<{ counts: RoundCounts; expiredKycRecords: RetainedKycRecord[] }> {
  const result = await deps.db.execute<RoundRow>(sql`
    WITH expired_verifications AS (
      DELETE FROM verifications
      WHERE id IN (
        SELECT id FROM verifications
        WHERE (consumed_at IS NULL AND expires_at < ${cutoffs.now}::timestamptz)
           OR consumed_at < ${cutoffs.consumedBefore}::timestamptz
        LIMIT ${batchSize})
      RETURNING 1
    ),
    expired_login_codes AS (
      DELETE FROM oauth_login_codes
      WHERE code_hash IN (
        SELECT code_hash FROM oauth_login_codes
        WHERE expires_at < ${cutoffs.now}::timestamptz
        LIMIT ${batchSize})
      RETURNING 1
    ),
    ended_sessions AS (
      DELETE FROM auth_sessions
      WHERE id IN (
        SELECT id FROM auth_sessions
        WHERE expires_at < ${cutoffs.now}::timestamptz OR revoked_at < ${cutoffs.revokedBefore}::timestamptz
        LIMIT ${batchSize})
      RETURNING 1
    ),
    expired_reset_tokens AS (
      UPDATE auth_credentials
      SET password_reset_token_hash = NULL, password_reset_expires = NULL
      WHERE user_id IN (
        SELECT user_id FROM auth_credentials
        WHERE password_reset_expires < ${cutoffs.now}::timestamptz
        LIMIT ${batchSize})
      RETURNING 1
    ),
    old_audit_events AS (
      DELETE FROM audit_events
      WHERE id IN (
        SELECT id FROM audit_events
        WHERE occurred_at < ${cutoffs.auditBefore}::timestamptz
        LIMIT ${batchSize})
      RETURNING 1
    ),
    expired_kyc AS (${selectExpiredKycRecords(cutoffs.kycDeletedBefore, kycBatchSize)})
    SELECT (SELECT count(*) FROM expired_verifications)::int AS verifications,
           (SELECT count(*) FROM expired_login_codes)::int AS login_codes,
           (SELECT count(*) FROM ended_sessions)::int AS sessions,
           (SELECT count(*) FROM expired_reset_tokens)::int AS reset_tokens,
           (SELECT count(*) FROM old_audit_events)::int AS audit_events,
           (SELECT coalesce(jsonb_agg(expired_kyc), '[]'::jsonb) FROM expired_kyc) AS expired_kyc_records`);

  const row = result.rows[0];
  if (row === undefined) throw new Error("The cleanup statement returned no row.");
  return {
    counts: {
      verifications: Number(row.verifications),
      login_codes: Number(row.login_codes),
      sessions: Number(row.sessions),
      reset_tokens: Number(row.reset_tokens),
      audit_events: Number(row.audit_events),
    },
    expiredKycRecords: row.expired_kyc_records,
  };
}

function countFields(counts: CleanupCounts) {
  return {
    verifications_deleted: counts.verificationsDeleted,
    login_codes_deleted: counts.loginCodesDeleted,
    sessions_deleted: counts.sessionsDeleted,
    password_reset_tokens_cleared: counts.passwordResetTokensCleared,
    audit_events_deleted: counts.auditEventsDeleted,
    kyc_records_deleted: counts.kycRecordsDeleted,
    kyc_documents_deleted: counts.kycDocumentsDeleted,
  };
}
