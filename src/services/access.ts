import { sql, type SQL } from "drizzle-orm";
import type { Caller, Dependencies } from "../http/context";
import type { UserRole } from "./user-view";

/**
 * A query that returns the caller's user id (column `id`) while the account is active and the
 * token's session is neither revoked nor expired. Services embed it in the statement that does
 * the request's work, so suspension and logout take effect at once at no extra round trip.
 */
export function liveCallerQuery(deps: Dependencies, caller: Caller): SQL {
  const now = deps.clock.now().toISOString();
  return sql`
    SELECT u.id FROM users AS u
    WHERE u.id = ${caller.userId} AND u.status = 'active'
      AND EXISTS (
        SELECT 1 FROM auth_sessions AS s
        WHERE s.id = ${caller.sessionId} AND s.user_id = u.id AND s.revoked_at IS NULL
          AND s.expires_at > ${now}::timestamptz)`;
}

/**
 * Like `liveCallerQuery`, but also requires one of `roles` as the database holds it now. The role
 * in an access token can be up to 15 minutes old; reading it here means a demoted or suspended
 * reviewer or admin loses access on the next request. With `lock`, the actor's row is held
 * FOR SHARE until the statement commits, so a concurrent change to the actor's own role or status
 * waits for it instead of interleaving (two admins demoting each other cannot both succeed).
 */
export function liveActorQuery(
  deps: Dependencies,
  caller: Caller,
  roles: readonly UserRole[],
  options: { lock?: boolean } = {},
): SQL {
  const roleList = sql.join(
    roles.map((role) => sql`${role}`),
    sql`, `,
  );
  const lock = options.lock === true ? sql` FOR SHARE` : sql``;
  return sql`${liveCallerQuery(deps, caller)} AND u.role IN (${roleList})${lock}`;
}

/** Why an actor check failed: the session or account is gone (401), or the role is missing (403). */
export type ActorRejection = "unauthorized" | "forbidden";

/**
 * Read the result of an actor check from the flags a statement returns: `actor_allowed` from
 * `EXISTS (liveActorQuery)` and `caller_live` from `EXISTS (liveCallerQuery)`.
 */
export function actorRejection(flags: { actor_allowed: boolean; caller_live: boolean }): ActorRejection | null {
  if (!flags.caller_live) return "unauthorized";
  if (!flags.actor_allowed) return "forbidden";
  return null;
}
