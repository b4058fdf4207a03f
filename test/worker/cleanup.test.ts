import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import worker from "../../src/index";
import { createScheduledHandler, type ScheduledOverrides } from "../../src/scheduled";
import type { CleanupLimits } from "../../src/services/cleanup";
import { createTestApp, type TestApp } from "./helpers/app";

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe("scheduled cleanup", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterEach(async () => {
    await t.sql`TRUNCATE users, verifications, audit_events CASCADE`;
    t.logs.length = 0;
  });

  /** An ISO timestamp `seconds` from the frozen clock's now (negative for the past). */
  function at(seconds: number): string {
    return new Date(t.clock.now().getTime() + seconds * 1000).toISOString();
  }

  async function runScheduled(
    options: { limits?: CleanupLimits; bindings?: Record<string, string> } = {},
  ): Promise<void> {
    const overrides: ScheduledOverrides = { clock: t.clock, logSink: (line) => t.logs.push(line) };
    if (options.limits !== undefined) overrides.cleanupLimits = options.limits;
    const handler = createScheduledHandler(overrides);
    const context = createExecutionContext();
    const controller = createScheduledController({ scheduledTime: t.clock.now(), cron: "*/15 * * * *" });
    await handler(controller, { ...t.bindings, ...options.bindings }, context);
    await waitOnExecutionContext(context);
  }

  function logLines(event: string): Record<string, unknown>[] {
    return t.logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.event === event);
  }

  async function insertUser(email: string): Promise<string> {
    const rows = await t.sql`INSERT INTO users (email, status) VALUES (${email}, 'active') RETURNING id`;
    return String(rows[0]?.id);
  }

  async function insertCode(identifier: string, expiresAt: string, consumedAt: string | null): Promise<void> {
    await t.sql`
      INSERT INTO verifications (identifier, code_hash, type, purpose, expires_at, consumed_at)
      VALUES (${identifier}, ${"0".repeat(64)}, 'email', 'signup', ${expiresAt}, ${consumedAt})`;
  }

  async function remainingCodes(): Promise<string[]> {
    const rows = await t.sql`SELECT identifier FROM verifications ORDER BY identifier`;
    return rows.map((row) => String(row.identifier));
  }

  async function insertLoginCode(userId: string, codeHash: string, expiresAt: string): Promise<void> {
    await t.sql`
      INSERT INTO oauth_login_codes (code_hash, user_id, provider, created_at, expires_at)
      VALUES (${codeHash}, ${userId}, 'google', ${at(-2 * MINUTE)}, ${expiresAt})`;
  }

  async function remainingLoginCodes(): Promise<string[]> {
    const rows = await t.sql`SELECT code_hash FROM oauth_login_codes ORDER BY code_hash`;
    return rows.map((row) => String(row.code_hash));
  }

  async function insertSession(userId: string, expiresAt: string, revokedAt: string | null): Promise<string> {
    const rows = await t.sql`
      INSERT INTO auth_sessions (user_id, refresh_token_hash, expires_at, revoked_at)
      VALUES (${userId}, ${crypto.randomUUID()}, ${expiresAt}, ${revokedAt})
      RETURNING id`;
    return String(rows[0]?.id);
  }

  it("deletes expired unused codes", async () => {
    await insertCode("live@example.com", at(5 * MINUTE), null);
    await insertCode("expired@example.com", at(-1), null);

    await runScheduled();

    expect(await remainingCodes()).toEqual(["live@example.com"]);
  });

  it("keeps used codes for a day", async () => {
    await insertCode("used-an-hour-ago@example.com", at(-50 * MINUTE), at(-HOUR));
    await insertCode("used-yesterday@example.com", at(-DAY), at(-DAY - 1));

    await runScheduled();

    expect(await remainingCodes()).toEqual(["used-an-hour-ago@example.com"]);
  });

  it("deletes expired OAuth login codes", async () => {
    const userId = await insertUser("login-codes@example.com");
    await insertLoginCode(userId, "live-code-hash", at(30));
    await insertLoginCode(userId, "expired-code-hash", at(-1));

    await runScheduled();

    expect(await remainingLoginCodes()).toEqual(["live-code-hash"]);
  });

  it("deletes OAuth login codes in batches", async () => {
    const userId = await insertUser("login-code-batches@example.com");
    for (let index = 0; index < 5; index++) await insertLoginCode(userId, `expired-${index}`, at(-1));

    await runScheduled({ limits: { batchSize: 2, maxRounds: 2 } });

    expect(await remainingLoginCodes()).toHaveLength(1);
    expect(logLines("cleanup_finished")[0]).toMatchObject({ complete: false, rounds: 2, login_codes_deleted: 4 });
  });

  it("deletes expired and long-revoked sessions", async () => {
    const userId = await insertUser("sessions@example.com");
    const live = await insertSession(userId, at(DAY), null);
    await insertSession(userId, at(-1), null);
    const recentlyRevoked = await insertSession(userId, at(DAY), at(-29 * DAY));
    await insertSession(userId, at(DAY), at(-31 * DAY));

    await runScheduled();

    const rows = await t.sql`SELECT id FROM auth_sessions ORDER BY created_at, id`;
    expect(rows.map((row) => row.id).sort()).toEqual([live, recentlyRevoked].sort());
  });

  it("honours the revoked-session retention setting", async () => {
    const userId = await insertUser("retention@example.com");
    await insertSession(userId, at(DAY), at(-3 * DAY));

    await runScheduled({ bindings: { REVOKED_SESSION_RETENTION_DAYS: "2" } });

    const rows = await t.sql`SELECT id FROM auth_sessions`;
    expect(rows).toHaveLength(0);
  });

  it("clears expired password-reset tokens", async () => {
    const expiredUser = await insertUser("expired-reset@example.com");
    const liveUser = await insertUser("live-reset@example.com");
    await t.sql`
      INSERT INTO auth_credentials (user_id, password_hash, password_algo, password_reset_token_hash, password_reset_expires)
      VALUES (${expiredUser}, 'hash-1', 'test', 'expired-token-hash', ${at(-1)}),
             (${liveUser}, 'hash-2', 'test', 'live-token-hash', ${at(20 * MINUTE)})`;

    await runScheduled();

    const rows = await t.sql`
      SELECT user_id, password_hash, password_reset_token_hash, password_reset_expires FROM auth_credentials`;
    const expired = rows.find((row) => row.user_id === expiredUser);
    const live = rows.find((row) => row.user_id === liveUser);
    expect(expired?.password_hash).toBe("hash-1");
    expect(expired?.password_reset_token_hash).toBeNull();
    expect(expired?.password_reset_expires).toBeNull();
    expect(live?.password_reset_token_hash).toBe("live-token-hash");
  });

  it("deletes audit events past retention", async () => {
    await t.sql`
      INSERT INTO audit_events (occurred_at, action, metadata)
      VALUES (${at(-401 * DAY)}, 'login.succeeded', '{"age":401}'),
             (${at(-399 * DAY)}, 'login.succeeded', '{"age":399}'),
             (${at(-31 * DAY)}, 'login.succeeded', '{"age":31}')`;

    await runScheduled();
    const afterDefault = await t.sql`SELECT metadata->>'age' AS age FROM audit_events ORDER BY occurred_at`;
    expect(afterDefault.map((row) => row.age)).toEqual(["399", "31"]);

    await runScheduled({ bindings: { AUDIT_RETENTION_DAYS: "30" } });
    const afterSetting = await t.sql`SELECT id FROM audit_events`;
    expect(afterSetting).toHaveLength(0);
  });

  it("stops after the round limit", async () => {
    for (let index = 0; index < 5; index++) await insertCode(`expired-${index}@example.com`, at(-1), null);

    await runScheduled({ limits: { batchSize: 2, maxRounds: 2 } });

    expect(await remainingCodes()).toHaveLength(1);
    const [first] = logLines("cleanup_finished");
    expect(first).toMatchObject({ level: "warn", complete: false, rounds: 2, verifications_deleted: 4 });

    await runScheduled({ limits: { batchSize: 2, maxRounds: 2 } });

    expect(await remainingCodes()).toHaveLength(0);
    const [, second] = logLines("cleanup_finished");
    expect(second).toMatchObject({ level: "info", complete: true, rounds: 1, verifications_deleted: 1 });
  });

  it("logs the counts of each run", async () => {
    const userId = await insertUser("counts@example.com");
    await insertSession(userId, at(-1), null);
    await insertCode("expired@example.com", at(-1), null);
    await insertLoginCode(userId, "expired-code-hash", at(-1));

    await runScheduled();

    expect(logLines("cleanup_finished")).toEqual([
      expect.objectContaining({
        level: "info",
        complete: true,
        rounds: 1,
        verifications_deleted: 1,
        login_codes_deleted: 1,
        sessions_deleted: 1,
        password_reset_tokens_cleared: 0,
        audit_events_deleted: 0,
      }),
    ]);
  });

  it("costs one round trip per round", async () => {
    await insertCode("expired@example.com", at(-1), null);

    expect(await t.countRoundTrips(() => runScheduled())).toBe(1);

    for (let index = 0; index < 6; index++) await insertCode(`batch-${index}@example.com`, at(-1), null);
    // Three full batches of two, then one round that finds nothing left.
    expect(await t.countRoundTrips(() => runScheduled({ limits: { batchSize: 2, maxRounds: 10 } }))).toBe(4);
  });

  it("rejects an invalid retention setting", async () => {
    await expect(runScheduled({ bindings: { AUDIT_RETENTION_DAYS: "0" } })).rejects.toThrow(/AUDIT_RETENTION_DAYS/);

    expect(logLines("configuration_invalid")).toHaveLength(1);
  });

  it("is the Worker's scheduled handler", () => {
    expect(typeof worker.scheduled).toBe("function");
  });
});
