import type { MiddlewareHandler } from "hono";
import { ApiError } from "../errors";
import { limitAuthRequest } from "../services/rate-limit";
import type { AppEnv } from "./context";

/** Build the `429 rate_limited` problem with the `Retry-After` header (whole seconds). */
export function rateLimitedError(retryAfterSeconds: number): ApiError {
  return new ApiError("rate_limited", `Too many requests. Try again in ${retryAfterSeconds} seconds.`, {
    headers: { "retry-after": String(retryAfterSeconds) },
  });
}

/** Limit the requests each client IP makes to /v1/auth/*, whatever they are. */
export function limitAuthRequestsPerClient(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const decision = await limitAuthRequest(c.get("deps"));
    if (!decision.allowed) throw rateLimitedError(decision.retryAfterSeconds);
    await next();
  };
}
