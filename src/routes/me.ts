import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { ApiError } from "../errors";
import { requireAccessToken } from "../http/auth";
import type { AppEnv } from "../http/context";
import { readMe } from "../services/me";
import { changeUsername } from "../services/username";
import { deleteAccount } from "../services/account-deletion";
import {
  bearerSecurity,
  PasswordSchema,
  problemResponses,
  UsernameSchema,
  UserSchema,
  validationHook,
} from "./schemas";

export const ProfileSchema = z
  .object({
    full_name: z.string(),
    country_code: z.string().nullable(),
    address: z.string().nullable(),
    company_name: z.string().nullable(),
    mobile_number: z.string().nullable(),
    profile_img_url: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Profile");

const MeSchema = z
  .object({
    user: UserSchema,
    profile: ProfileSchema.nullable(),
    kyc: z.object({ status: z.enum(["draft", "pending", "approved", "rejected"]) }).nullable(),
    login_methods: z.object({ password: z.boolean(), oauth: z.array(z.string()) }),
  })
  .openapi("Me");

const readMeRoute = createRoute({
  method: "get",
  path: "/v1/me",
  tags: ["The signed-in user"],
  summary: "Read the signed-in user",
  security: bearerSecurity,
  middleware: [requireAccessToken()] as const,
  responses: {
    200: {
      description: "The account, profile, KYC status and sign-in methods.",
      content: { "application/json": { schema: MeSchema } },
    },
    ...problemResponses(401, 503),
  },
});

const updateMeRoute = createRoute({
  method: "patch",
  path: "/v1/me",
  tags: ["The signed-in user"],
  summary: "Change the username",
  description:
    "Usernames are unique regardless of case; a taken one returns `409 username_taken`. Changing only the case of your " +
    "own username is allowed.",
  security: bearerSecurity,
  middleware: [requireAccessToken()] as const,
  request: {
    body: { required: true, content: { "application/json": { schema: z.strictObject({ username: UsernameSchema }) } } },
  },
  responses: {
    200: { description: "The updated account.", content: { "application/json": { schema: UserSchema } } },
    ...problemResponses(400, 401, 409, 413, 415, 503),
  },
});

const deleteMeRoute = createRoute({
  method: "delete",
  path: "/v1/me",
  tags: ["The signed-in user"],
  summary: "Delete the account",
  description:
    "Revokes every session, releases the email, username and mobile number for reuse and scrubs personal data. " +
    "The body needs `password` when the account has one. KYC details and documents are deleted too, unless " +
    "`KYC_RETENTION_DAYS` keeps them for that many days, after which the scheduled cleanup deletes them. " +
    "An audit event without personal data remains.",
  security: bearerSecurity,
  middleware: [requireAccessToken()] as const,
  request: {
    body: {
      required: false,
      content: { "application/json": { schema: z.strictObject({ password: PasswordSchema.optional() }) } },
    },
  },
  responses: {
    204: { description: "Deleted." },
    ...problemResponses(400, 401, 413, 415, 429, 503),
  },
});

export const meRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(readMeRoute, async (c) => {
    const me = await readMe(c.get("deps"), c.get("caller"));
    if (me === null) throw new ApiError("unauthorized", "The session has ended. Sign in again.");
    return c.json(me as z.infer<typeof MeSchema>, 200);
  })
  .openapi(updateMeRoute, async (c) => {
    const { username } = c.req.valid("json");
    const result = await changeUsername(c.get("deps"), c.get("caller"), username);
    if (result.ok) return c.json(result.user, 200);
    if (result.reason === "username_taken") throw new ApiError("username_taken", "That username is already taken.");
    throw new ApiError("unauthorized", "The session has ended. Sign in again.");
  })
  .openapi(deleteMeRoute, async (c) => {
    const hasBody = c.req.header("content-type") !== undefined;
    const password = hasBody ? c.req.valid("json").password : undefined;
    const result = await deleteAccount(c.get("deps"), c.get("caller"), { password });
    if (result.ok) return c.body(null, 204);

    switch (result.reason) {
      case "unauthorized":
        throw new ApiError("unauthorized", "The session has ended. Sign in again.");
      case "invalid_credentials":
        throw new ApiError("invalid_credentials", "The password is wrong.");
      case "password_required":
        throw new ApiError("validation_failed", "Enter your password to delete the account.", {
          errors: [{ path: "password", message: "Required, because the account has a password." }],
        });
      case "locked":
        throw new ApiError("too_many_attempts", "Too many wrong passwords. Try again later.", {
          headers: { "retry-after": String(result.retryAfterSeconds) },
        });
    }
  });
