import { OpenAPIHono } from "@hono/zod-openapi";
import { type DependencyOverrides, provideDependencies } from "./http/dependencies";
import { handleError, handleNotFound } from "./http/errors";
import type { AppEnv } from "./http/context";
import { corsForConfiguredOrigins, jsonBodyGuard, requestId, securityHeaders } from "./http/middleware";
import { requestLog } from "./http/request-log";
import { limitAuthRequestsPerClient } from "./http/rate-limit";
import { authRoutes } from "./routes/auth";
import { codeSignInRoutes } from "./routes/code-sign-in";
import { contactChangeRoutes } from "./routes/contact-change";
import { devRoutes } from "./routes/dev";
import { meRoutes } from "./routes/me";
import { devOAuthRoutes } from "./routes/dev-oauth";
import { oauthRoutes } from "./routes/oauth";
import { docsRoutes, opsRoutes } from "./routes/ops";
import { passwordRoutes } from "./routes/password";
import { sessionRoutes } from "./routes/sessions";
import { adminRoutes } from "./routes/admin";
import { kycRoutes } from "./routes/kyc";
import { profileRoutes } from "./routes/profile";
import { validationHook } from "./routes/schemas";

export const API_VERSION = "1.0.0";

/**
 * Build the application. The Worker calls it once with real adapters; tests call it with
 * overrides such as captured mail and a frozen clock.
 */
export function createApp(overrides: DependencyOverrides = {}) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  // Outermost, so its line records the final status, including error and CORS responses.
  app.use("*", requestLog(overrides.logSink));
  app.use("*", requestId(), securityHeaders(), provideDependencies(overrides), corsForConfiguredOrigins());
  app.use("/v1/auth/*", limitAuthRequestsPerClient());
  app.use("/v1/*", jsonBodyGuard());

  const routes = app
    .route("/", opsRoutes)
    .route("/", authRoutes)
    .route("/", meRoutes)
    .route("/", oauthRoutes)
    .route("/", sessionRoutes)
    .route("/", passwordRoutes)
    .route("/", profileRoutes)
    .route("/", kycRoutes)
    .route("/", adminRoutes)
    .route("/", codeSignInRoutes)
    .route("/", contactChangeRoutes)
    .route("/", devRoutes)
    .route("/", devOAuthRoutes)
    .route("/", docsRoutes);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "An access token from a TokenResponse. Tokens are accepted only in this header, never in the URL.",
  });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Trade Identity API",
      version: API_VERSION,
      description:
        "Identity and onboarding for importers and exporters: sign-up, sign-in, sessions, business profile and KYC review. " +
        "Errors are RFC 9457 problem documents with a stable `code`. Request bodies are strict: unknown fields are rejected, " +
        "and a JSON object that names one member twice is `400 malformed_json`.",
    },
  });

  app.onError(handleError);
  app.notFound(handleNotFound);
  return routes;
}

export type AppType = ReturnType<typeof createApp>;
