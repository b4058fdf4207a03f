import { sql, type SQL } from "drizzle-orm";
import type { Dependencies } from "../http/context";

/** Every action the audit log records. Add new ones here so the log stays searchable. */
export const AUDIT_ACTIONS = [
  "signup.verified",
  "login.succeeded",
  "login.failed",
  "login.locked",
  "password.changed",
  "password.reset_requested",
  "password.reset",
  "session.revoked",
  "session.revoked_all",
  "session.refresh_token_reused",
  "email.changed",
  "mobile.changed",
  "oauth.linked",
  "oauth.unlinked",
  "profile.updated",
  "kyc.updated",
  "kyc.submitted",
  "kyc.document_uploaded",
  "kyc.viewed",
  "kyc.document_viewed",
  "kyc.approved",
  "kyc.rejected",
  "kyc.deleted",
  "user.suspended",
  "user.reactivated",
  "user.role_changed",
  "user.deleted",
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditEvent {
  action: AuditAction;
  actorUserId?: string | null;
  targetUserId?: string | null;
  /** Ids, reasons and counts only: never an email, phone number, token, code or id number. */
  metadata?: Record<string, string | number | boolean | null>;
}

/**
 * Build the INSERT for an audit event, so callers can put it in the same batch or statement (one
 * round trip, one transaction) as the change it records. With `targetUserFrom`, a query returning
 * an `id` column, one event is written per row it returns and none when it returns nothing.
 */
export function auditEventStatement(
  deps: Pick<Dependencies, "clock" | "requestId">,
  event: AuditEvent,
  targetUserFrom?: SQL,
): SQL {
  const occurredAt = deps.clock.now().toISOString();
  const metadata = JSON.stringify(event.metadata ?? {});
  if (targetUserFrom !== undefined) {
    return sql`
      INSERT INTO audit_events (occurred_at, action, actor_user_id, target_user_id, request_id, metadata)
      SELECT ${occurredAt}::timestamptz, ${event.action}, ${event.actorUserId ?? null}, source.id, ${deps.requestId},
             ${metadata}::jsonb
      FROM (${targetUserFrom}) AS source`;
  }
  return sql`
    INSERT INTO audit_events (occurred_at, action, actor_user_id, target_user_id, request_id, metadata)
    VALUES (${occurredAt}::timestamptz, ${event.action}, ${event.actorUserId ?? null},
            ${event.targetUserId ?? null}, ${deps.requestId}, ${metadata}::jsonb)`;
}

/**
 * Build the INSERT for an audit event of an action users took on their own accounts, for statements
 * that learn the user only as they run. `source` returns `id` (the actor and target) and `metadata`
 * (jsonb, merged over `event.metadata`). One event is written per row it returns.
 */
export function auditOwnActionStatement(
  deps: Dependencies,
  event: Pick<AuditEvent, "action" | "metadata">,
  source: SQL,
): SQL {
  const occurredAt = deps.clock.now().toISOString();
  const metadata = JSON.stringify(event.metadata ?? {});
  return sql`
    INSERT INTO audit_events (occurred_at, action, actor_user_id, target_user_id, request_id, metadata)
    SELECT ${occurredAt}::timestamptz, ${event.action}, source.id, source.id, ${deps.requestId},
           ${metadata}::jsonb || source.metadata
    FROM (${source}) AS source`;
}

/** Record an audit event on its own, for events that have no other write to join, and log it. */
export async function recordAuditEvent(deps: Dependencies, event: AuditEvent): Promise<void> {
  await deps.db.execute(auditEventStatement(deps, event));
  logSecurityEvent(deps, event);
}

/** Actions that record a refusal or an attack signal; their log lines are warnings. */
const WARNING_ACTIONS: ReadonlySet<AuditAction> = new Set([
  "login.failed",
  "login.locked",
  "session.refresh_token_reused",
]);

/**
 * Write the one log line of a security event (`"event":"security_event"`) through the request's
 * logger, so it carries the request id and lands beside the request's own line. Call it once the
 * statement that records the event has succeeded; `recordAuditEvent` does so itself. Events that
 * are not audited (a failed login on an unknown identifier) are logged the same way.
 */
export function logSecurityEvent(deps: Pick<Dependencies, "log">, event: AuditEvent): void {
  const fields = {
    ...event.metadata,
    action: event.action,
    actor_user_id: event.actorUserId ?? undefined,
    target_user_id: event.targetUserId ?? undefined,
  };
  if (WARNING_ACTIONS.has(event.action)) deps.log.warn("security_event", fields);
  else deps.log.info("security_event", fields);
}
