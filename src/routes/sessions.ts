import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { ApiError } from "../errors";
import { acceptAccessToken, requireAccessToken } from "../http/auth";
import type { AppEnv, Caller } from "../http/context";
import { signInWithPassword } from "../services/login";
import { refreshSession } from "../services/refresh";
import { listSessions, revokeSession, signOut, signOutEverywhere } from "../services/sessions";
import { bearerSecurity, PasswordSchema, problemResponses, TokenResponseSchema, validationHook } from "./schemas";

const MAX_USER_AGENT_LENGTH = 512;

const RefreshTokenSchema = z
  .string()
  .min(1, { message: "Enter the refresh token." })
  .max(512, { message: "Refresh tokens are at most 512 characters." })
  .openapi({ description: "An opaque refresh token from a TokenResponse." });

const SessionSchema = z
  .object({
    id: z.uuid(),
    created_at: z.string(),
    expires_at: z.string().openapi({ description: "Absolute end of the session, 30 days after sign-in." }),
    last_used_at: z.string(),
    user_agent: z.string().nullable(),
    current: z.boolean().openapi({ description: "Whether this is the session of the access token used." }),
  })
  .openapi("Session");

const loginRoute = createRoute({
  method: "post",
  path: "/v1/auth/login",
  tags: ["Sign-up and sign-in"],
  summary: "Sign in with a password",
  description:
    "The identifier is an email, a username, or a verified mobile number (E.164, or a national number of the default region). " +
    "Unknown identifiers and wrong passwords both return `401 invalid_credentials`. Five failures in a row within 15 minutes " +
    "lock the identifier for 15 minutes: the failure that locks it and every attempt during the lock, right password included, " +
    "return `429 too_many_attempts` with `Retry-After`, and the owner is emailed. `403 email_not_verified` and " +
    "`403 account_suspended` come only after a correct password.",
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.strictObject({
            identifier: z
              .string()
              .trim()
              .min(1, { message: "Enter an email, username or mobile number." })
              .max(254, { message: "Identifiers are at most 254 characters." })
              .openapi({ example: "jane@example.com" }),
            password: PasswordSchema,
          }),
        },
      },
    },
  },
  responses: {
    200: { description: "Signed in.", content: { "application/json": { schema: TokenResponseSchema } } },
    ...problemResponses(400, 401, 403, 413, 415, 429, 503),
  },
});

const refreshRoute = createRoute({
  method: "post",
  path: "/v1/auth/token/refresh",
  tags: ["Sessions"],
  summary: "Exchange a refresh token for new tokens",
  description:
    "Every refresh returns a new refresh token and retires the old one. For 30 seconds after a rotation the old token " +
    "returns the same new token again, so concurrent refreshes of one client all succeed. A retired token presented after " +
    "that window revokes the session (`401 refresh_token_reused`). Sessions end 30 days after sign-in however often they " +
    "are refreshed.",
  request: {
    body: {
      required: true,
      content: { "application/json": { schema: z.strictObject({ refresh_token: RefreshTokenSchema }) } },
    },
  },
  responses: {
    200: { description: "New tokens.", content: { "application/json": { schema: TokenResponseSchema } } },
    ...problemResponses(400, 401, 413, 415, 503),
  },
});

const logoutRoute = createRoute({
  method: "post",
  path: "/v1/auth/logout",
  tags: ["Sessions"],
  summary: "Sign out one session",
  description:
    "Revokes the session of the bearer access token, or the session a `refresh_token` in the body belongs to (either is " +
    "enough, so a client whose access token expired can still sign out). Signing out a session that has already ended " +
    "returns `204` too. Without a valid access token or a refresh token the response is `401`.",
  security: [...bearerSecurity, {}],
  middleware: [acceptAccessToken()] as const,
  request: {
    body: {
      required: false,
      content: { "application/json": { schema: z.strictObject({ refresh_token: RefreshTokenSchema.optional() }) } },
    },
  },
  responses: {
    204: { description: "Signed out." },
    ...problemResponses(400, 401, 413, 415, 503),
  },
});

