import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { ApiError } from "../errors";
import { requireAccessToken } from "../http/auth";
import type { AppEnv } from "../http/context";
import { readProfile, saveProfile } from "../services/profile";
import { HttpsUrlSchema, multiLineText, optionalText, singleLineText } from "./field-schemas";
import { ProfileSchema } from "./me";
import { bearerSecurity, problemResponses, validationHook } from "./schemas";

const ProfileBodySchema = z
  .strictObject({
    full_name: singleLineText(1, 150).openapi({ example: "Asha Rao" }),
    country_code: z
      .string()
      .regex(/^[A-Za-z]{3}$/, { message: "Must be an ISO 3166-1 alpha-3 country code such as IND." })
      .transform((code) => code.toUpperCase())
      .openapi({ example: "IND", description: "ISO 3166-1 alpha-3; must be one of `GET /v1/countries`." }),
    address: optionalText(multiLineText(1, 500)).openapi({ type: "string", example: "12 Marine Drive, Mumbai 400002" }),
    company_name: optionalText(singleLineText(1, 255)).openapi({ type: "string", example: "Rao Exports Pvt Ltd" }),
    mobile_number: optionalText(z.string().max(32, { message: "Must be at most 32 characters." })).openapi({
      type: "string",
      example: "+919876543210",
      description:
        "Business contact number, stored in E.164. A number without `+` is read as a national number of " +
        "`DEFAULT_PHONE_REGION` (default IN). Not a sign-in identifier and not verified; unique across profiles.",
    }),
    profile_img_url: optionalText(HttpsUrlSchema).openapi({ type: "string", format: "uri" }),
  })
  .openapi("ProfileInput");

const readProfileRoute = createRoute({
  method: "get",
  path: "/v1/me/profile",
  tags: ["Profile"],
  summary: "Read the business profile",
  security: bearerSecurity,
  middleware: [requireAccessToken()] as const,
  responses: {
    200: { description: "The profile.", content: { "application/json": { schema: ProfileSchema } } },
    ...problemResponses(401, 404, 503),
  },
});

const saveProfileRoute = createRoute({
  method: "put",
  path: "/v1/me/profile",
  tags: ["Profile"],
  summary: "Create or replace the business profile",
  description:
    "Replaces the whole profile: an optional field that is absent, null or blank is cleared. `country_code` must exist " +
    "(`400 validation_failed` otherwise). A profile is complete when it has a full name and a country, which every " +
    "accepted request carries, so the first successful PUT sets `users.profile_setup_at`. A business mobile number " +
    "already on another profile answers `409 mobile_taken`.",
  security: bearerSecurity,
  middleware: [requireAccessToken()] as const,
  request: {
    body: { required: true, content: { "application/json": { schema: ProfileBodySchema } } },
  },
  responses: {
    200: { description: "The saved profile.", content: { "application/json": { schema: ProfileSchema } } },
    ...problemResponses(400, 401, 409, 413, 415, 503),
  },
});

const SESSION_ENDED = "The session has ended. Sign in again.";

export const profileRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(readProfileRoute, async (c) => {
    const result = await readProfile(c.get("deps"), c.get("caller"));
    if (!result.ok) {
      if (result.reason === "unauthorized") throw new ApiError("unauthorized", SESSION_ENDED);
      throw new ApiError("not_found", "You have not set up a business profile yet.");
    }
    return c.json(result.profile, 200);
  })
  .openapi(saveProfileRoute, async (c) => {
    const result = await saveProfile(c.get("deps"), c.get("caller"), c.req.valid("json"));
    if (!result.ok) {
      if (result.reason === "unauthorized") throw new ApiError("unauthorized", SESSION_ENDED);
      if (result.reason === "mobile_taken") {
        throw new ApiError("mobile_taken", "This mobile number is already on another business profile.");
      }
      throw new ApiError("validation_failed", result.error.message, { errors: [result.error] });
    }
    return c.json(result.profile, 200);
  });
