import { encodeBase64urlNoPadding } from "@oslojs/encoding";
import { sql } from "drizzle-orm";
import { hmacSha256, sha256Hex } from "../crypto/hashing";
import { toDate } from "../db/rows";
import type { Dependencies } from "../http/context";
import { addSeconds } from "../lib/clock";
import { auditEventStatement } from "./audit";
import { buildTokenResponse, type TokenResponse } from "./tokens";
import { toUserView, type UserRow, userColumnsOf } from "./user-view";

/** How long a rotated-out refresh token still returns the token that replaced it. */
export const REFRESH_GRACE_SECONDS = 30;

/** How many rotated-out refresh token hashes a session keeps, so that replaying them is detected. */
export const MAX_RETIRED_REFRESH_TOKENS = 64;

export type RefreshResult =
  | { ok: true; tokens: TokenResponse }
  | { ok: false; reason: "invalid_refresh_token" | "refresh_token_reused" };

type RefreshRow = UserRow & { outcome: "rotated" | "reused"; session_id: string; expires_at: Date | string };

/**
 * Derive the refresh token that replaces `refreshToken`. It is a MAC of the old token under a
 * server key, so every request racing with one token computes the same successor and the client
 * ends up holding one working token whichever response it keeps.
 */
export async function deriveNextRefreshToken(refreshTokenKey: string, refreshToken: string): Promise<string> {
  return encodeBase64urlNoPadding(await hmacSha256(refreshTokenKey, refreshToken));
}

/**
 * Rotate a refresh token in one statement, without a transaction.
 *
 * The UPDATE accepts the session's current token and rotates it: the current hash becomes the
 * previous one, and the old previous hash joins the retired list. It also accepts the previous
 * token within the grace window while the successor is still current, and then changes nothing
 * but returns the same successor. Under READ
 * COMMITTED a racer that waits for the row lock re-checks this WHERE on the row the winner wrote,
 * matches the grace arm, and returns the winner's token, so races never fork the session.
 *
 * A previous token after the grace window, or any older retired token, revokes the session in a
 * second UPDATE of the same statement. The two WHERE clauses exclude each other on the snapshot
 * that both read, so no row is targeted by both.
 */
export async function refreshSession(deps: Dependencies, refreshToken: string): Promise<RefreshResult> {
  const now = deps.clock.now();
  const nowText = now.toISOString();
  const graceStart = addSeconds(now, -REFRESH_GRACE_SECONDS).toISOString();
  const nextRefreshToken = await deriveNextRefreshToken(deps.config.refreshTokenKey, refreshToken);
  const [tokenHash, nextTokenHash] = await Promise.all([sha256Hex(refreshToken), sha256Hex(nextRefreshToken)]);
  const isCurrent = sql`s.refresh_token_hash = ${tokenHash}`;

  const result = await deps.db.execute<RefreshRow>(sql`
    WITH rotated AS (
      UPDATE auth_sessions AS s
      SET refresh_token_hash = CASE WHEN ${isCurrent} THEN ${nextTokenHash} ELSE s.refresh_token_hash END,
          previous_refresh_token_hash = CASE WHEN ${isCurrent} THEN s.refresh_token_hash
                                             ELSE s.previous_refresh_token_hash END,
          retired_refresh_token_hashes = CASE
            WHEN ${isCurrent} AND s.previous_refresh_token_hash IS NOT NULL
            THEN (array_prepend(s.previous_refresh_token_hash, s.retired_refresh_token_hashes))[1:${MAX_RETIRED_REFRESH_TOKENS}]
            ELSE s.retired_refresh_token_hashes END,
          rotated_at = CASE WHEN ${isCurrent} THEN ${nowText}::timestamptz ELSE s.rotated_at END,
          last_used_at = ${nowText}::timestamptz
      FROM users AS u
      WHERE u.id = s.user_id AND u.status = 'active'
        AND s.revoked_at IS NULL AND s.expires_at > ${nowText}::timestamptz
        AND (${isCurrent}
             OR (s.previous_refresh_token_hash = ${tokenHash} AND s.refresh_token_hash = ${nextTokenHash}
                 AND s.rotated_at > ${graceStart}::timestamptz))
      RETURNING s.id AS session_id, s.expires_at, ${userColumnsOf("u")}
    ),
    reused AS (
      UPDATE auth_sessions AS s
      SET revoked_at = ${nowText}::timestamptz, revoked_reason = 'refresh_token_reused'
      WHERE s.revoked_at IS NULL AND s.expires_at > ${nowText}::timestamptz
        AND ((s.previous_refresh_token_hash = ${tokenHash} AND s.rotated_at <= ${graceStart}::timestamptz)
             OR s.retired_refresh_token_hashes @> ARRAY[${tokenHash}::text])
      RETURNING s.id AS session_id, s.user_id
    ),
    audited AS (${auditEventStatement(
      deps,
      { action: "session.refresh_token_reused" },
      sql`SELECT user_id AS id FROM reused`,
    )})
    SELECT 'rotated' AS outcome, rotated.* FROM rotated
    UNION ALL
    SELECT 'reused', reused.session_id, NULL, ${userColumnsOf("u")}
    FROM reused JOIN users AS u ON u.id = reused.user_id`);

  const row = result.rows[0];
  if (row === undefined) return { ok: false, reason: "invalid_refresh_token" };
  if (row.outcome === "reused") {
    deps.log.warn("refresh_token_reused", { user_id: row.id, session_id: row.session_id });
    return { ok: false, reason: "refresh_token_reused" };
  }

  const tokens = await buildTokenResponse(
    deps.config,
    { id: row.session_id, refreshToken: nextRefreshToken, expiresAt: toDate(row.expires_at) },
    toUserView(row),
    now,
  );
  return { ok: true, tokens };
}
