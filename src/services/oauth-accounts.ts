import { sql } from "drizzle-orm";
import type { OAuthProviderName } from "../config";
import { toIsoString } from "../db/rows";
import type { Caller, Dependencies } from "../http/context";
import { auditEventStatement } from "./audit";

export interface OAuthAccountView {
  provider: OAuthProviderName;
  email: string | null;
  created_at: string;
}

/**
 * List the providers linked to the caller's account. Returns null when the caller's session has
 * ended, so a token of a revoked session stops working here at once. One round trip.
 */
export async function listOAuthAccounts(deps: Dependencies, caller: Caller): Promise<OAuthAccountView[] | null> {
  const now = deps.clock.now().toISOString();
  const result = await deps.db.execute<{
    provider: OAuthProviderName | null;
    email: string | null;
    created_at: Date | string | null;
  }>(sql`
    SELECT o.provider, o.email, o.created_at
    FROM users AS u
    JOIN auth_sessions AS s ON s.user_id = u.id
    LEFT JOIN oauth_accounts AS o ON o.user_id = u.id
    WHERE u.id = ${caller.userId} AND u.status = 'active'
      AND s.id = ${caller.sessionId} AND s.revoked_at IS NULL AND s.expires_at > ${now}::timestamptz
    ORDER BY o.provider`);

  if (result.rows.length === 0) return null;
  return result.rows.flatMap((row) =>
    row.provider === null
      ? []
      : [{ provider: row.provider, email: row.email, created_at: toIsoString(row.created_at) ?? "" }],
  );
}

export type UnlinkResult = { ok: true } | { ok: false; reason: "session_ended" | "not_linked" | "last_login_method" };

/**
 * Unlink a provider from the caller's account, unless that would leave the account with neither a
 * password nor another provider. One batch: the first statement locks the user row, so two
 * parallel unlinks of the last two providers run one after the other, and the second finds only
 * one method left.
 */
export async function unlinkOAuthAccount(
  deps: Dependencies,
  caller: Caller,
  provider: OAuthProviderName,
): Promise<UnlinkResult> {
  const { db } = deps;
  const now = deps.clock.now().toISOString();
  const liveCaller = sql`
    SELECT u.id FROM users AS u JOIN auth_sessions AS s ON s.user_id = u.id
    WHERE u.id = ${caller.userId} AND u.status = 'active'
      AND s.id = ${caller.sessionId} AND s.revoked_at IS NULL AND s.expires_at > ${now}::timestamptz`;

  const [, result] = await db.batch([
    db.execute(sql`${liveCaller} FOR UPDATE OF u`),
    db.execute<{ caller_found: boolean; linked: boolean; unlinked: boolean }>(sql`
      WITH caller AS (${liveCaller}),
      target AS (
        SELECT o.id FROM oauth_accounts AS o WHERE o.user_id IN (SELECT id FROM caller) AND o.provider = ${provider}
      ),
      other_methods AS (
        SELECT EXISTS (SELECT 1 FROM auth_credentials AS c WHERE c.user_id = ${caller.userId})
            OR EXISTS (SELECT 1 FROM oauth_accounts AS o WHERE o.user_id = ${caller.userId} AND o.provider <> ${provider})
            AS present
      ),
      deleted AS (
        DELETE FROM oauth_accounts
        WHERE id IN (SELECT id FROM target) AND (SELECT present FROM other_methods)
        RETURNING user_id AS id
      ),
      audited AS (${auditEventStatement(
        deps,
        { action: "oauth.unlinked", actorUserId: caller.userId, metadata: { provider } },
        sql`SELECT id FROM deleted`,
      )})
      SELECT EXISTS (SELECT 1 FROM caller) AS caller_found, EXISTS (SELECT 1 FROM target) AS linked,
             EXISTS (SELECT 1 FROM deleted) AS unlinked`),
  ]);

  const row = result.rows[0];
  if (row === undefined || !row.caller_found) return { ok: false, reason: "session_ended" };
  if (!row.linked) return { ok: false, reason: "not_linked" };
  if (!row.unlinked) return { ok: false, reason: "last_login_method" };
  deps.log.info("oauth_unlinked", { user_id: caller.userId, provider });
  return { ok: true };
}