const logoutAllRoute = createRoute({
  method: "post",
  path: "/v1/auth/logout-all",
  tags: ["Sessions"],
  summary: "Sign out every session of the user",
  security: bearerSecurity,
  middleware: [requireAccessToken()] as const,
  responses: {
    204: { description: "Every session, this one included, is revoked." },
    ...problemResponses(401, 503),
  },
});

const listSessionsRoute = createRoute({
  method: "get",
  path: "/v1/auth/sessions",
  tags: ["Sessions"],
  summary: "List the user's live sessions",
  security: bearerSecurity,
  middleware: [requireAccessToken()] as const,
  responses: {
    200: {
      description: "Live sessions, newest first; `current` marks the caller's.",
      content: { "application/json": { schema: z.object({ sessions: z.array(SessionSchema) }) } },
    },
    ...problemResponses(401, 503),
  },
});

const revokeSessionRoute = createRoute({
  method: "delete",
  path: "/v1/auth/sessions/{id}",
  tags: ["Sessions"],
  summary: "Revoke one of the user's sessions",
  description: "Any live session of the caller, the current one included. Another user's session returns `404`.",
  security: bearerSecurity,
  middleware: [requireAccessToken()] as const,
  request: { params: z.strictObject({ id: z.uuid({ message: "Session ids are UUIDs." }) }) },
  responses: {
    204: { description: "Revoked." },
    ...problemResponses(400, 401, 404, 503),
  },
});

export const sessionRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(loginRoute, async (c) => {
    const input = c.req.valid("json");
    const userAgent = c.req.header("user-agent")?.slice(0, MAX_USER_AGENT_LENGTH);
    const result = await signInWithPassword(c.get("deps"), { ...input, userAgent });
    if (result.ok) return c.json(result.tokens, 200);

    switch (result.reason) {
      case "invalid_credentials":
        throw new ApiError("invalid_credentials", "The identifier or password is wrong.");
      case "locked":
        throw new ApiError("too_many_attempts", "Too many failed sign-ins. Try again later or reset your password.", {
          headers: { "retry-after": String(result.retryAfterSeconds) },
        });
      case "email_not_verified":
        throw new ApiError("email_not_verified", "Verify your email address with the code we sent before signing in.");
      case "account_suspended":
        throw new ApiError("account_suspended", "This account is suspended.");
    }
  })
  .openapi(refreshRoute, async (c) => {
    const { refresh_token } = c.req.valid("json");
    const result = await refreshSession(c.get("deps"), refresh_token);
    if (result.ok) return c.json(result.tokens, 200);
    if (result.reason === "refresh_token_reused") {
      throw new ApiError("refresh_token_reused", "This refresh token was already used, so the session was revoked.");
    }
    throw new ApiError("invalid_refresh_token", "The refresh token is unknown, expired or revoked. Sign in again.");
  })
  .openapi(logoutRoute, async (c) => {
    const { refresh_token } = c.req.valid("json");
    const caller = c.get("caller") as Caller | undefined;
    if (caller === undefined && refresh_token === undefined) {
      throw new ApiError("unauthorized", "Send a valid access token, or the session's refresh token in the body.");
    }
    await signOut(c.get("deps"), { caller, refreshToken: refresh_token });
    return c.body(null, 204);
  })
  .openapi(logoutAllRoute, async (c) => {
    const signedOut = await signOutEverywhere(c.get("deps"), c.get("caller"));
    if (!signedOut) throw new ApiError("unauthorized", "The session has ended. Sign in again.");
    return c.body(null, 204);
  })
  .openapi(listSessionsRoute, async (c) => {
    const sessions = await listSessions(c.get("deps"), c.get("caller"));
    if (sessions === null) throw new ApiError("unauthorized", "The session has ended. Sign in again.");
    return c.json({ sessions }, 200);
  })
  .openapi(revokeSessionRoute, async (c) => {
    const { id } = c.req.valid("param");
    const result = await revokeSession(c.get("deps"), c.get("caller"), id);
    if (result.ok) return c.body(null, 204);
    if (result.reason === "unauthorized") throw new ApiError("unauthorized", "The session has ended. Sign in again.");
    throw new ApiError("not_found", "No live session of yours has this id.");
  });
