import { sql, type SQL } from "drizzle-orm";
import type { Dependencies } from "../http/context";
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
