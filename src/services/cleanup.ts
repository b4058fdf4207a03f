import { sql } from "drizzle-orm";
import type { Dependencies } from "../http/context";
import { describeError } from "../lib/logger";

/** The dependencies of a cleanup run, which comes from the cron trigger rather than a request. */
export type CleanupDependencies = Pick<Dependencies, "config" | "db" | "clock" | "log">;

/**
 * Bounds of one cleanup run. Each round is one database round trip (one Worker subrequest) that
 * removes at most `batchSize` rows from each table, so a run makes at most `maxRounds`
 * subrequests and never keeps a transaction open for long. Whatever is left waits for the next run.
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
}

export interface CleanupResult {
  counts: CleanupCounts;
  rounds: number;
  /** False when the run stopped at `maxRounds` with rows still due, which the next run continues with. */
  complete: boolean;
}

type RoundRow = {
  verifications: number;
  login_codes: number;
  sessions: number;
  reset_tokens: number;
  audit_events: number;
};

/**
 * Delete what the database no longer needs: unused one-time codes once expired, used ones a day
 * after use, expired OAuth login codes, expired sessions and sessions revoked longer ago than the retention setting, expired
 * password-reset tokens (the columns are cleared, the credentials stay), and audit events older
 * than their retention.
 *
 * KV is not cleaned here: everything the service keeps in KV (one-time values, counters, the
 * development outbox) is written with `expirationTtl`, and KV deletes it at expiry.
 */
export async function runCleanup(
  deps: CleanupDependencies,
  limits: CleanupLimits = DEFAULT_CLEANUP_LIMITS,
): Promise<CleanupResult> {
  const now = deps.clock.now();
  const cutoffs = {
    now: now.toISOString(),
    consumedBefore: new Date(now.getTime() - CONSUMED_CODE_RETENTION_MS).toISOString(),
    revokedBefore: new Date(now.getTime() - deps.config.retention.revokedSessionDays * DAY_MS).toISOString(),
    auditBefore: new Date(now.getTime() - deps.config.retention.auditEventDays * DAY_MS).toISOString(),
  };
  const counts: CleanupCounts = {
    verificationsDeleted: 0,
    loginCodesDeleted: 0,
    sessionsDeleted: 0,
    passwordResetTokensCleared: 0,
    auditEventsDeleted: 0,
  };

  let rounds = 0;
  let complete = false;
  try {
    while (rounds < limits.maxRounds) {
      rounds++;
      const round = await runCleanupRound(deps, cutoffs, limits.batchSize);
      counts.verificationsDeleted += round.verifications;
      counts.loginCodesDeleted += round.login_codes;
      counts.sessionsDeleted += round.sessions;
      counts.passwordResetTokensCleared += round.reset_tokens;
      counts.auditEventsDeleted += round.audit_events;

      // A table that filled its batch may have more rows due, while any other table is done.
      const batchFilled = Object.values(round).some((count) => count >= limits.batchSize);
      if (!batchFilled) {
        complete = true;
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
 * table, and the final SELECT returns how many each removed.
 *
 * Note: `consumed_at`, `revoked_at` and `password_reset_expires` have no index, so each run reads
 * the whole of those tables unless a full batch is found first. A partial index per column
 * (`WHERE … IS NOT NULL`) would fix that once the tables grow large.
 */
async function runCleanupRound(
  deps: CleanupDependencies,
  cutoffs: { now: string; consumedBefore: string; revokedBefore: string; auditBefore: string },
  batchSize: number,
): Promise<RoundRow> {
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
    )
    SELECT (SELECT count(*) FROM expired_verifications)::int AS verifications,
           (SELECT count(*) FROM expired_login_codes)::int AS login_codes,
           (SELECT count(*) FROM ended_sessions)::int AS sessions,
           (SELECT count(*) FROM expired_reset_tokens)::int AS reset_tokens,
           (SELECT count(*) FROM old_audit_events)::int AS audit_events`);

  const row = result.rows[0];
  if (row === undefined) throw new Error("The cleanup statement returned no row.");
  return {
    verifications: Number(row.verifications),
    login_codes: Number(row.login_codes),
    sessions: Number(row.sessions),
    reset_tokens: Number(row.reset_tokens),
    audit_events: Number(row.audit_events),
  };
}

function countFields(counts: CleanupCounts) {
  return {
    verifications_deleted: counts.verificationsDeleted,
    login_codes_deleted: counts.loginCodesDeleted,
    sessions_deleted: counts.sessionsDeleted,
    password_reset_tokens_cleared: counts.passwordResetTokensCleared,
    audit_events_deleted: counts.auditEventsDeleted,
  };
}
