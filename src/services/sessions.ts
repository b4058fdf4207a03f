import { sql, type SQL } from "drizzle-orm";
import { sha256Hex } from "../crypto/hashing";
import { toIsoString } from "../db/rows";
import type { Caller, Dependencies } from "../http/context";
import { auditEventStatement } from "./audit";
import { createRefreshToken, REFRESH_TOKEN_TTL_SECONDS } from "./tokens";

export interface NewSession {
  refreshToken: string;
  refreshTokenHash: string;
  expiresAt: Date;
}

/** A fresh refresh token and the absolute expiry of the session it opens (30 days). */
export async function prepareNewSession(now: Date): Promise<NewSession> {
  const { refreshToken, refreshTokenHash } = await createRefreshToken();
  return { refreshToken, refreshTokenHash, expiresAt: new Date(now.getTime() + REFRESH_TOKEN_TTL_SECONDS * 1000) };
}

/**
 * Build the INSERT that opens a session for the user ids that `userSelect` returns (one `id`
 * column), returning the session id. Sign-in flows embed it in their own statement or batch, so
 * opening a session costs no extra round trip.
 */
export function openSessionStatement(
  deps: Dependencies,
  session: NewSession,
  userSelect: SQL,
  userAgent: string | undefined,
): SQL {
  const now = deps.clock.now().toISOString();
  return sql`
    INSERT INTO auth_sessions (user_id, refresh_token_hash, expires_at, last_used_at, created_at, user_agent)
    SELECT selected.id, ${session.refreshTokenHash}, ${session.expiresAt.toISOString()}::timestamptz,
           ${now}::timestamptz, ${now}::timestamptz, ${userAgent?.slice(0, 512) ?? null}
    FROM (${userSelect}) AS selected
    RETURNING id`;
}

// --- Listing and revoking sessions ----------------------------------------------------------------

export interface SessionView {
  id: string;
  created_at: string;
  expires_at: string;
  last_used_at: string;
  user_agent: string | null;
  current: boolean;
}

type SessionRow = {
  id: string;
  created_at: Date | string;
  expires_at: Date | string;
  last_used_at: Date | string;
  user_agent: string | null;
};

/**
 * Build the SQL condition that the caller's own session is live and its user active. Statements that
 * act for a signed-in user include it, so a token of a revoked session stops working at once.
 */
export function callerSessionIsLive(caller: Caller, now: Date): SQL {
  return sql`EXISTS (
    SELECT 1 FROM auth_sessions AS live JOIN users AS owner ON owner.id = live.user_id
    WHERE live.id = ${caller.sessionId} AND live.user_id = ${caller.userId} AND owner.status = 'active'
      AND live.revoked_at IS NULL AND live.expires_at > ${now.toISOString()}::timestamptz)`;
}

/** List the caller's live sessions, newest first; null when the caller's own session has ended. */
export async function listSessions(deps: Dependencies, caller: Caller): Promise<SessionView[] | null> {
  const now = deps.clock.now();
  const result = await deps.db.execute<SessionRow>(sql`
    SELECT s.id, s.created_at, s.expires_at, s.last_used_at, s.user_agent
    FROM auth_sessions AS s
    WHERE s.user_id = ${caller.userId} AND s.revoked_at IS NULL AND s.expires_at > ${now.toISOString()}::timestamptz
      AND ${callerSessionIsLive(caller, now)}
    ORDER BY s.created_at DESC, s.id`);

  if (!result.rows.some((row) => row.id === caller.sessionId)) return null;
  return result.rows.map((row) => ({
    id: row.id,
    created_at: toIsoString(row.created_at) ?? "",
    expires_at: toIsoString(row.expires_at) ?? "",
    last_used_at: toIsoString(row.last_used_at) ?? "",
    user_agent: row.user_agent,
    current: row.id === caller.sessionId,
  }));
}

export type RevokeSessionResult = { ok: true } | { ok: false; reason: "unauthorized" | "not_found" };

