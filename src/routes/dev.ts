import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { DevelopmentOutbox } from "../adapters/outbox";
import type { AppEnv } from "../http/context";
import { problemResponse } from "../http/problem";
import { validationHook } from "./schemas";

const OutboxMessageSchema = z
  .object({
    channel: z.enum(["email", "sms"]),
    to: z.string(),
    subject: z.string().nullable(),
    text: z.string(),
    created_at: z.string(),
  })
  .openapi("OutboxMessage");

const listOutboxRoute = createRoute({
  method: "get",
  path: "/dev/outbox",
  tags: ["Development"],
  summary: "List the messages the service would have sent (development mode only)",
  request: { query: z.object({ to: z.string().max(254).optional() }) },
  responses: {
    200: {
      description: "Newest first.",
      content: { "application/json": { schema: z.object({ messages: z.array(OutboxMessageSchema) }) } },
    },
    404: { description: "Not in development mode." },
  },
});

const clearOutboxRoute = createRoute({
  method: "delete",
  path: "/dev/outbox",
  tags: ["Development"],
  summary: "Empty the development outbox (development mode only)",
  responses: { 204: { description: "Emptied." }, 404: { description: "Not in development mode." } },
});

export const devRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

// Outside development these paths do not exist, whatever the request.
devRoutes.use("/dev/*", async (c, next) => {
  if (!c.get("deps").config.isDevelopment)
    return problemResponse(c, "not_found", `No route matches ${c.req.method} ${c.req.path}.`);
  await next();
});

devRoutes
  .openapi(listOutboxRoute, async (c) => {
    const { to } = c.req.valid("query");
    const messages = await new DevelopmentOutbox(c.env.OTP_KV).list(to?.trim().toLowerCase() || undefined);
    return c.json({ messages }, 200);
  })
  .openapi(clearOutboxRoute, async (c) => {
    await new DevelopmentOutbox(c.env.OTP_KV).clear();
    return c.body(null, 204);
  });
