import type { Bindings } from "./config";
import { createDatabase, DatabaseDeadline } from "./db/client";
import { loadConfig } from "./http/dependencies";
import { type Clock, systemClock } from "./lib/clock";
import { createLogger, describeError, type LogSink } from "./lib/logger";
import { type CleanupLimits, DEFAULT_CLEANUP_LIMITS, runCleanup } from "./services/cleanup";

/** Replacements for the cron path's adapters, used by tests (a frozen clock, a log sink, small batches). */
export interface ScheduledOverrides {
  clock?: Clock;
  logSink?: LogSink;
  cleanupLimits?: CleanupLimits;
}

/**
 * Build the Worker's `scheduled` handler: every cron trigger runs the cleanup (`runCleanup`). A failure
 * is logged and rethrown, so the platform records the invocation as failed.
 */
export function createScheduledHandler(overrides: ScheduledOverrides = {}) {
  return async (controller: ScheduledController, env: Bindings, _ctx: ExecutionContext): Promise<void> => {
    // Cron runs have no request, so a fresh id ties the run's log lines and audit events together.
    const runId = crypto.randomUUID();
    const log = createLogger(runId, overrides.logSink);
    log.info("scheduled_run_started", { cron: controller.cron });

    let config: Awaited<ReturnType<typeof loadConfig>>;
    try {
      config = await loadConfig(env);
    } catch (error) {
      // Configuration messages name settings, never their values.
      log.error("configuration_invalid", {
        message: error instanceof Error ? error.message : undefined,
        ...describeError(error),
      });
      throw error;
    }

    const deadline = new DatabaseDeadline();
    try {
      await runCleanup(
        {
          config,
          db: createDatabase(config.database, deadline),
          bucket: env.KYC_BUCKET,
          clock: overrides.clock ?? systemClock,
          log,
          requestId: runId,
        },
        overrides.cleanupLimits ?? DEFAULT_CLEANUP_LIMITS,
      );
    } finally {
      deadline.release();
    }
  };
}
