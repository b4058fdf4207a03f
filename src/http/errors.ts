import type { ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { ConfigError } from "../config";
import { ApiError, UpstreamError } from "../errors";
import { createLogger, describeError } from "../lib/logger";
import type { AppEnv } from "./context";
import { apiErrorResponse, problemResponse } from "./problem";

// SQLSTATE classes that mean the database could not serve the request rather than that the
// request or the code is wrong: connection failures, resource limits, operator intervention,
// serialization failures and deadlocks.
const UNAVAILABLE_SQLSTATE = /^(08|53|57P|40001|40P01)/;

/** Decide whether an error means a dependency is unreachable, walking wrapped causes. */
export function isUnavailableError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current instanceof UpstreamError) return true;
    if (current.name === "NeonDbError") {
      const code = (current as { code?: unknown }).code;
      // Without a SQLSTATE the driver failed to reach the endpoint or got a non-SQL HTTP error.
      return typeof code !== "string" || UNAVAILABLE_SQLSTATE.test(code);
    }
    if (current.name === "TimeoutError" || current.name === "AbortError") return true;
    current = current.cause;
  }
  return false;
}

const HONO_MALFORMED_JSON_MESSAGE = "Malformed JSON in request body";

export const handleError: ErrorHandler<AppEnv> = (error, c) => {
  if (error instanceof ApiError) return apiErrorResponse(c, error);
  if (error instanceof HTTPException && error.status < 500) {
    // Hono's validator throws this for a body it cannot parse, which past the JSON body guard means
    // an empty body where the route requires one.
    if (error.message === HONO_MALFORMED_JSON_MESSAGE) {
      return problemResponse(c, "malformed_json", "The request body is empty; this endpoint needs a JSON body.");
    }
    return problemResponse(c, error.status === 413 ? "payload_too_large" : "validation_failed", error.message);
  }

  const log = c.get("deps")?.log ?? createLogger(c.get("requestId") ?? "unknown");
  if (error instanceof ConfigError) {
    // The message names settings, never their values, so it is safe to log in full.
    log.error("configuration_invalid", { message: error.message });
    return problemResponse(c, "service_unavailable", "The service is not configured correctly.");
  }
  if (isUnavailableError(error)) {
    log.error("dependency_unavailable", { route: c.req.routePath, ...describeError(error) });
    return problemResponse(
      c,
      "service_unavailable",
      "A service this request depends on is unavailable. Try again shortly.",
      {
        headers: { "retry-after": "5" },
      },
    );
  }

  log.error("unhandled_error", { route: c.req.routePath, ...describeError(error) });
  return problemResponse(c, "internal_error", "An unexpected error occurred. It has been logged with the request id.");
};

export const handleNotFound: NotFoundHandler<AppEnv> = (c) =>
  problemResponse(c, "not_found", `No route matches ${c.req.method} ${c.req.path}.`);
