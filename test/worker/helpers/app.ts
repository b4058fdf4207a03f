import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { neon, neonConfig } from "@neondatabase/serverless";
import { type Mailer, MemoryMailer } from "../../../src/adapters/mail/mailer";
import { MemorySmsSender, type SmsSender } from "../../../src/adapters/sms/sender";
import { createApp } from "../../../src/app";
import type { DependencyOverrides } from "../../../src/http/dependencies";
import { FrozenClock } from "./clock";

export interface TestRequestOptions {
  body?: unknown;
  rawBody?: BodyInit;
  headers?: Record<string, string>;
  token?: string;
}

export interface TestResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/**
 * Build the service for one test file: a fresh database cloned from the migrated template,
 * captured mail, a frozen clock and captured log lines, all against real workerd, KV and R2.
 */
const createdDatabases: string[] = [];

/** Drop the databases this test file created; an embedded PGlite database uses about 250 MiB. */
export async function dropTestDatabases(): Promise<void> {
  const names = createdDatabases.splice(0, createdDatabases.length);
  await Promise.all(
    names.map((name) => fetch(`${env.NEON_ADMIN_ORIGIN}/_neon_local/databases/${name}`, { method: "DELETE" })),
  );
}

export interface TestAppOptions {
  /** Settings that differ from the test defaults in vitest.config.ts, such as ENVIRONMENT. */
  bindings?: Record<string, string>;
  /** Settings that replace the test bindings of vitest.config.ts, such as rate limits. */
  settings?: Record<string, unknown>;
  /** A mailer in place of the in-memory capture, such as a Resend mailer aimed at a faked host. */
  mailer?: Mailer;
  /** An SMS sender in place of the in-memory capture. */
  smsSender?: SmsSender;
  /** Further dependency overrides, such as a shorter database time budget. */
  overrides?: DependencyOverrides;
}

export async function createTestApp(options: TestAppOptions = {}) {
  const database = `t_${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`;
  const created = await fetch(`${env.NEON_ADMIN_ORIGIN}/_neon_local/databases`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: database, template: env.TEMPLATE_DATABASE }),
  });
  if (created.status !== 201)
    throw new Error(`Creating test database failed: HTTP ${created.status} ${await created.text()}`);
  createdDatabases.push(database);

  const connectionString = `postgres://test@db.localtest.me/${database}`;
  const bindings = { ...env, ...options.bindings, ...options.settings, DATABASE_URL: connectionString };
  const mailer = new MemoryMailer();
  const sms = new MemorySmsSender();
  const clock = new FrozenClock();
  const logs: string[] = [];
  const app = createApp({
    mailer: options.mailer ?? mailer,
    sms: options.smsSender ?? sms,
    clock,
    logSink: (line) => logs.push(line),
    ...options.overrides,
  });
  // The app sets this on its first request; `t.sql` may run before any request.
  neonConfig.fetchEndpoint = env.NEON_FETCH_ENDPOINT;
  const sql = neon(connectionString);

  async function request<T = any>(
    method: string,
    path: string,
    options: TestRequestOptions = {},
  ): Promise<TestResponse<T>> {
    const headers = new Headers(options.headers);
    let body: BodyInit | undefined = options.rawBody;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      if (!headers.has("content-type")) headers.set("content-type", "application/json");
    }
    if (options.token !== undefined) headers.set("authorization", `Bearer ${options.token}`);
    if (!headers.has("cf-connecting-ip")) headers.set("cf-connecting-ip", "203.0.113.10");

    const context = createExecutionContext();
    const response = await app.fetch(
      new Request(`https://api.test${path}`, { method, headers, body }),
      bindings,
      context,
    );
    await waitOnExecutionContext(context);
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text === "" ? null : JSON.parse(text);
    } catch {
      // Not JSON: the caller reads `text`.
    }
    return { status: response.status, headers: response.headers, body: parsed as T, text };
  }

  /** Count the database round trips (requests to the local endpoint) that `action` makes. */
  async function countRoundTrips(action: () => Promise<unknown>): Promise<number> {
    const before = await readRequestCount(database);
    await action();
    return (await readRequestCount(database)) - before;
  }

  return { app, bindings, database, mailer, sms, clock, logs, sql, request, countRoundTrips };
}

export type TestApp = Awaited<ReturnType<typeof createTestApp>>;

async function readRequestCount(database: string): Promise<number> {
  const response = await fetch(`${env.NEON_ADMIN_ORIGIN}/_neon_local/stats`);
  const stats = (await response.json()) as { requests: { byDatabase: Record<string, number> } };
  return stats.requests.byDatabase[database] ?? 0;
}

/** Read the 6-digit code from the newest email or SMS sent to `address`. */
export function latestCode(outbox: { messagesTo(address: string): { text: string }[] }, address: string): string {
  const messages = outbox.messagesTo(address);
  const match = /\b(\d{6})\b/.exec(messages.at(-1)?.text ?? "");
  if (match?.[1] === undefined) throw new Error(`No code was sent to ${address}`);
  return match[1];
}
