import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { isOAuthProviderName } from "../adapters/oauth/providers";
import type { OAuthProviderName } from "../config";
import { OAUTH_PROVIDERS } from "../db/schema";
import { ApiError } from "../errors";
import { requireAccessToken } from "../http/auth";
import type { AppEnv } from "../http/context";
import { listOAuthAccounts, unlinkOAuthAccount } from "../services/oauth-accounts";
import { OAUTH_STATE_TTL_SECONDS } from "../services/oauth-state";
import {
  completeOAuthFlow,
  exchangeLoginCode,
  OAUTH_CALLBACK_ERRORS,
  type StartOAuthResult,
  startOAuthFlow,
} from "../services/oauth-sign-in";
import { MAX_REDIRECT_URL_LENGTH } from "../services/redirect-target";
import { bearerSecurity, problemResponses, TokenResponseSchema, validationHook } from "./schemas";

const MAX_USER_AGENT_LENGTH = 512;

// The cookie that binds a flow to the browser that started it. The __Host- prefix makes browsers
// refuse it unless it is Secure, host-only and for path /, so a sibling subdomain cannot plant one.
const BROWSER_BINDING_COOKIE = "oauth_binding";

const ProviderParamsSchema = z.object({
  provider: z.string().openapi({
    param: { name: "provider", in: "path" },
    example: "google",
    description: `One of ${OAUTH_PROVIDERS.join(", ")}. Any other name returns \`404 not_found\`.`,
  }),
});

// The service rejects URLs over MAX_REDIRECT_URL_LENGTH as invalid_redirect; this bound only
// stops absurd inputs before they reach it.
const RedirectToSchema = z
  .string()
  .max(4 * MAX_REDIRECT_URL_LENGTH)
  .openapi({
    example: "https://app.example.com/oauth/done",
    description:
      "Absolute http(s) URL under an origin in `ALLOWED_REDIRECT_ORIGINS`; the callback redirects here. Anything else answers `400 invalid_redirect`.",
  });

const startRoute = createRoute({
  method: "get",
  path: "/v1/auth/oauth/{provider}/start",
  tags: ["OAuth"],
  summary: "Start signing in with a provider",
  description:
    "Redirects to the provider with a fresh `state`, a PKCE `code_challenge` (S256) and, for Google, a `nonce`. " +
    "Sets an HttpOnly `__Host-oauth_binding` cookie: the callback is accepted only from the browser that started the flow, within 10 minutes.",
  request: { params: ProviderParamsSchema, query: z.object({ redirect_to: RedirectToSchema }) },
  responses: {
    302: {
      description: "Redirect to the provider's authorization page.",
      headers: z.object({ location: z.string(), "set-cookie": z.string() }),
    },
    ...problemResponses(400, 404, 503),
  },
});

