import type { MiddlewareHandler } from "hono";
import type { Mailer } from "../adapters/mail/mailer";
import { OutboxMailer } from "../adapters/mail/outbox-mailer";
import { ResendMailer } from "../adapters/mail/resend";
import { DevelopmentOutbox } from "../adapters/outbox";
import { KvRateLimiter, type RateLimiter } from "../adapters/rate-limit";
import { createSmsSender } from "../adapters/sms/create";
import type { SmsSender } from "../adapters/sms/sender";
import { parseClientIp } from "../lib/client-ip";
import { type Bindings, type Config, parseConfig } from "../config";
import { createDatabase, type Database, DatabaseDeadline } from "../db/client";
import { type Clock, systemClock } from "../lib/clock";
import { createLogger, type LogSink } from "../lib/logger";
import type { AppEnv, Dependencies } from "./context";

/** Replacements for the real adapters, used by tests (captured mail, a frozen clock, a log sink). */
export interface DependencyOverrides {
  mailer?: Mailer;
  clock?: Clock;
  logSink?: LogSink;
  sms?: SmsSender;
  rateLimiter?: RateLimiter;
  /** The database time budget per request; fault tests shorten it instead of waiting 10 s. */
  databaseTimeoutMs?: number;
}

// Parsing configuration imports signing keys, so it runs once per bindings object. Workers keep
// one bindings object per isolate, so this caches no secret beyond what the isolate already holds.
const configCache = new WeakMap<object, Promise<Config>>();

export function loadConfig(bindings: Bindings): Promise<Config> {
  let config = configCache.get(bindings);
  if (config === undefined) {
    config = parseConfig(bindings);
    configCache.set(bindings, config);
    // A failed parse is not cached, so fixing a secret takes effect without a redeploy.
    config.catch(() => configCache.delete(bindings));
  }
  return config;
}

function createMailer(config: Config, bindings: Bindings, clock: Clock): Mailer {
  if (config.mail.resendApiKey !== undefined && !config.isDevelopment) {
    return new ResendMailer({ apiKey: config.mail.resendApiKey, from: config.mail.from, replyTo: config.mail.replyTo });
  }
  return new OutboxMailer(new DevelopmentOutbox(bindings.OTP_KV), clock);
}

/**
 * Build the request's dependencies from its bindings, with any overrides a test supplies. The
 * database client is made on first use, and its deadline is released once the response is ready
 * and every background task has settled.
 */
export function provideDependencies(overrides: DependencyOverrides = {}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const config = await loadConfig(c.env);
    const clock = overrides.clock ?? systemClock;
    const executionContext = getExecutionContext(c);
    const deadline = new DatabaseDeadline(overrides.databaseTimeoutMs);
    let database: Database | undefined;
    let responded = false;
    let backgroundTasks = 0;
    const releaseWhenIdle = () => {
      if (responded && backgroundTasks === 0) deadline.release();
    };
    const deps: Dependencies = {
      requestId: c.get("requestId"),
      config,
      get db() {
        database ??= createDatabase(config.database, deadline);
        return database;
      },
      mailer: overrides.mailer ?? createMailer(config, c.env, clock),
      sms: overrides.sms ?? createSmsSender(config, c.env.OTP_KV, clock),
      rateLimiter: overrides.rateLimiter ?? new KvRateLimiter(c.env.OTP_KV),
      clientIp: parseClientIp(c.req.header("cf-connecting-ip")),
      clock,
      log: createLogger(c.get("requestId"), overrides.logSink),
      kv: c.env.OTP_KV,
      bucket: c.env.KYC_BUCKET,
      waitUntil: (promise) => {
        backgroundTasks += 1;
        const logged = promise
          .catch((error: unknown) => {
            deps.log.error("background_task_failed", { error_name: error instanceof Error ? error.name : "unknown" });
          })
          .finally(() => {
            backgroundTasks -= 1;
            releaseWhenIdle();
          });
        if (executionContext !== undefined) executionContext.waitUntil(logged);
      },
    };
    c.set("deps", deps);
    try {
      await next();
    } finally {
      responded = true;
      releaseWhenIdle();
    }
  };
}

function getExecutionContext(c: Parameters<MiddlewareHandler<AppEnv>>[0]): ExecutionContext | undefined {
  try {
    return c.executionCtx as ExecutionContext;
  } catch {
    // Hono throws when the runtime passed no execution context, as in some unit tests.
    return undefined;
  }
}
