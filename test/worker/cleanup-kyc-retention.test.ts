import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createScheduledHandler, type ScheduledOverrides } from "../../src/scheduled";
import type { CleanupLimits } from "../../src/services/cleanup";
import { type SignedInUser, signUpUser, TEST_PASSWORD } from "./helpers/accounts";
import { createTestApp, type TestApp } from "./helpers/app";
import { failingBinding } from "./helpers/faults";
import { pdfBytes, prepareSubmittableKyc, uploadDocument, VALID_PAN } from "./helpers/kyc";

const DAY = 24 * 60 * 60;
const RETENTION_DAYS = 30;
const CLOCK_START = "2026-12-01T09:00:00.000Z";

describe("scheduled cleanup of retained KYC records", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ bindings: { KYC_RETENTION_DAYS: String(RETENTION_DAYS) } });
  });
  afterEach(async () => {
    await t.sql`TRUNCATE users, audit_events CASCADE`;
    t.logs.length = 0;
    t.clock.set(CLOCK_START);
  });

  interface RunOptions {
    app?: TestApp;
    limits?: CleanupLimits;
    bucket?: R2Bucket;
    bindings?: Record<string, string>;
  }

  async function runScheduled(options: RunOptions = {}): Promise<void> {
    const app = options.app ?? t;
    const overrides: ScheduledOverrides = { clock: app.clock, logSink: (line) => app.logs.push(line) };
    if (options.limits !== undefined) overrides.cleanupLimits = options.limits;
    const handler = createScheduledHandler(overrides);
    const context = createExecutionContext();
    const controller = createScheduledController({ scheduledTime: app.clock.now(), cron: "*/15 * * * *" });
    const bindings = { ...app.bindings, ...options.bindings, KYC_BUCKET: options.bucket ?? env.KYC_BUCKET };
    await handler(controller, bindings, context);
    await waitOnExecutionContext(context);
  }

  function logLines(event: string, app: TestApp = t): Record<string, unknown>[] {
    return app.logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.event === event);
  }

  /** Sign up, save KYC details and upload both documents through the API. */
  async function traderWithKyc(email: string, app: TestApp = t): Promise<{ user: SignedInUser; objectKeys: string[] }> {
    const user = await signUpUser(app, email);
    await prepareSubmittableKyc(app, user);
    const certificate = await uploadDocument(app, user, "business_cert", pdfBytes("business certificate"));
    expect(certificate.status).toBe(200);

    const [row] = await app.sql`
      SELECT government_id_object_key, business_cert_object_key FROM user_kyc WHERE user_id = ${user.id}`;
    const objectKeys = [String(row?.government_id_object_key), String(row?.business_cert_object_key)];
    expect(await storedObjects(objectKeys)).toEqual(objectKeys);
    return { user, objectKeys };
  }

  async function deleteAccount(user: SignedInUser, app: TestApp = t): Promise<void> {
    const deleted = await app.request("DELETE", "/v1/me", {
      token: user.accessToken,
      body: { password: TEST_PASSWORD },
    });
    expect(deleted.status).toBe(204);
  }

  async function kycRowCount(userId: string, app: TestApp = t): Promise<number> {
    const rows = await app.sql`SELECT count(*)::int AS n FROM user_kyc WHERE user_id = ${userId}`;
    return Number(rows[0]?.n);
  }

  /** List the keys among `objectKeys` that still have an object in the bucket. */
  async function storedObjects(objectKeys: string[]): Promise<string[]> {
    const stored: string[] = [];
    for (const key of objectKeys) if ((await env.KYC_BUCKET.head(key)) !== null) stored.push(key);
    return stored;
  }

  /** Insert `count` deleted accounts, each with a KYC row that names two document keys. */
  async function insertDeletedAccountsWithKyc(count: number, deletedAt: string): Promise<void> {
    await t.sql`
      WITH deleted_users AS (
        INSERT INTO users (status, created_at, updated_at)
        SELECT 'deleted', ${deletedAt}, ${deletedAt} FROM generate_series(1, ${count})
        RETURNING id)
      INSERT INTO user_kyc (user_id, government_id_object_key, business_cert_object_key)
      SELECT id, 'kyc/' || id || '/government_id/doc', 'kyc/' || id || '/business_cert/doc' FROM deleted_users`;
  }

  /** Return the ISO timestamp `days` before the frozen clock's now. */
  function daysAgo(days: number): string {
    return new Date(t.clock.now().getTime() - days * DAY * 1000).toISOString();
  }

  async function totalKycRows(): Promise<number> {
    const rows = await t.sql`SELECT count(*)::int AS n FROM user_kyc`;
    return Number(rows[0]?.n);
  }

  it("keeps KYC until the period ends", async () => {
    const { user, objectKeys } = await traderWithKyc("keeps-until-end@example.com");
    await deleteAccount(user);

    t.clock.advanceSeconds(RETENTION_DAYS * DAY);
    await runScheduled();

    expect(await kycRowCount(user.id)).toBe(1);
    expect(await storedObjects(objectKeys)).toEqual(objectKeys);
    expect(logLines("cleanup_finished")).toEqual([
      expect.objectContaining({ level: "info", complete: true, kyc_records_deleted: 0, kyc_documents_deleted: 0 }),
    ]);
  });

  it("removes KYC after the period", async () => {
    const { user, objectKeys } = await traderWithKyc("removed-after-end@example.com");
    await deleteAccount(user);

    t.clock.advanceSeconds(RETENTION_DAYS * DAY + 1);
    await runScheduled();

    expect(await kycRowCount(user.id)).toBe(0);
    expect(await storedObjects(objectKeys)).toEqual([]);
    const [account] = await t.sql`SELECT status FROM users WHERE id = ${user.id}`;
    expect(account?.status).toBe("deleted");
    expect(logLines("cleanup_finished")).toEqual([
      expect.objectContaining({ level: "info", complete: true, kyc_records_deleted: 1, kyc_documents_deleted: 2 }),
    ]);
  });

  it("audits the removal without personal data", async () => {
    const { user, objectKeys } = await traderWithKyc("audited-removal@example.com");
    await deleteAccount(user);

    t.clock.advanceSeconds(RETENTION_DAYS * DAY + 1);
    await runScheduled();

    const events = await t.sql`
      SELECT occurred_at, actor_user_id, request_id, metadata FROM audit_events
      WHERE target_user_id = ${user.id} AND action = 'kyc.deleted'`;
    expect(events).toHaveLength(1);
    const [event] = events;
    expect(event?.actor_user_id).toBeNull();
    expect(event?.metadata).toEqual({ reason: "retention_period_ended", retention_days: RETENTION_DAYS });
    expect(new Date(String(event?.occurred_at)).toISOString()).toBe(t.clock.now().toISOString());
    const [runStarted] = logLines("scheduled_run_started");
    expect(event?.request_id).toBe(runStarted?.request_id);

    const text = JSON.stringify(events);
    for (const personal of ["audited-removal@example.com", "Asha Rao", VALID_PAN, VALID_PAN.slice(-4), ...objectKeys]) {
      expect(text, personal).not.toContain(personal);
    }
  });

  it("retries after an R2 failure", async () => {
    const { user, objectKeys } = await traderWithKyc("r2-outage@example.com");
    await deleteAccount(user);
    const { binding: bucket, fault } = failingBinding(env.KYC_BUCKET, "KYC_BUCKET");

    t.clock.advanceSeconds(RETENTION_DAYS * DAY + 1);
    fault.failing = true;
    await runScheduled({ bucket });

    expect(fault.failedCalls).toEqual(["delete"]);
    expect(await kycRowCount(user.id)).toBe(1);
    expect(await storedObjects(objectKeys)).toEqual(objectKeys);
    expect(logLines("kyc_documents_delete_failed")).toEqual([
      expect.objectContaining({ level: "error", kyc_records: 1, documents: 2, error_name: "Error" }),
    ]);
    expect(logLines("cleanup_finished")).toEqual([
      expect.objectContaining({ level: "warn", complete: false, kyc_records_deleted: 0 }),
    ]);
    const audited = await t.sql`SELECT id FROM audit_events WHERE action = 'kyc.deleted'`;
    expect(audited).toHaveLength(0);

    fault.failing = false;
    t.clock.advanceSeconds(15 * 60);
    await runScheduled({ bucket });

    expect(await kycRowCount(user.id)).toBe(0);
    expect(await storedObjects(objectKeys)).toEqual([]);
    const [, second] = logLines("cleanup_finished");
    expect(second).toMatchObject({ level: "info", complete: true, kyc_records_deleted: 1, kyc_documents_deleted: 2 });
  });

  it("halts KYC removal when R2 fails", async () => {
    await insertDeletedAccountsWithKyc(3, daysAgo(RETENTION_DAYS + 1));
    const { binding: bucket, fault } = failingBinding(env.KYC_BUCKET, "KYC_BUCKET");
    fault.failing = true;

    await runScheduled({ bucket, limits: { batchSize: 1, maxRounds: 10 } });

    expect(fault.failedCalls).toEqual(["delete"]);
    expect(await totalKycRows()).toBe(3);
    const [finished] = logLines("cleanup_finished");
    expect(finished).toMatchObject({ level: "warn", complete: false, rounds: 1 });
  });

  it("leaves accounts deleted without retention alone", async () => {
    const immediate = await createTestApp({ bindings: { KYC_RETENTION_DAYS: "0" } });
    const { user, objectKeys } = await traderWithKyc("no-retention@example.com", immediate);
    await deleteAccount(user, immediate);
    expect(await kycRowCount(user.id, immediate)).toBe(0);
    expect(await storedObjects(objectKeys)).toEqual([]);
    const { binding: bucket, fault } = failingBinding(env.KYC_BUCKET, "KYC_BUCKET");
    // Any R2 call during the runs below would fail and be recorded.
    fault.failing = true;

    await runScheduled({ app: immediate, bucket });
    immediate.clock.advanceSeconds((RETENTION_DAYS + 1) * DAY);
    await runScheduled({ app: immediate, bucket, bindings: { KYC_RETENTION_DAYS: String(RETENTION_DAYS) } });

    expect(fault.failedCalls).toEqual([]);
    const [account] = await immediate.sql`SELECT status FROM users WHERE id = ${user.id}`;
    expect(account?.status).toBe("deleted");
    const events = await immediate.sql`SELECT action FROM audit_events WHERE target_user_id = ${user.id}`;
    const actions = events.map((row) => row.action);
    expect(actions).toContain("user.deleted");
    expect(actions).not.toContain("kyc.deleted");
    for (const finished of logLines("cleanup_finished", immediate)) {
      expect(finished).toMatchObject({ level: "info", complete: true, kyc_records_deleted: 0 });
    }
  });

  it("ignores KYC of accounts not deleted", async () => {
    const active = await traderWithKyc("still-active@example.com");
    const suspended = await traderWithKyc("suspended@example.com");
    const pending = await signUpUser(t, "pending@example.com");
    await t.sql`UPDATE users SET status = 'suspended' WHERE id = ${suspended.user.id}`;
    await t.sql`UPDATE users SET status = 'pending_verification' WHERE id = ${pending.id}`;
    await t.sql`
      INSERT INTO user_kyc (user_id, government_id_object_key) VALUES (${pending.id}, 'kyc/pending/government_id/doc')`;
    // Only the status protects these rows, because their last change lies far beyond the
    // retention period.
    await t.sql`UPDATE users SET updated_at = ${daysAgo(4000)}`;
    const { binding: bucket, fault } = failingBinding(env.KYC_BUCKET, "KYC_BUCKET");
    fault.failing = true;

    t.clock.advanceSeconds(3650 * DAY);
    await runScheduled({ bucket });

    expect(fault.failedCalls).toEqual([]);
    expect(await totalKycRows()).toBe(3);
    expect(await storedObjects([...active.objectKeys, ...suspended.objectKeys])).toHaveLength(4);
    const [finished] = logLines("cleanup_finished");
    expect(finished).toMatchObject({ level: "info", complete: true, kyc_records_deleted: 0 });
  });

  it("removes one batch per round", async () => {
    await insertDeletedAccountsWithKyc(5, daysAgo(RETENTION_DAYS + 1));

    await runScheduled({ limits: { batchSize: 2, maxRounds: 2 } });

    expect(await totalKycRows()).toBe(1);
    const [first] = logLines("cleanup_finished");
    expect(first).toMatchObject({ level: "warn", complete: false, rounds: 2, kyc_records_deleted: 4 });

    await runScheduled({ limits: { batchSize: 2, maxRounds: 2 } });

    expect(await totalKycRows()).toBe(0);
    const [, second] = logLines("cleanup_finished");
    expect(second).toMatchObject({ level: "info", complete: true, rounds: 1, kyc_records_deleted: 1 });
  });

  it("costs two round trips per KYC round", async () => {
    await insertDeletedAccountsWithKyc(5, daysAgo(RETENTION_DAYS + 1));

    // Rounds of 2, 2 and 1 records, each one statement to find them and one to delete them.
    expect(await t.countRoundTrips(() => runScheduled({ limits: { batchSize: 2, maxRounds: 10 } }))).toBe(6);
    // Nothing left: one round, one statement.
    expect(await t.countRoundTrips(() => runScheduled({ limits: { batchSize: 2, maxRounds: 10 } }))).toBe(1);
  });

  it("deletes at most 1,000 keys per R2 call", async () => {
    await insertDeletedAccountsWithKyc(600, daysAgo(RETENTION_DAYS + 1));
    const keysPerCall: number[] = [];
    const bucket = new Proxy(env.KYC_BUCKET, {
      get(target, property) {
        if (property === "delete") {
          return (keys: string | string[]) => {
            keysPerCall.push(Array.isArray(keys) ? keys.length : 1);
            return target.delete(keys);
          };
        }
        return Reflect.get(target, property);
      },
    });

    await runScheduled({ bucket });

    expect(keysPerCall).toEqual([1000, 200]);
    expect(await totalKycRows()).toBe(0);
    const [finished] = logLines("cleanup_finished");
    expect(finished).toMatchObject({ complete: true, kyc_records_deleted: 600, kyc_documents_deleted: 1200 });
  });
});
