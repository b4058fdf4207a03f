import { sql } from "drizzle-orm";
import type { Caller, Dependencies } from "../http/context";
import { decodeCursor, encodeCursor, isCursorTimestamp, isCursorUuid } from "../lib/cursor";
import { type ActorRejection, actorRejection, liveActorQuery, liveCallerQuery } from "./access";
import { auditEventStatement } from "./audit";
import { cursorTimestampSql } from "./pagination";
import { toUserView, type UserRole, type UserRow, type UserStatus, type UserView } from "./user-view";

type Failure<Reason extends string> = { ok: false; reason: Reason };

export type ListUsersResult =
  | { ok: true; items: UserView[]; next_cursor: string | null }
  | Failure<ActorRejection>
  | Failure<"invalid_cursor">;

export type UserChangeResult =
  | { ok: true; user: UserView }
  | Failure<ActorRejection>
  | Failure<"not_found" | "own_account">;

type ActorFlags = { actor_allowed: boolean; caller_live: boolean };

/** Admin statements read the actor's role and status from the database and hold the row FOR SHARE. */
function adminCtes(deps: Dependencies, caller: Caller) {
  return sql`caller AS (${liveCallerQuery(deps, caller)}),
             actor AS (${liveActorQuery(deps, caller, ["admin"], { lock: true })})`;
}

const ACTOR_FLAGS = sql`EXISTS (SELECT 1 FROM actor) AS actor_allowed, EXISTS (SELECT 1 FROM caller) AS caller_live`;

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Escape LIKE wildcards so a search for `a_b%` matches those characters literally. */
function escapeLikePattern(text: string): string {
  return text.replace(/[\\%_]/g, (character) => `\\${character}`);
}

/**
 * List users, newest first, in one round trip. `q` matches the start of the email or the username
 * (case-insensitively), or a whole user id.
 */
export async function listUsers(
  deps: Dependencies,
  caller: Caller,
  query: { q?: string | undefined; status?: UserStatus | undefined; limit: number; cursor?: string | undefined },
): Promise<ListUsersResult> {
  const conditions = [sql`EXISTS (SELECT 1 FROM actor)`];
  if (query.q !== undefined && query.q !== "") {
    const search = query.q.toLowerCase();
    const prefix = `${escapeLikePattern(search)}%`;
    const byId = UUID_PATTERN.test(search) ? sql` OR u.id = ${search}::uuid` : sql``;
    conditions.push(sql`(u.email LIKE ${prefix} ESCAPE '\\' OR lower(u.username) LIKE ${prefix} ESCAPE '\\'${byId})`);
  }
  if (query.status !== undefined) conditions.push(sql`u.status = ${query.status}`);
  if (query.cursor !== undefined) {
    const parts = decodeCursor(query.cursor, [isCursorTimestamp, isCursorUuid]);
    if (parts === null) return { ok: false, reason: "invalid_cursor" };
    const [createdAt, userId] = parts;
    conditions.push(sql`(u.created_at, u.id) < (${createdAt}::timestamptz, ${userId}::uuid)`);
  }

  type Row = ActorFlags & { users: (UserRow & { cursor_created_at: string })[] | null };
  const result = await deps.db.execute<Row>(sql`
    WITH ${adminCtes(deps, caller)}
    SELECT ${ACTOR_FLAGS},
      (SELECT json_agg(page ORDER BY page.created_at DESC, page.id DESC) FROM (
         SELECT u.id, u.username, u.email, u.mobile_number, u.status, u.role, u.is_email_verified,
                u.is_mobile_verified, u.profile_setup_at, u.last_login_at, u.created_at, u.updated_at,
                ${cursorTimestampSql(sql`u.created_at`)} AS cursor_created_at
         FROM users AS u
         WHERE ${sql.join(conditions, sql` AND `)}
         ORDER BY u.created_at DESC, u.id DESC
         LIMIT ${query.limit + 1}) AS page) AS users`);

  const row = result.rows[0];
  const rejection = row === undefined ? "unauthorized" : actorRejection(row);
  if (rejection !== null || row === undefined) return { ok: false, reason: rejection ?? "unauthorized" };

  const rows = row.users ?? [];
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  const next_cursor =
    rows.length > query.limit && last !== undefined ? encodeCursor([last.cursor_created_at, last.id]) : null;
  return { ok: true, items: page.map(toUserView), next_cursor };
}

type ChangeRow = ActorFlags & { changed: UserRow | null; current: UserRow | null };

function changeOutcome(row: ChangeRow | undefined): UserChangeResult {
  const rejection = row === undefined ? "unauthorized" : actorRejection(row);
  if (rejection !== null || row === undefined) return { ok: false, reason: rejection ?? "unauthorized" };
  const user = row.changed ?? row.current;
  if (user === null) return { ok: false, reason: "not_found" };
  return { ok: true, user: toUserView(user) };
}

/** Select the target as the statement found it, for requests that change nothing. */
function currentUserSql(targetUserId: string) {
  return sql`(SELECT to_jsonb(u) FROM users AS u WHERE u.id = ${targetUserId} AND u.status <> 'deleted') AS current`;
}

/**
 * Suspend an account and revoke every one of its sessions in the same statement, so no refresh
 * token of it works afterwards. Suspending a suspended account changes nothing and returns it as
 * it is. Deleted accounts are not found, and admins cannot suspend themselves.
 */
