import { OpenAPIHono } from "@hono/zod-openapi";
import { FAKE_PROVIDER_PATH_PREFIX, handleFakeProviderRequest } from "../adapters/oauth/fake-provider";
import type { AppEnv } from "../http/context";
import { problemResponse } from "../http/problem";

/**
 * The fake OAuth provider's pages and endpoints, so a browser can walk through the whole flow in
 * development. Outside development these paths do not exist.
 */
export const devOAuthRoutes = new OpenAPIHono<AppEnv>();

devOAuthRoutes.all(`${FAKE_PROVIDER_PATH_PREFIX}*`, async (c) => {
  const { config, kv, clock } = c.get("deps");
  if (!config.isDevelopment) return problemResponse(c, "not_found", `No route matches ${c.req.method} ${c.req.path}.`);
  return handleFakeProviderRequest(c.req.raw, { kv, appUrl: config.appUrl, now: () => clock.now() });
});
