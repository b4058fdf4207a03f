import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { createLogger, type Logger, type LogSink } from "../lib/logger";
import type { AppEnv } from "./context";

/**
 * Write one JSON log line per request: method, route pattern, status, duration in milliseconds,
 * and the caller's user id when an access token was verified. The registered route pattern
 * (`/v1/auth/sessions/:id`) is logged, never the URL, because paths and query strings can carry
 * personal data such as `/dev/outbox?to=<email>`.
 *
 * `logSink` receives the line of a request that fails before its dependencies exist, such as a
 * 503 for invalid configuration. Every other line goes through the request's logger.
 */
export function requestLog(logSink?: LogSink): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const startedAt = Date.now();
    await next();

    // Workers advance the clock only across I/O, so the duration counts time spent waiting on
    // the database and other services, not CPU time.
    const durationMs = Date.now() - startedAt;
    const status = c.res.status;
    const fields = {
      method: c.req.method,
      route: matchedRoutePattern(c),
      status,
      duration_ms: durationMs,
      user_id: (c.get("caller") as AppEnv["Variables"]["caller"] | undefined)?.userId,
    };
    const log = requestLogger(c, logSink);
    if (status >= 500) log.error("request", fields);
    else log.info("request", fields);
  };
}

function requestLogger(c: Context<AppEnv>, logSink: LogSink | undefined): Logger {
  const deps = c.get("deps") as AppEnv["Variables"]["deps"] | undefined;
  return deps?.log ?? createLogger(c.get("requestId"), logSink);
}

/**
 * Return the pattern of the route handler that matched, or null when only middleware matched
 * (an unknown path). Middleware is registered for the method "ALL" and handlers for one method.
 */
function matchedRoutePattern(c: Context<AppEnv>): string | null {
  const last = matchedRoutes(c).at(-1);
  return last !== undefined && last.method !== "ALL" ? last.path : null;
}
