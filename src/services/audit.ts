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
export function auditEventStatement(deps: Dependencies, event: AuditEvent, targetUserFrom?: SQL): SQL {
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

/** Record an audit event on its own, for events that have no other write to join. */
export async function recordAuditEvent(deps: Dependencies, event: AuditEvent): Promise<void> {
  await deps.db.execute(auditEventStatement(deps, event));
}
