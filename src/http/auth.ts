import type { Context, MiddlewareHandler } from "hono";
import { type AccessTokenClaims, verifyAccessToken } from "../crypto/jwt";
import { USER_ROLES } from "../db/schema";
import type { AppEnv, Caller } from "./context";
import { problemResponse } from "./problem";

// The scheme name is case-insensitive (RFC 9110, section 11.1).
const BEARER_PATTERN = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/i;

/**
 * Require a valid access token in the Authorization header and expose its claims as the caller.
 * No database call: routes that need the session to be live check it in their own query. Tokens
 * are read only from the header, never from the URL, where they would end up in logs.
 */
export function requireAccessToken(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const caller = await readCaller(c);
    if (caller === "missing") {
      return problemResponse(c, "unauthorized", "Send a valid access token as `Authorization: Bearer <token>`.", {
        headers: { "www-authenticate": "Bearer" },
      });
    }
    if (caller === "invalid") {
      return problemResponse(c, "unauthorized", "The access token is invalid or expired.", {
        headers: { "www-authenticate": 'Bearer error="invalid_token"' },
      });
    }

    c.set("caller", caller);
    await next();
  };
}

/**
 * Expose the caller when a valid access token is sent, and continue without one otherwise. For
 * routes such as logout that also accept another credential, e.g. a refresh token in the body.
 */
export function acceptAccessToken(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const caller = await readCaller(c);
    if (caller !== "missing" && caller !== "invalid") c.set("caller", caller);
    await next();
  };
}

async function readCaller(c: Context<AppEnv>): Promise<Caller | "missing" | "invalid"> {
  const match = BEARER_PATTERN.exec(c.req.header("authorization") ?? "");
  if (match?.[1] === undefined) return "missing";

  const { config, clock } = c.get("deps");
  const verified = await verifyAccessToken(config.jwt.keys, match[1], {
    issuer: config.jwt.issuer,
    audience: config.jwt.audience,
    now: clock.now(),
  });
  if (!verified.ok || !isCallerClaims(verified.claims)) return "invalid";

  return { userId: verified.claims.sub, sessionId: verified.claims.sid, role: verified.claims.role };
}

function isCallerClaims(claims: AccessTokenClaims): claims is AccessTokenClaims & { role: Caller["role"] } {
  return (USER_ROLES as readonly string[]).includes(claims.role);
}
