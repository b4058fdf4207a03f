import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { ApiError } from "../errors";
import { requireAccessToken } from "../http/auth";
import type { AppEnv } from "../http/context";
import { changePassword } from "../services/password-change";
import { requestPasswordReset, resetPassword } from "../services/password-reset";
import { bearerSecurity, EmailSchema, PasswordSchema, problemResponses, validationHook } from "./schemas";

const forgotPasswordRoute = createRoute({
  method: "post",
  path: "/v1/auth/password/forgot",
  tags: ["Passwords"],
  summary: "Email a password-reset link",
  description:
    "Answers the same `202` whether or not the address has an account. An account with a password gets a link to " +
    "`APP_URL/reset-password?token=…`, valid for 30 minutes and once; a newer link replaces older ones. An account that " +
    "has no password (it signs in with a provider or a code) gets a notice instead. At most 3 requests per address and hour " +
    "(`429 rate_limited`).",
  request: {
    body: { required: true, content: { "application/json": { schema: z.strictObject({ email: EmailSchema }) } } },
  },
  responses: {
    202: {
      description: "A link was sent if the address has an account.",
      content: {
        "application/json": { schema: z.object({ status: z.literal("email_sent_if_account_exists") }) },
      },
    },
    ...problemResponses(400, 413, 415, 429, 503),
  },
});

const resetPasswordRoute = createRoute({
  method: "post",
  path: "/v1/auth/password/reset",
  tags: ["Passwords"],
  summary: "Set a new password with a reset token",
  description:
    "Sets the password, revokes every session, clears the sign-in lockout and marks the email verified (a pending account " +
    "becomes active). The owner is notified by email. The response carries no tokens: sign in with the new password. A wrong, " +
    "expired or used token returns `400 invalid_token`; a password that breaks the policy `400 validation_failed`.",
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.strictObject({
            token: z
              .string()
              .min(1, { message: "Enter the token from the reset link." })
              .max(512, { message: "Reset tokens are at most 512 characters." }),
            password: PasswordSchema,
          }),
        },
      },
    },
  },
  responses: {
    204: { description: "The password was reset." },
    ...problemResponses(400, 413, 415, 503),
  },
});

const changePasswordRoute = createRoute({
  method: "post",
  path: "/v1/me/password",
  tags: ["The signed-in user"],
  summary: "Change the password",
  description:
    "`current_password` is required when the account has a password and may be omitted only when it has none (then this " +
    "sets the first one). Every other session is revoked; this one stays signed in. A wrong current password returns " +
    "`401 invalid_credentials` and counts toward the sign-in lockout.",
  security: bearerSecurity,
  middleware: [requireAccessToken()] as const,
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.strictObject({ current_password: PasswordSchema.optional(), new_password: PasswordSchema }),
        },
      },
    },
  },
  responses: {
    204: { description: "The password was changed." },
    ...problemResponses(400, 401, 413, 415, 429, 503),
  },
});

export const passwordRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(forgotPasswordRoute, async (c) => {
    const { email } = c.req.valid("json");
    const result = await requestPasswordReset(c.get("deps"), email);
    if (!result.ok) {
      throw new ApiError("rate_limited", "Too many reset requests for this address. Try again later.", {
        headers: { "retry-after": String(result.retryAfterSeconds) },
      });
    }
    return c.json(result.body, 202);
  })
  .openapi(resetPasswordRoute, async (c) => {
    const input = c.req.valid("json");
    const result = await resetPassword(c.get("deps"), input);
    if (result.ok) return c.body(null, 204);
    if (result.reason === "weak_password") {
      throw new ApiError("validation_failed", result.error.message, { errors: [result.error] });
    }
    throw new ApiError("invalid_token", "The reset link is wrong, expired or already used. Request a new one.");
  })
  .openapi(changePasswordRoute, async (c) => {
    const input = c.req.valid("json");
    const result = await changePassword(c.get("deps"), c.get("caller"), {
      currentPassword: input.current_password,
      newPassword: input.new_password,
    });
    if (result.ok) return c.body(null, 204);

    switch (result.reason) {
      case "unauthorized":
        throw new ApiError("unauthorized", "The session has ended. Sign in again.");
      case "invalid_credentials":
        throw new ApiError("invalid_credentials", "The current password is wrong.");
      case "current_password_required":
        throw new ApiError("validation_failed", "Enter your current password.", {
          errors: [{ path: "current_password", message: "Required, because the account has a password." }],
        });
      case "locked":
        throw new ApiError("too_many_attempts", "Too many wrong passwords. Try again later or reset your password.", {
          headers: { "retry-after": String(result.retryAfterSeconds) },
        });
      case "weak_password":
        throw new ApiError("validation_failed", result.error.message, { errors: [result.error] });
    }
  });