export async function suspendUser(
  deps: Dependencies,
  caller: Caller,
  targetUserId: string,
  reason: string,
): Promise<UserChangeResult> {
  if (targetUserId === caller.userId) return { ok: false, reason: "own_account" };

  const now = deps.clock.now().toISOString();
  const result = await deps.db.execute<ChangeRow & { sessions_revoked: number }>(sql`
    WITH ${adminCtes(deps, caller)},
    suspended AS (
      UPDATE users AS u SET status = 'suspended', updated_at = ${now}::timestamptz
      WHERE u.id = ${targetUserId} AND u.status IN ('active', 'pending_verification') AND EXISTS (SELECT 1 FROM actor)
      RETURNING u.*),
    revoked AS (
      UPDATE auth_sessions AS s SET revoked_at = ${now}::timestamptz, revoked_reason = 'account_suspended'
      WHERE s.user_id IN (SELECT id FROM suspended) AND s.revoked_at IS NULL
      RETURNING s.id),
    audit AS (${auditEventStatement(
      deps,
      { action: "user.suspended", actorUserId: caller.userId, metadata: { reason } },
      sql`SELECT id FROM suspended`,
    )})
    SELECT ${ACTOR_FLAGS}, (SELECT to_jsonb(suspended) FROM suspended) AS changed, ${currentUserSql(targetUserId)},
           (SELECT count(*)::int FROM revoked) AS sessions_revoked`);

  const outcome = changeOutcome(result.rows[0]);
  if (outcome.ok && result.rows[0]?.changed !== null) {
    deps.log.info("user_suspended", {
      user_id: targetUserId,
      admin_id: caller.userId,
      sessions_revoked: result.rows[0]?.sessions_revoked,
    });
  }
  return outcome;
}

/**
 * Lift a suspension. The account returns to `active` only if it had a verified email or mobile
 * number. One suspended before verifying goes back to `pending_verification`, so a suspension
 * can never skip verification. Reactivating an account that is not suspended changes nothing.
 */
export async function reactivateUser(
  deps: Dependencies,
  caller: Caller,
  targetUserId: string,
): Promise<UserChangeResult> {
  if (targetUserId === caller.userId) return { ok: false, reason: "own_account" };

  const now = deps.clock.now().toISOString();
  const result = await deps.db.execute<ChangeRow>(sql`
    WITH ${adminCtes(deps, caller)},
    reactivated AS (
      UPDATE users AS u
      SET status = CASE WHEN u.is_email_verified OR u.is_mobile_verified THEN 'active' ELSE 'pending_verification' END,
          updated_at = ${now}::timestamptz
      WHERE u.id = ${targetUserId} AND u.status = 'suspended' AND EXISTS (SELECT 1 FROM actor)
      RETURNING u.*),
    audit AS (${auditEventStatement(
      deps,
      { action: "user.reactivated", actorUserId: caller.userId },
      sql`SELECT id FROM reactivated`,
    )})
    SELECT ${ACTOR_FLAGS}, (SELECT to_jsonb(reactivated) FROM reactivated) AS changed, ${currentUserSql(targetUserId)}`);

  const outcome = changeOutcome(result.rows[0]);
  if (outcome.ok && result.rows[0]?.changed !== null) {
    deps.log.info("user_reactivated", { user_id: targetUserId, admin_id: caller.userId });
  }
  return outcome;
}

/**
 * Change a user's role, recording the old and new role in the audit log. Tokens carry the role
 * for up to 15 minutes, but every review and admin route reads the role from the database. So a
 * demotion takes effect on the next request, and a promotion once the user's token is refreshed.
 * Admins cannot change their own role, so an admin cannot lock everyone out alone.
 */
export async function changeUserRole(
  deps: Dependencies,
  caller: Caller,
  targetUserId: string,
  role: UserRole,
): Promise<UserChangeResult> {
  if (targetUserId === caller.userId) return { ok: false, reason: "own_account" };

  const now = deps.clock.now().toISOString();
  const result = await deps.db.execute<ChangeRow>(sql`
    WITH ${adminCtes(deps, caller)},
    target AS (SELECT u.id, u.role FROM users AS u WHERE u.id = ${targetUserId} AND u.status <> 'deleted' FOR UPDATE),
    changed AS (
      UPDATE users AS u SET role = ${role}, updated_at = ${now}::timestamptz
      FROM target WHERE u.id = target.id AND target.role <> ${role} AND EXISTS (SELECT 1 FROM actor)
      RETURNING u.*, target.role AS previous_role),
    audit AS (
      INSERT INTO audit_events (occurred_at, action, actor_user_id, target_user_id, request_id, metadata)
      SELECT ${now}::timestamptz, 'user.role_changed', ${caller.userId}, changed.id, ${deps.requestId},
             jsonb_build_object('from', changed.previous_role, 'to', changed.role)
      FROM changed)
    SELECT ${ACTOR_FLAGS}, (SELECT to_jsonb(changed) - 'previous_role' FROM changed) AS changed,
           ${currentUserSql(targetUserId)}`);

  const outcome = changeOutcome(result.rows[0]);
  if (outcome.ok && result.rows[0]?.changed !== null) {
    deps.log.info("user_role_changed", { user_id: targetUserId, admin_id: caller.userId, role });
  }
  return outcome;
}
