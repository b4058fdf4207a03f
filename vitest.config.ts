import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Two projects: `node` tests development tooling (the local Neon endpoint) in Node, and `worker`
// runs the service's tests inside workerd with real KV and R2 from Miniflare.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "node",
          include: ["test/node/**/*.test.ts"],
          environment: "node",
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                ENVIRONMENT: "test",
                APP_URL: "https://app.test",
                MAIL_FROM: "Trade Identity <no-reply@app.test>",
                CORS_ORIGINS: "https://client.test",
                ALLOWED_REDIRECT_ORIGINS: "https://client.test",
                NEON_FETCH_ENDPOINT: inject("neonEndpoint"),
                NEON_ADMIN_ORIGIN: inject("neonAdminOrigin"),
                TEMPLATE_DATABASE: inject("templateDatabase"),
                DATABASE_BACKEND: inject("databaseBackend"),
                DATABASE_URL: `postgres://test@db.localtest.me/${inject("templateDatabase")}`,
                JWT_SIGNING_KEYS: inject("jwtSigningKeys"),
                PASSWORD_PEPPER: "test-pepper-0123456789abcdef0123456789abcdef",
                CODE_HASH_KEY: "test-code-hash-key-0123456789abcdef0123456789",
                REFRESH_TOKEN_KEY: "test-refresh-key-0123456789abcdef0123456789ab",
                ENCRYPTION_KEYS: inject("encryptionKeys"),
                // Every setting is listed, so a developer's .dev.vars cannot change what tests see.
                RESEND_API_KEY: "",
                MAIL_REPLY_TO: "",
                JWT_ISSUER: "",
                JWT_AUDIENCE: "",
                PASSWORD_MIN_LENGTH: "12",
                DEFAULT_PHONE_REGION: "IN",
                // OAuth: every provider configured; tests fake the providers' hosts with fakeHost.
                GOOGLE_CLIENT_ID: "google-client-test",
                GOOGLE_CLIENT_SECRET: "google-secret-test",
                GITHUB_CLIENT_ID: "github-client-test",
                GITHUB_CLIENT_SECRET: "github-secret-test",
                FACEBOOK_CLIENT_ID: "facebook-client-test",
                FACEBOOK_CLIENT_SECRET: "facebook-secret-test",
                OAUTH_STORE_PROVIDER_TOKENS: "false",
                BREACHED_PASSWORD_CHECK: "false",
                REVOKED_SESSION_RETENTION_DAYS: "30",
                AUDIT_RETENTION_DAYS: "400",
                KYC_RETENTION_DAYS: "0",
                // SMS go to the in-memory capture. Rate limits are off so that tests of other behaviour
                // are never throttled; the rate-limit tests set the production defaults themselves.
                SMS_PROVIDER: "twilio",
                TWILIO_ACCOUNT_SID: "",
                TWILIO_AUTH_TOKEN: "",
                TWILIO_FROM: "",
                TWILIO_MESSAGING_SERVICE_SID: "",
                RATE_LIMIT_CODE_SENDS_PER_DESTINATION: "off",
                RATE_LIMIT_CODE_SENDS_PER_CLIENT: "off",
                RATE_LIMIT_CODE_CHECKS_PER_CLIENT: "off",
                RATE_LIMIT_SIGNUPS_PER_CLIENT: "off",
                RATE_LIMIT_FORGOT_PASSWORD_PER_EMAIL: "off",
                RATE_LIMIT_AUTH_REQUESTS_PER_CLIENT: "off",
              },
            },
          })),
        ],
        test: {
          name: "worker",
          include: ["test/worker/**/*.test.ts"],
          globalSetup: ["test/global-setup.ts"],
          setupFiles: ["test/worker/setup.ts"],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