const callbackRoute = createRoute({
  method: "get",
  path: "/v1/auth/oauth/{provider}/callback",
  tags: ["OAuth"],
  summary: "Provider callback",
  description:
    "The redirect URI to register with each provider. Redirects to the flow's `redirect_to` with `?code=<one-time login code>` " +
    "on success (also after linking), or `?error=<code>` with one of: " +
    `${OAUTH_CALLBACK_ERRORS.map((code) => `\`${code}\``).join(", ")}. ` +
    "Tokens never appear in a URL. A missing, unknown, expired, reused state, or one started in another browser, answers `400 invalid_state`, " +
    "because there is then no trusted `redirect_to`.",
  request: {
    params: ProviderParamsSchema,
    query: z.object({
      state: z.string().optional(),
      code: z.string().optional(),
      error: z.string().optional(),
    }),
  },
  responses: {
    302: { description: "Redirect to `redirect_to`.", headers: z.object({ location: z.string() }) },
    ...problemResponses(400, 404, 503),
  },
});

const exchangeRoute = createRoute({
  method: "post",
  path: "/v1/auth/oauth/exchange",
  tags: ["OAuth"],
  summary: "Exchange a one-time login code for tokens",
  description:
    "A login code from the callback works once and for 60 seconds; otherwise `400 invalid_token`. " +
    "Of parallel requests with one code, exactly one succeeds. When the database fails before the exchange commits, the response is `503` " +
    "and the code stays usable, so the client may retry it within the 60 seconds.",
  request: {
    body: {
      required: true,
      content: { "application/json": { schema: z.strictObject({ code: z.string().min(1).max(256) }) } },
    },
  },
  responses: {
    200: { description: "Signed in.", content: { "application/json": { schema: TokenResponseSchema } } },
    ...problemResponses(400, 413, 415, 503),
  },
});

const AuthorizationUrlSchema = z.object({ authorization_url: z.string() }).openapi("AuthorizationUrl");

const linkRoute = createRoute({
  method: "post",
  path: "/v1/me/oauth/{provider}/link",
  tags: ["OAuth"],
  summary: "Start linking a provider to the signed-in account",
  description:
    "Returns the provider URL to send the browser to. The callback links the provider account to this user, or redirects with " +
    "`error=already_linked` when it belongs to someone else. Like `start`, this sets the `__Host-oauth_binding` cookie, so call it " +
    "from the browser that will follow the URL, with credentials included.",
  security: bearerSecurity,
  middleware: [requireAccessToken()] as const,
  request: {
    params: ProviderParamsSchema,
    body: {
      required: true,
      content: { "application/json": { schema: z.strictObject({ redirect_to: RedirectToSchema }) } },
    },
  },
  responses: {
    200: {
      description: "Where to send the browser.",
      content: { "application/json": { schema: AuthorizationUrlSchema } },
    },
    ...problemResponses(400, 401, 404, 413, 415, 503),
  },
});

const OAuthAccountSchema = z
  .object({
    provider: z.enum(OAUTH_PROVIDERS),
    email: z.string().nullable().openapi({ description: "The email the provider reported, verified or not." }),
    created_at: z.string(),
  })
  .openapi("OAuthAccount");

const listAccountsRoute = createRoute({
  method: "get",
  path: "/v1/me/oauth-accounts",
  tags: ["OAuth"],
  summary: "List linked providers",
  security: bearerSecurity,
  middleware: [requireAccessToken()] as const,
  responses: {
    200: {
      description: "Linked providers, by name.",
      content: { "application/json": { schema: z.object({ accounts: z.array(OAuthAccountSchema) }) } },
    },
    ...problemResponses(401, 503),
  },
});

const unlinkRoute = createRoute({
  method: "delete",
  path: "/v1/me/oauth-accounts/{provider}",
  tags: ["OAuth"],
  summary: "Unlink a provider",
  description:
    "Refused with `409 last_login_method` when the account would be left with neither a password nor another provider.",
  security: bearerSecurity,
  middleware: [requireAccessToken()] as const,
  request: { params: ProviderParamsSchema },
  responses: { 204: { description: "Unlinked." }, ...problemResponses(401, 404, 409, 503) },
});

function knownProvider(name: string): OAuthProviderName {
  if (!isOAuthProviderName(name))
    throw new ApiError("not_found", `There is no OAuth provider named "${name.slice(0, 32)}".`);
  return name;
}

function readBrowserBinding(c: Context<AppEnv>): string | undefined {
  return getCookie(c, BROWSER_BINDING_COOKIE, "host");
}

/** Map a failed start to its problem, or set the binding cookie and return the provider URL. */
function acceptStart(c: Context<AppEnv>, provider: OAuthProviderName, result: StartOAuthResult): string {
  if (!result.ok) {
    if (result.reason === "provider_not_configured") {
      throw new ApiError("provider_not_configured", `Sign-in with ${provider} is not configured on this server.`);
    }
    throw new ApiError("invalid_redirect", "redirect_to must be an absolute URL under an allowed origin.");
  }
  setCookie(c, BROWSER_BINDING_COOKIE, result.browserBinding, {
    prefix: "host",
    path: "/",
    secure: true,
    httpOnly: true,
    sameSite: "Lax",
    maxAge: OAUTH_STATE_TTL_SECONDS,
  });
  return result.authorizationUrl;
}

export const oauthRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(startRoute, async (c) => {
    const provider = knownProvider(c.req.valid("param").provider);
    const { redirect_to: redirectTo } = c.req.valid("query");
    const result = await startOAuthFlow(c.get("deps"), {
      provider,
      redirectTo,
      browserBinding: readBrowserBinding(c),
      link: null,
    });
    return c.redirect(acceptStart(c, provider, result), 302);
  })
  .openapi(callbackRoute, async (c) => {
    const provider = knownProvider(c.req.valid("param").provider);
    const result = await completeOAuthFlow(c.get("deps"), {
      provider,
      query: new URL(c.req.url).searchParams,
      browserBinding: readBrowserBinding(c),
    });
    if (!result.ok) {
      throw new ApiError(
        "invalid_state",
        "The sign-in state is missing, unknown, expired, already used, or from another browser.",
      );
    }
    return c.redirect(result.location, 302);
  })
  .openapi(exchangeRoute, async (c) => {
    const { code } = c.req.valid("json");
    const userAgent = c.req.header("user-agent")?.slice(0, MAX_USER_AGENT_LENGTH);
    const result = await exchangeLoginCode(c.get("deps"), { code, userAgent });
    if (!result.ok) throw new ApiError("invalid_token", "The login code is wrong, expired or already used.");
    return c.json(result.tokens, 200);
  })
  .openapi(linkRoute, async (c) => {
    const provider = knownProvider(c.req.valid("param").provider);
    const { redirect_to: redirectTo } = c.req.valid("json");
    const caller = c.get("caller");
    const result = await startOAuthFlow(c.get("deps"), {
      provider,
      redirectTo,
      browserBinding: readBrowserBinding(c),
      link: { userId: caller.userId, sessionId: caller.sessionId },
    });
    return c.json({ authorization_url: acceptStart(c, provider, result) }, 200);
  })
  .openapi(listAccountsRoute, async (c) => {
    const accounts = await listOAuthAccounts(c.get("deps"), c.get("caller"));
    if (accounts === null) throw new ApiError("unauthorized", "The session has ended. Sign in again.");
    return c.json({ accounts }, 200);
  })
  .openapi(unlinkRoute, async (c) => {
    const provider = knownProvider(c.req.valid("param").provider);
    const result = await unlinkOAuthAccount(c.get("deps"), c.get("caller"), provider);
    if (!result.ok) {
      if (result.reason === "session_ended")
        throw new ApiError("unauthorized", "The session has ended. Sign in again.");
      if (result.reason === "not_linked") throw new ApiError("not_found", `No ${provider} account is linked.`);
      throw new ApiError(
        "last_login_method",
        `Unlinking ${provider} would leave the account with no way to sign in. Set a password or link another provider first.`,
      );
    }
    return c.body(null, 204);
  });
