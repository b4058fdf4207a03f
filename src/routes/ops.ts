import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import { publicJwks } from "../crypto/jwt";
import { isUnavailableError } from "../http/errors";
import type { AppEnv } from "../http/context";
import { problemResponse } from "../http/problem";
import { validationHook } from "./schemas";

const healthRoute = createRoute({
  method: "get",
  path: "/health",
  tags: ["Operations"],
  summary: "Liveness, without touching the database",
  responses: {
    200: { description: "Alive.", content: { "application/json": { schema: z.object({ status: z.literal("ok") }) } } },
  },
});

const ReadinessSchema = z.object({ status: z.enum(["ok", "unavailable"]), database: z.enum(["ok", "unavailable"]) });

const readinessRoute = createRoute({
  method: "get",
  path: "/health/ready",
  tags: ["Operations"],
  summary: "Readiness: whether the database answers",
  responses: {
    200: { description: "Ready.", content: { "application/json": { schema: ReadinessSchema } } },
    503: { description: "The database is unreachable.", content: { "application/json": { schema: ReadinessSchema } } },
  },
});

const JwkSchema = z.object({
  kty: z.string(),
  crv: z.string(),
  x: z.string(),
  y: z.string(),
  kid: z.string(),
  alg: z.string(),
  use: z.string(),
});

const jwksRoute = createRoute({
  method: "get",
  path: "/.well-known/jwks.json",
  tags: ["Operations"],
  summary: "Public keys that verify access tokens (current and previous)",
  responses: {
    200: {
      description: "A JWK set.",
      content: { "application/json": { schema: z.object({ keys: z.array(JwkSchema) }) } },
    },
  },
});

const CountrySchema = z
  .object({
    code: z.string().openapi({ example: "IND", description: "ISO 3166-1 alpha-3" }),
    alpha2: z.string().openapi({ example: "IN" }),
    name: z.string().openapi({ example: "India" }),
    dial_code: z.string().nullable().openapi({ example: "+91" }),
  })
  .openapi("Country");

const countriesRoute = createRoute({
  method: "get",
  path: "/v1/countries",
  tags: ["Operations"],
  summary: "Every ISO 3166-1 country, cacheable for a day",
  responses: {
    200: {
      description: "Sorted by name.",
      content: { "application/json": { schema: z.object({ countries: z.array(CountrySchema) }) } },
    },
    503: { description: "The database is unreachable." },
  },
});

export const opsRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(healthRoute, (c) => c.json({ status: "ok" as const }, 200))
  .openapi(readinessRoute, async (c) => {
    const { db, log } = c.get("deps");
    try {
      await db.execute(sql`SELECT 1`);
      return c.json({ status: "ok" as const, database: "ok" as const }, 200);
    } catch (error) {
      if (!isUnavailableError(error)) throw error;
      log.warn("readiness_database_unavailable");
      return c.json({ status: "unavailable" as const, database: "unavailable" as const }, 503);
    }
  })
  .openapi(jwksRoute, async (c) => {
    c.header("cache-control", "public, max-age=300");
    return c.json(publicJwks(c.get("deps").config.jwt.keys), 200);
  })
  .openapi(countriesRoute, async (c) => {
    const result = await c
      .get("deps")
      .db.execute<z.infer<typeof CountrySchema>>(sql`SELECT code, alpha2, name, dial_code FROM country ORDER BY name`);
    c.header("cache-control", "public, max-age=86400");
    return c.json({ countries: result.rows }, 200);
  });

const DOCS_HTML = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Trade Identity API reference</title>
  </head>
  <body>
    <script id="api-reference" data-url="/openapi.json" data-configuration='{"withDefaultFonts":false,"hideClientButton":true,"telemetry":false,"agent":{"disabled":true},"showDeveloperTools":"never","showToolbar":"never"}'></script>
    <script src="/docs/scalar.js"></script>
  </body>
</html>`;

/**
 * The API reference page. Its script is a bundled asset, so the page works offline and under a
 * strict CSP. The configuration turns off the Scalar features that call Scalar's servers (the AI
 * agent, telemetry) and the toolbar that Scalar shows only on localhost.
 */
export const docsRoutes = new OpenAPIHono<AppEnv>();
docsRoutes.get("/docs", (c) => c.html(DOCS_HTML));
docsRoutes.get("/docs/scalar.js", async (c) => {
  const asset = await c.env.ASSETS.fetch(new Request(new URL("/docs/scalar.js", c.req.url)));
  if (!asset.ok)
    return problemResponse(c, "not_found", "The API reference script is missing; run `npm run build:assets`.");
  return new Response(asset.body, {
    headers: { "content-type": "text/javascript; charset=utf-8", "cache-control": "public, max-age=3600" },
  });
});
