import type { MiddlewareHandler } from "hono";
import type { AppEnv, Caller } from "./context";
import { problemResponse } from "./problem";

/**
 * Allow only callers whose access token carries one of `roles`. Runs after requireAccessToken.
 * The role comes from the token, so a demotion takes effect within the token's 15-minute life;
 * routes that must be exact re-check the role in their own query.
 */
export function requireRole(...roles: Caller["role"][]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!roles.includes(c.get("caller").role)) {
      return problemResponse(c, "forbidden", "Your role does not allow this action.");
    }
    await next();
  };
}
