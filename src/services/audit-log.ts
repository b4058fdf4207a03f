import { sql } from "drizzle-orm";
import { toIsoString } from "../db/rows";
import type { Caller, Dependencies } from "../http/context";
import { decodeCursor, encodeCursor, isCursorInteger } from "../lib/cursor";
import { type ActorRejection, actorRejection, liveActorQuery, liveCallerQuery } from "./access";
import type { AuditAction } from "./audit";

export interface AuditEventView {
  id: number;
  occurred_at: string;
  action: string;
  actor_user_id: string | null;
  target_user_id: string | null;
  request_id: string | null;
  metadata: Record<string, unknown>;
}

export type ListAuditEventsResult =
  | { ok: true; items: AuditEventView[]; next_cursor: string | null }
  | { ok: false; reason: ActorRejection | "invalid_cursor" };

/**
 * List audit events newest first, in one round trip: all of them, or those where `userId` is the
 * actor or the target, optionally of one action. The cursor is the id of the last event, which
 * only grows, so new events never shift a page.
 */
export async function listAuditEvents(
  deps: Dependencies,
  caller: Caller,
  query: { userId: string | undefined; action: AuditAction | undefined; limit: number; cursor: string | undefined },
): Promise<ListAuditEventsResult> {
  const conditions = [sql`EXISTS (SELECT 1 FROM actor)`];
  if (query.userId !== undefined) {
    conditions.push(sql`(e.target_user_id = ${query.userId} OR e.actor_user_id = ${query.userId})`);
  }
  if (query.action !== undefined) conditions.push(sql`e.action = ${query.action}`);
  if (query.cursor !== undefined) {
    const parts = decodeCursor(query.cursor, [isCursorInteger]);
    if (parts === null) return { ok: false, reason: "invalid_cursor" };
    conditions.push(sql`e.id < ${parts[0]}::bigint`);
  }

  type Row = { actor_allowed: boolean; caller_live: boolean; events: AuditEventView[] | null };
  const result = await deps.db.execute<Row>(sql`
    WITH caller AS (${liveCallerQuery(deps, caller)}), actor AS (${liveActorQuery(deps, caller, ["admin"])})
    SELECT EXISTS (SELECT 1 FROM actor) AS actor_allowed, EXISTS (SELECT 1 FROM caller) AS caller_live,
      (SELECT json_agg(page ORDER BY page.id DESC) FROM (
         SELECT e.id, e.occurred_at, e.action, e.actor_user_id, e.target_user_id, e.request_id, e.metadata
         FROM audit_events AS e
         WHERE ${sql.join(conditions, sql` AND `)}
         ORDER BY e.id DESC
         LIMIT ${query.limit + 1}) AS page) AS events`);

  const row = result.rows[0];
  const rejection = row === undefined ? "unauthorized" : actorRejection(row);
  if (rejection !== null || row === undefined) return { ok: false, reason: rejection ?? "unauthorized" };

  const events = row.events ?? [];
  const page = events.slice(0, query.limit).map((event) => ({
    ...event,
    occurred_at: toIsoString(event.occurred_at) ?? "",
  }));
  const last = page.at(-1);
  const next_cursor = events.length > query.limit && last !== undefined ? encodeCursor([String(last.id)]) : null;
  return { ok: true, items: page, next_cursor };
}