/** Revoke one live session of the caller's, possibly the caller's own, with its audit event. */
export async function revokeSession(
  deps: Dependencies,
  caller: Caller,
  sessionId: string,
): Promise<RevokeSessionResult> {
  const now = deps.clock.now();
  const nowText = now.toISOString();
  const result = await deps.db.execute<{ caller_live: boolean; revoked: boolean }>(sql`
    WITH requester AS (SELECT ${callerSessionIsLive(caller, now)} AS live),
    revoked AS (
      UPDATE auth_sessions AS s
      SET revoked_at = ${nowText}::timestamptz, revoked_reason = 'revoked_by_user'
      FROM requester
      WHERE requester.live AND s.id = ${sessionId} AND s.user_id = ${caller.userId}
        AND s.revoked_at IS NULL AND s.expires_at > ${nowText}::timestamptz
      RETURNING s.user_id AS id
    ),
    audited AS (${auditEventStatement(
      deps,
      {
        action: "session.revoked",
        actorUserId: caller.userId,
        metadata: { session_id: sessionId, reason: "revoked_by_user" },
      },
      sql`SELECT id FROM revoked`,
    )})
    SELECT requester.live AS caller_live, EXISTS (SELECT 1 FROM revoked) AS revoked FROM requester`);

  const row = result.rows[0];
  if (row === undefined || !row.caller_live) return { ok: false, reason: "unauthorized" };
  if (!row.revoked) return { ok: false, reason: "not_found" };
  deps.log.info("session_revoked", { user_id: caller.userId, session_id: sessionId });
  return { ok: true };
}

/**
 * Sign out one session, named by the caller's access token, by a refresh token of it (current,
 * previous or retired), or both. Signing out a session that has already ended changes nothing.
 */
export async function signOut(
  deps: Dependencies,
  input: { caller: Caller | undefined; refreshToken: string | undefined },
): Promise<void> {
  const nowText = deps.clock.now().toISOString();
  const tokenHash = input.refreshToken === undefined ? null : await sha256Hex(input.refreshToken);
  const sessionId = input.caller?.sessionId ?? null;
  const userId = input.caller?.userId ?? null;

  const result = await deps.db.execute<{ id: string }>(sql`
    WITH revoked AS (
      UPDATE auth_sessions AS s
      SET revoked_at = ${nowText}::timestamptz, revoked_reason = 'logout'
      WHERE s.revoked_at IS NULL
        AND ((s.id = ${sessionId}::uuid AND s.user_id = ${userId}::uuid)
             OR s.refresh_token_hash = ${tokenHash}
             OR s.previous_refresh_token_hash = ${tokenHash}
             OR s.retired_refresh_token_hashes @> ARRAY[${tokenHash}::text])
      RETURNING s.id, s.user_id
    ),
    audited AS (${auditEventStatement(
      deps,
      { action: "session.revoked", metadata: { reason: "logout" } },
      sql`SELECT user_id AS id FROM revoked`,
    )})
    SELECT id FROM revoked`);

  deps.log.info("signed_out", { user_id: userId, sessions: result.rows.length });
}

/** Revoke every session of the caller, the caller's own included; false when that one has ended. */
export async function signOutEverywhere(deps: Dependencies, caller: Caller): Promise<boolean> {
  const now = deps.clock.now();
  const result = await deps.db.execute<{ id: string }>(sql`
    WITH revoked AS (
      UPDATE auth_sessions AS s
      SET revoked_at = ${now.toISOString()}::timestamptz, revoked_reason = 'logout_all'
      WHERE s.user_id = ${caller.userId} AND s.revoked_at IS NULL AND ${callerSessionIsLive(caller, now)}
      RETURNING s.id
    ),
    audited AS (${auditEventStatement(
      deps,
      { action: "session.revoked_all", actorUserId: caller.userId, metadata: { reason: "logout_all" } },
      sql`SELECT ${caller.userId}::uuid AS id WHERE EXISTS (SELECT 1 FROM revoked)`,
    )})
    SELECT id FROM revoked`);

  // The caller's own live session is always among the revoked ones.
  if (result.rows.length === 0) return false;
  deps.log.info("signed_out_everywhere", { user_id: caller.userId, sessions: result.rows.length });
  return true;
}
